"""The course kit: a student workspace with exercises and statements, and a grader that cannot be forged.

``attnrnn-np course init DIR`` writes the workspace (``workspace.py``) from the
reference exercise modules in ``reference/``, cutting the regions marked
``# BEGIN SOLUTION`` … ``# END SOLUTION`` into stubs; ``attnrnn-np course
grade DIR`` runs the installed grader (``grader/``), each exercise's student
code in an isolated child process; ``course grade-class`` (``klass.py``)
grades a folder of submissions, ``course gradescope`` (``gradescope.py``)
writes a Gradescope autograder. ``attnrnn-np figures`` draws the course's
pictures (``figures.py``).
"""
