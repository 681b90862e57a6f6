"""Shared fixtures.

The oracles (PyTorch, SciPy, scikit-learn, Ray) are test dependencies only: a test that
compares against one asks for it as a fixture (``torch``, ``scipy_optimize``, ``sklearn``,
``ray``, or ``oracle("sklearn.neighbors")`` for a submodule), and is skipped, with the
reason, when it is not installed. Everything else runs on a bare ``pip install .``.
"""

import numpy as np
import pytest

ORACLES = {"torch": "PyTorch", "scipy": "SciPy", "sklearn": "scikit-learn", "ray": "Ray"}


def import_oracle(module):
    """``module`` imported, or the calling test skipped because its oracle is missing."""
    package = ORACLES[module.partition(".")[0]]
    reason = f"{package} (a test oracle) is not installed: pip install 'gradwise[test]'"
    return pytest.importorskip(module, reason=reason)


@pytest.fixture(scope="session")
def oracle():
    """``oracle("sklearn.neighbors")``: import an oracle module or skip the test."""
    return import_oracle


@pytest.fixture(scope="session")
def torch():
    return import_oracle("torch")


@pytest.fixture(scope="session")
def scipy_optimize():
    return import_oracle("scipy.optimize")


@pytest.fixture(scope="session")
def sklearn():
    return import_oracle("sklearn")


@pytest.fixture(scope="session")
def ray():
    return import_oracle("ray")


@pytest.fixture(scope="session")
def sklearn_digits(oracle):
    """scikit-learn's copy of the 8x8 digits, ``(X, y)`` with pixel counts 0..16."""
    return oracle("sklearn.datasets").load_digits(return_X_y=True)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
