import io
import math
import tarfile
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
from sklearn.datasets import load_digits

import gradwise as gw
from gradwise.optim.minimize import minimize

CIFAR10 = Path(__file__).resolve().parents[1].parent / "shared/data/cifar10-jpeg.tar.gz"
CIFAR10_CLASSES = "airplane automobile bird cat deer dog frog horse ship truck".split()


def softmax_objective(X, y, lam):
    model = gw.nn.Linear(X.shape[1], 10, seed=0, dtype=np.float64)
    return gw.objective(model, gw.nn.SoftmaxCrossEntropy(), X, y, penalty=gw.nn.L2(lam))


def scipy_optimum(f, ftol=1e-15, gtol=1e-9):
    """SciPy's L-BFGS-B run to (near) machine precision on the same objective."""
    res = scipy.optimize.minimize(
        lambda z: tuple(np.copy(v) for v in f(z)),
        f.x.copy(),
        jac=True,
        method="L-BFGS-B",
        options=dict(maxiter=10000, maxfun=20000, ftol=ftol, gtol=gtol),
    )
    return res.fun


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    lam = 1e-3
    return X, y, lam, scipy_optimum(softmax_objective(X, y, lam))


@pytest.mark.parametrize("method", ["lbfgs", "bfgs", "newton", "newton-cg"])
def test_every_method_reaches_scipys_optimum_on_digits(digits, method):
    X, y, lam, best = digits
    f = softmax_objective(X, y, lam)
    result = minimize(f, f.x, method=method, max_iter=2000, tolerance_change=1e-12)
    assert result.converged, result.message
    assert result.fun == pytest.approx(best, rel=1e-6)
    # x was updated in place and the model holds the optimum.
    np.testing.assert_array_equal(f.x, result.x)
    assert f(f.x)[0] == pytest.approx(result.fun, rel=1e-14)


def cifar10_subset(path, per_class=500):
    """The first ``per_class`` training images of each class, streamed from the tar."""
    X, y, counts = [], [], dict.fromkeys(CIFAR10_CLASSES, 0)
    from PIL import Image

    with tarfile.open(path, "r|gz") as archive:
        for member in archive:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) < 3 or parts[-3] != "train":
                continue
            label = parts[-2]
            if counts.get(label, per_class) >= per_class:
                continue
            image = Image.open(io.BytesIO(archive.extractfile(member).read())).convert("RGB")
            X.append(np.asarray(image).reshape(-1))
            y.append(CIFAR10_CLASSES.index(label))
            counts[label] += 1
            if min(counts.values()) >= per_class:
                break
    X = np.array(X, dtype=np.float64) / 255.0
    return X - X.mean(axis=0), np.array(y)


@pytest.mark.slow
@pytest.mark.skipif(not CIFAR10.exists(), reason="../shared/data/cifar10-jpeg.tar.gz not found")
def test_lbfgs_and_newton_cg_reach_scipys_optimum_on_a_cifar10_subset():
    X, y = cifar10_subset(CIFAR10)
    assert X.shape == (5000, 3072) and np.bincount(y).tolist() == [500] * 10
    lam = 1e-2
    # ftol=1e-12 lands within 1e-11 of the machine-precision optimum here, in 2/3 the time.
    best = scipy_optimum(softmax_objective(X, y, lam), ftol=1e-12, gtol=1e-7)
    for method in ("lbfgs", "newton-cg"):
        f = softmax_objective(X, y, lam)
        result = minimize(f, f.x, method=method, max_iter=500)
        assert result.converged, (method, result.message)
        assert result.fun == pytest.approx(best, rel=1e-6), method


def test_result_reports_counts_and_history(digits):
    X, y, lam, _ = digits
    f = softmax_objective(X, y, lam)
    seen = []
    result = minimize(f, f.x, max_iter=30, callback=lambda x, loss, grad: seen.append(loss))
    assert result.nfev == f.calls and result.nit == len(result.history["fun"]) == len(seen)
    assert result.history["fun"] == seen
    assert result.grad_norm == pytest.approx(np.abs(result.grad).max())
    assert result.success == result.converged and result.jac is result.grad
    assert result.method == "lbfgs"


def test_max_eval_exhausted_is_reported_and_x_is_the_best_point_seen(digits):
    X, y, lam, _ = digits
    f = softmax_objective(X, y, lam)
    losses = []

    def recording(x):
        loss, grad = f(x)
        losses.append(loss)
        return loss, grad

    x = f.x.copy()
    # Without a line search and with lr=3, L-BFGS overshoots: its last iterate is not
    # always its best one.
    result = minimize(recording, x, max_iter=100, max_eval=12, line_search_fn=None, lr=3.0)
    assert not result.converged and "max_eval" in result.message
    assert result.nfev == len(losses) <= 13
    assert result.fun == min(losses)
    np.testing.assert_array_equal(x, result.x)
    assert f(x)[0] == pytest.approx(min(losses), rel=1e-14)


def test_a_non_finite_start_is_a_clear_error():
    def f(x):
        return math.inf, np.zeros_like(x)

    with pytest.raises(gw.DivergenceError, match="starting point"):
        minimize(f, np.zeros(3))

    def g(x):
        return 1.0, np.full_like(x, np.nan)

    with pytest.raises(gw.DivergenceError, match="gradient is not finite"):
        minimize(g, np.zeros(3), method="bfgs")


def test_bad_arguments_are_rejected():
    f = lambda x: (float(x @ x), 2 * x)  # noqa: E731
    with pytest.raises(ValueError, match="method"):
        minimize(f, np.ones(2), method="nelder-mead")
    with pytest.raises(TypeError, match="1-D float"):
        minimize(f, [1.0, 2.0])
    with pytest.raises(ValueError, match="max_iter"):
        minimize(f, np.ones(2), max_iter=0)
    result = minimize(f, np.ones(2), method="newton")
    assert result.converged and result.fun < 1e-20
