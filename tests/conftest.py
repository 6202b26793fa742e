"""Shared fixtures: the hypothesis profiles and the backend fixture ``xp``."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import attnrnn_np.testing.strict  # noqa: F401  registers the backend "strict"
from attnrnn_np.backend import get_xp, gpu_available

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=20,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", deadline=None, max_examples=100)
# benchmarks/gpu_check.py's time budget on a GPU (many small kernels make each example slow there)
settings.register_profile("gpu", deadline=None, max_examples=5, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_GPU = gpu_available()
BACKENDS = [
    pytest.param("numpy", id="numpy"),
    # CuPy's rules on the CPU (attnrnn_np.testing.strict): every per-backend test runs on it everywhere
    pytest.param("strict", id="strict"),
    pytest.param("cupy", id="cupy", marks=[
        pytest.mark.gpu,
        pytest.mark.skipif(not _GPU, reason="CuPy or a usable GPU is missing"),
    ]),
]


@pytest.fixture(params=BACKENDS, scope="session")
def xp(request):
    """The array module under test: NumPy and the strict double always, CuPy when a GPU is usable.

    Session-scoped because it holds no state (it returns a module), which also
    lets hypothesis's ``@given`` tests use it without a function-scoped-fixture
    health-check error.
    """
    return get_xp(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
