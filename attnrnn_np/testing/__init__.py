"""Tools for checking code that uses the package: the strict device-array double.

:mod:`attnrnn_np.testing.strict` is a test backend with NumPy underneath and
CuPy's rules on top (docs/backend.md). Importing it registers the backend
name ``"strict"`` with :func:`attnrnn_np.backend.get_xp`.
"""
