"""The course kit: a student workspace with exercises, statements and an autograder.

``attnrnn-np course init DIR`` writes the workspace (``workspace.py``) from the
reference exercise modules in ``reference/``, cutting the regions marked
``# BEGIN SOLUTION`` … ``# END SOLUTION`` into stubs; ``attnrnn-np course
grade DIR`` runs the grader (``checks.py``, copied into the workspace) with
pytest. ``attnrnn-np figures`` draws the course's pictures (``figures.py``).
"""
