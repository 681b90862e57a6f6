"""Shared fixtures.

The oracles (PyTorch, SciPy, scikit-learn, Ray) are test dependencies only: a test that
compares against one asks for it as a fixture (``torch``, ``scipy_optimize``, ``sklearn``,
``ray``; with ``sklearn`` it may then import any of scikit-learn's modules), and is skipped,
with the reason, when it is not installed. Everything else runs on a bare ``pip install .``.
"""

import numpy as np
import pytest


def oracle(module, package):
    """``module`` imported, or the test that asked for it skipped, saying why."""
    reason = f"{package} (a test oracle) is not installed: pip install 'gradwise[test]'"
    return pytest.importorskip(module, reason=reason)


@pytest.fixture(scope="session")
def torch():
    return oracle("torch", "PyTorch")


@pytest.fixture(scope="session")
def scipy_optimize():
    return oracle("scipy.optimize", "SciPy")


@pytest.fixture(scope="session")
def sklearn():
    return oracle("sklearn", "scikit-learn")


@pytest.fixture(scope="session")
def ray():
    return oracle("ray", "Ray")


@pytest.fixture(scope="session")
def sklearn_digits(sklearn):
    """scikit-learn's copy of the 8x8 digits, ``(X, y)`` with pixel counts 0..16."""
    from sklearn.datasets import load_digits

    return load_digits(return_X_y=True)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def by_value(ray, request):
    """Ray's workers cannot import a test module: send its functions by value."""
    ray.cloudpickle.register_pickle_by_value(request.module)
    yield
    ray.cloudpickle.unregister_pickle_by_value(request.module)
