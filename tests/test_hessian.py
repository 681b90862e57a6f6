import numpy as np
import pytest

import gradwise as gw
from gradwise.calculus.hessian import (
    FiniteDifferenceHessian,
    SoftmaxHessian,
    hessian_operator,
)
from gradwise.nn import L1, L2, ElasticNet, Linear, MulticlassHinge, SoftmaxCrossEntropy

N, D, C = 120, 5, 4


def problem(rng, penalty, reduction="mean", dtype=np.float64):
    X = rng.standard_normal((N, D)).astype(dtype)
    y = rng.integers(0, C, N)
    model = Linear(D, C, init="xavier", dtype=dtype)
    f = gw.objective(model, SoftmaxCrossEntropy(reduction), X, y, penalty=penalty)
    x = f.x.copy() + 0.3 * rng.standard_normal(f.x.size).astype(dtype)
    return f, x


def torch_hessian(torch, f, x):
    X, y = torch.tensor(f.X, dtype=torch.float64), torch.tensor(f.y)
    penalty = f.penalty

    def fun(z):
        W, b = z[: D * C].reshape(D, C), z[D * C :]
        value = torch.nn.functional.cross_entropy(X @ W + b, y, reduction=f.loss.reduction)
        if penalty is not None:
            value = value + penalty.lam * (W * W).sum()
            if penalty.include_bias:
                value = value + penalty.lam * (b * b).sum()
        return value

    z = torch.tensor(np.asarray(x, dtype=np.float64))
    return torch.autograd.functional.hessian(fun, z).numpy()


PENALTIES = [None, L2(0.1), L2(0.1, include_bias=True)]


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_exact_hessian_matches_torch(torch, rng, penalty, reduction):
    f, x = problem(rng, penalty, reduction)
    expected = torch_hessian(torch, f, x)
    op = SoftmaxHessian(f).update(x)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(op.dense(), expected, rtol=0, atol=1e-13 * scale)
    for v in rng.standard_normal((3, op.n)):
        np.testing.assert_allclose(op.matvec(v), expected @ v, rtol=0, atol=1e-12 * scale)


def test_finite_difference_products_match_the_exact_ones(rng):
    f, x = problem(rng, L2(0.01))
    exact = SoftmaxHessian(f).update(x)
    approx = FiniteDifferenceHessian(f).update(x)
    for v in rng.standard_normal((3, exact.n)):
        np.testing.assert_allclose(approx.matvec(v), exact.matvec(v), rtol=0, atol=1e-8)
    assert approx.evaluations == 6
    np.testing.assert_allclose(approx.dense(), exact.dense(), atol=1e-7)


def test_finite_differences_work_for_any_objective():
    def f(x):  # f = sum x^4 / 4 + x0 x1: H = diag(3 x^2) + offdiag(1)
        grad = x**3
        grad[0] += x[1]
        grad[1] += x[0]
        return float(np.sum(x**4) / 4 + x[0] * x[1]), grad

    x = np.array([1.0, -2.0, 0.5])
    expected = np.diag(3 * x**2)
    expected[0, 1] = expected[1, 0] = 1.0
    np.testing.assert_allclose(FiniteDifferenceHessian(f).update(x).dense(), expected, atol=1e-8)


def test_float32_products_are_close_to_float64(rng):
    f64, x = problem(rng, L2(0.1))
    f32 = gw.objective(
        Linear(D, C, dtype=np.float32),
        SoftmaxCrossEntropy(),
        f64.X.astype(np.float32),
        f64.y,
        penalty=L2(0.1),
    )
    v = rng.standard_normal(D * C + C)
    hv64 = SoftmaxHessian(f64).update(x).matvec(v)
    hv32 = SoftmaxHessian(f32).update(x.astype(np.float32)).matvec(v)
    assert hv32.dtype == np.float32
    np.testing.assert_allclose(hv32, hv64, rtol=0, atol=1e-5 * np.abs(hv64).max())


def test_operator_choice_and_refusals(rng):
    X, y = rng.standard_normal((10, 3)), rng.integers(0, 2, 10)

    def objective(model, loss, penalty=None):
        return gw.objective(model, loss, X, y, penalty=penalty)

    linear = Linear(3, 2, dtype=np.float64)
    assert isinstance(
        hessian_operator(objective(linear, SoftmaxCrossEntropy(), L2(1.0))), SoftmaxHessian
    )
    deep = gw.nn.Sequential(
        Linear(3, 4, dtype=np.float64), gw.nn.Tanh(), Linear(4, 2, dtype=np.float64)
    )
    assert isinstance(
        hessian_operator(objective(deep, SoftmaxCrossEntropy())), FiniteDifferenceHessian
    )
    for hinge in (MulticlassHinge(), gw.nn.OneVsAllHinge(), gw.nn.CrammerSingerHinge()):
        with pytest.raises(ValueError, match=f"{type(hinge).__name__} loss \\(a hinge\\)"):
            hessian_operator(objective(linear, hinge))
    for penalty in (L1(0.1), ElasticNet(0.1)):
        with pytest.raises(ValueError, match="kink"):
            hessian_operator(objective(linear, SoftmaxCrossEntropy(), penalty))
    with pytest.raises(TypeError, match="SoftmaxHessian"):
        SoftmaxHessian(objective(deep, SoftmaxCrossEntropy()))


def test_products_need_a_point(rng):
    f, _ = problem(rng, None)
    with pytest.raises(RuntimeError, match="update"):
        SoftmaxHessian(f).matvec(np.zeros(D * C + C))
    with pytest.raises(RuntimeError, match="update"):
        FiniteDifferenceHessian(f).matvec(np.zeros(D * C + C))
