"""The student's package: the pieces of AttentionRNN in plain NumPy (docs/model.md §3).

Each module holds given code and the functions of one or more exercises;
the statements in ``exercises/`` say what to write. Nothing here imports
``attnrnn_np``: this is your own implementation.
"""
