import io
import math
import tarfile
from pathlib import Path

import numpy as np
import pytest

import gradwise as gw
from gradwise.optim import descent, minimize
from gradwise.optim._minimize import _build, methods
from gradwise.optim.bfgs import BFGS
from gradwise.optim.descent import DescentMethod
from gradwise.optim.lbfgs import LBFGS
from gradwise.optim.newton import Newton
from gradwise.optim.registry import register, unregister

CIFAR10 = Path(__file__).resolve().parents[1].parent / "shared/data/cifar10-jpeg.tar.gz"
CIFAR10_CLASSES = "airplane automobile bird cat deer dog frog horse ship truck".split()


def softmax_objective(X, y, lam):
    model = gw.nn.Linear(X.shape[1], 10, seed=0, dtype=np.float64)
    return gw.objective(model, gw.nn.SoftmaxCrossEntropy(), X, y, penalty=gw.nn.L2(lam))


def scipy_optimum(scipy_optimize, f, ftol=1e-15, gtol=1e-9):
    """SciPy's L-BFGS-B run to (near) machine precision on the same objective."""
    res = scipy_optimize.minimize(
        lambda z: tuple(np.copy(v) for v in f(z)),
        f.x.copy(),
        jac=True,
        method="L-BFGS-B",
        options=dict(maxiter=10000, maxfun=20000, ftol=ftol, gtol=gtol),
    )
    return res.fun


@pytest.fixture(scope="module")
def digits(scipy_optimize, sklearn_digits):
    X, y = sklearn_digits
    X = X / 16.0
    lam = 1e-3
    return X, y, lam, scipy_optimum(scipy_optimize, softmax_objective(X, y, lam))


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
def test_lbfgs_and_newton_cg_reach_scipys_optimum_on_a_cifar10_subset(scipy_optimize):
    X, y = cifar10_subset(CIFAR10)
    assert X.shape == (5000, 3072) and np.bincount(y).tolist() == [500] * 10
    lam = 1e-2
    # ftol=1e-12 lands within 1e-11 of the machine-precision optimum here, in 2/3 the time.
    best = scipy_optimum(scipy_optimize, softmax_objective(X, y, lam), ftol=1e-12, gtol=1e-7)
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


def test_the_methods_are_the_registrys_full_batch_names_and_newton_cg():
    assert sorted(methods()) == ["bfgs", "lbfgs", "newton", "newton-cg"]
    lbfgs = _build("lbfgs", max_iter=5)
    assert type(lbfgs) is LBFGS and lbfgs.line_search_fn == "strong_wolfe"
    assert _build("lbfgs", line_search_fn=None).line_search_fn is None
    assert type(_build("bfgs")) is BFGS
    assert _build("newton", hessian=lambda x, v: v).solver == "auto"
    assert _build("newton-cg", solver="cholesky", hessian=lambda x, v: v).solver == "cg"


def test_a_registered_full_batch_method_is_a_minimize_method():
    register("test-bfgs", BFGS)
    try:
        assert "test-bfgs" in methods()
        result = minimize(lambda x: (float(x @ x), 2 * x), np.ones(3), method="test-bfgs")
        assert result.converged and result.fun < 1e-12
    finally:
        unregister("test-bfgs")


@pytest.mark.parametrize("cls", [LBFGS, BFGS, Newton])
def test_the_second_order_methods_share_one_loop(cls, rng):
    assert issubclass(cls, DescentMethod) and cls.full_batch is True
    assert cls.step is DescentMethod.step
    Q = rng.standard_normal((5, 5))
    A = Q @ Q.T + np.eye(5)

    def f(x):
        return 0.5 * x @ A @ x, A @ x

    # Without a line search a step's last point is left for the next step to evaluate
    # (PyTorch's LBFGS): max_iter iterations cost max_iter evaluations, the start's included.
    opt = cls(max_iter=4, lr=0.01, line_search_fn=None, tolerance_change=0)
    x = rng.standard_normal(5)
    for steps in (1, 2):
        opt.step(f, x)
        assert opt.state["func_evals"] == opt.state["n_iter"] == 4 * steps
        assert opt.stop_reason == "max_iter reached" and not opt.converged
    # An optimal start stops at once, whatever the method.
    opt = cls()
    assert opt.step(f, np.zeros(5)) == 0.0 and opt.stop_reason == "gradient below tolerance_grad"
    assert opt.state["n_iter"] == 0 and opt.converged


def test_bfgs_check_size_refuses_a_matrix_over_the_budget():
    opt = BFGS(max_memory=3 * 2**30)
    with pytest.raises(ValueError) as refused:
        opt.check_size(30730)
    assert str(refused.value) == (
        "BFGS on 30730 parameters keeps a dense 30730 x 30730 float64 matrix (7.0 GiB), "
        "over the 3.0 GiB memory budget (max_memory): use LBFGS, or Newton with solver='cg'"
    )
    # The first step applies the same rule, with x's dtype, before allocating anything.
    f = lambda x: (float(x @ x), 2 * x)  # noqa: E731
    with pytest.raises(ValueError) as at_step:
        opt.step(f, np.ones(30730))
    assert str(at_step.value) == str(refused.value)
    # n * n * itemsize against the budget: 11585^2 * 8 fits in 1 GiB, 11586^2 * 8 does not.
    opt = BFGS(max_memory=2**30)
    opt.check_size(11585)
    opt.check_size(16384, np.float32)
    with pytest.raises(ValueError, match="11586 x 11586 float64"):
        opt.check_size(11586)
    with pytest.raises(ValueError, match="16385 x 16385 float32"):
        opt.check_size(16385, np.float32)


def test_newton_check_size_refuses_only_a_dense_hessian(monkeypatch):
    monkeypatch.setattr(descent, "default_memory_limit", lambda: 2**30)
    with pytest.raises(ValueError) as refused:
        Newton(solver="cholesky").check_size(30730)
    assert str(refused.value) == (
        "Newton with solver='cholesky' on 30730 parameters keeps a dense 30730 x 30730 "
        "float64 matrix (7.0 GiB), over the 1.0 GiB memory budget (a quarter of this "
        "machine's memory): use solver='cg', or LBFGS"
    )
    Newton(solver="cholesky").check_size(11585)
    # Newton-CG keeps no matrix; "auto" builds one only for an exact Hessian up to dense_max.
    Newton(solver="cg").check_size(10**6)
    Newton().check_size(10**6)
    with pytest.raises(ValueError, match="11586 x 11586"):
        Newton(dense_max=20000).check_size(11586)
    Newton(dense_max=20000, hessian=lambda x, v: v).check_size(11586)  # matrix-free: CG
    LBFGS().check_size(10**6)  # keeps vectors only

    # The step checks before it builds the matrix.
    monkeypatch.setattr(descent, "default_memory_limit", lambda: 10**4)
    opt = Newton(solver="cholesky", hessian=lambda x, v: 2 * v)
    with pytest.raises(ValueError, match="100 x 100 float64 matrix"):
        opt.step(lambda x: (float(x @ x), 2 * x), np.ones(100))
