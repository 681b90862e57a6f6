import numpy as np
import pytest

import gradwise as gw
from gradwise.optim.lbfgs import LBFGS

LAM = 1e-4


@pytest.fixture(scope="module")
def digits(sklearn_digits):
    X, y = sklearn_digits
    return X / 16.0, y


def softmax_objective(X, y, lam=LAM):
    model = gw.nn.Linear(X.shape[1], 10, seed=0, dtype=np.float64)
    return gw.objective(model, gw.nn.SoftmaxCrossEntropy(), X, y, penalty=gw.nn.L2(lam))


def torch_twin(torch, X, y, x0, lam=LAM):
    """The same softmax regression in PyTorch, parameters in gradwise's flat order."""
    D = X.shape[1]
    W = torch.tensor(x0[: D * 10].reshape(D, 10).copy(), requires_grad=True)
    b = torch.tensor(x0[D * 10 :].copy(), requires_grad=True)
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def closure():
        W.grad = b.grad = None
        loss = torch.nn.functional.cross_entropy(Xt @ W + b, yt) + lam * (W * W).sum()
        loss.backward()
        return loss

    def flat():
        return torch.cat([W.detach().ravel(), b.detach().ravel()]).numpy()

    return [W, b], closure, flat


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize(
    "max_iter, steps, history_size",
    [(1, 60, 100), (20, 3, 100), (20, 3, 5)],
    ids=["1-iter-steps", "20-iter-steps", "short-history"],
)
def test_iterates_match_torch(torch, digits, line_search_fn, max_iter, steps, history_size):
    X, y = digits
    f = softmax_objective(X, y)
    params, closure, torch_flat = torch_twin(torch, X, y, f.x)
    options = dict(max_iter=max_iter, line_search_fn=line_search_fn, history_size=history_size)
    ours, theirs = LBFGS(**options), torch.optim.LBFGS(params, **options)
    x = f.x
    for _ in range(steps):
        loss_theirs = theirs.step(closure).item()
        loss_ours = ours.step(f, x)
        assert loss_ours == pytest.approx(loss_theirs, rel=1e-10)
        expected = torch_flat()
        np.testing.assert_allclose(x, expected, rtol=0, atol=1e-8 * np.abs(expected).max())
    torch_state = theirs.state[params[0]]
    assert ours.state["n_iter"] == torch_state["n_iter"] == max_iter * steps >= 60
    assert ours.state["func_evals"] == torch_state["func_evals"]


def test_reaches_scipys_optimum(scipy_optimize, digits):
    X, y = digits
    f = softmax_objective(X, y)
    ref = scipy_optimize.minimize(
        lambda z: tuple(np.copy(v) for v in f(z)),
        f.x.copy(),
        jac=True,
        method="L-BFGS-B",
        options=dict(maxiter=5000, maxfun=10000, ftol=1e-15, gtol=1e-10),
    )
    f = softmax_objective(X, y)
    opt = LBFGS(max_iter=500, line_search_fn="strong_wolfe", tolerance_change=1e-12)
    opt.step(f, f.x)
    assert opt.converged, opt.stop_reason
    assert f(f.x)[0] == pytest.approx(ref.fun, rel=1e-6)


def test_rosenbrock_converges_to_its_minimum():
    def rosenbrock(x):
        a, b = x
        grad = [-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)]
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2, np.array(grad)

    x = np.array([-1.2, 1.0])
    opt = LBFGS(
        max_iter=200, line_search_fn="strong_wolfe", tolerance_grad=1e-8, tolerance_change=0
    )
    opt.step(rosenbrock, x)
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-6)
    assert opt.converged and "gradient" in opt.stop_reason


def test_a_non_finite_start_is_a_clear_error():
    def f(x):
        return float("nan"), np.zeros_like(x)

    x = np.ones(3)
    with pytest.raises(gw.DivergenceError, match="non-finite loss"):
        LBFGS().step(f, x)
    np.testing.assert_array_equal(x, 1.0)


def test_max_eval_stops_the_step(digits):
    X, y = digits
    f = softmax_objective(X, y)
    opt = LBFGS(max_iter=100, max_eval=7, line_search_fn="strong_wolfe")
    opt.step(f, f.x)
    assert opt.stop_reason == "max_eval reached" and not opt.converged
    # torch's count: the last line search may take one evaluation past max_eval.
    assert 7 <= opt.state["func_evals"] == f.calls <= 8


def test_state_dict_resumes_exactly(digits):
    X, y = digits
    options = dict(max_iter=5, line_search_fn="strong_wolfe", history_size=4)
    f1 = softmax_objective(X, y)
    straight = LBFGS(**options)
    for _ in range(4):
        straight.step(f1, f1.x)

    f2 = softmax_objective(X, y)
    first = LBFGS(**options)
    for _ in range(2):
        first.step(f2, f2.x)
    resumed = LBFGS(**options)
    resumed.load_state_dict(first.state_dict())
    for _ in range(2):
        resumed.step(f2, f2.x)
    np.testing.assert_array_equal(f2.x, f1.x)


def test_callback_sees_every_evaluated_iterate(digits):
    X, y = digits
    f = softmax_objective(X, y)
    seen = []
    opt = LBFGS(
        max_iter=10,
        max_eval=100,
        line_search_fn="strong_wolfe",
        callback=lambda x, loss, grad: seen.append(loss),
    )
    opt.step(f, f.x)
    assert len(seen) == opt.state["n_iter"] == 10
    assert seen == sorted(seen, reverse=True)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="line_search_fn"):
        LBFGS(line_search_fn="armijo")
    with pytest.raises(ValueError, match="max_iter"):
        LBFGS(max_iter=0)
    with pytest.raises(ValueError, match="history_size"):
        LBFGS(history_size=2.5)
    with pytest.raises(ValueError, match="lr"):
        LBFGS(lr=-1)
