"""The course's grader: one isolated child process per exercise, every verdict computed in this process.

``base`` holds the registry and the comparisons, ``exercises/`` one module
per exercise, ``purity`` the shared purity and repeatability check,
``remote``/``child``/``wire`` the child process and its pickle-free wire
format, ``run`` the grading of a workspace, the score table and Gradescope's
results file.
"""

from .base import EXERCISES, REQUIRED, CheckFailure, Exercise
from .run import ExerciseResult, Outcome, default_points, grade, read_points, results_json, score_table

__all__ = ["EXERCISES", "REQUIRED", "CheckFailure", "Exercise", "ExerciseResult", "Outcome", "default_points",
           "grade", "read_points", "results_json", "score_table"]
