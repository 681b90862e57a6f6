import functools
import math

import numpy as np
import pytest

import gradwise as gw
from gradwise.optim.bfgs import BFGS
from gradwise.optim.lbfgs import LBFGS
from gradwise.optim.line_search import as_line_search, backtracking, cubic_minimizer, strong_wolfe
from gradwise.optim.newton import Newton


def rosenbrock(x):
    a, b = x
    loss = (1 - a) ** 2 + 100 * (b - a * a) ** 2
    grad = np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])
    return loss, grad


def make_quadratic(rng, n=6):
    Q = rng.standard_normal((n, n))
    A = Q @ Q.T + 0.1 * np.eye(n)
    c = rng.standard_normal(n)

    def f(x):
        return 0.5 * x @ A @ x - c @ x, A @ x - c

    return f


def make_softmax(rng, n=200, d=5, c=3):
    X, y = rng.standard_normal((n, d)), rng.integers(0, c, n)
    model = gw.nn.Linear(d, c, init="xavier", dtype=np.float64)
    return gw.objective(model, gw.nn.SoftmaxCrossEntropy(), X, y, penalty=gw.nn.L2(1e-2))


def problems(rng):
    """(name, f, x0, d) with d a descent direction: steepest descent, and a scaled one."""
    quadratic, softmax = make_quadratic(rng), make_softmax(rng)
    out = []
    for name, f, x0 in [
        ("rosenbrock", rosenbrock, np.array([-1.2, 1.0])),
        ("rosenbrock-far", rosenbrock, np.array([2.0, -1.0])),
        ("quadratic", quadratic, rng.standard_normal(6)),
        ("softmax", softmax, softmax.x.copy() + 0.5 * rng.standard_normal(softmax.x.size)),
    ]:
        g = f(x0)[1].copy()
        out.append((name, f, x0, -g))
        out.append((name + "-scaled", f, x0, -g / np.abs(g).sum()))
    return out


@pytest.mark.parametrize("first_step", [1e-4, 1.0, 50.0])
def test_strong_wolfe_returns_a_strong_wolfe_point(rng, first_step):
    c1, c2 = 1e-4, 0.9
    for name, f, x0, d in problems(rng):
        loss, grad = f(x0)
        loss, grad = float(loss), grad.copy()
        gtd = grad @ d
        res = strong_wolfe(f, x0, d, loss, grad, step=first_step, c1=c1, c2=c2)
        assert res.success, (name, res.message)
        new_loss, new_grad = f(x0 + res.step * d)
        assert res.step > 0
        assert new_loss <= loss + c1 * res.step * gtd, name
        assert abs(new_grad @ d) <= c2 * abs(gtd) + 1e-12, name
        # What the result reports is what f says at the returned point.
        assert res.loss == pytest.approx(float(new_loss), rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(res.grad, new_grad, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(res.x, x0 + res.step * d, rtol=1e-15)


def test_a_tighter_c2_gives_a_more_exact_step(rng):
    f = make_quadratic(rng)
    x0 = rng.standard_normal(6)
    loss, grad = f(x0)
    d = -grad
    res = strong_wolfe(f, x0, d, loss, grad, c2=1e-3)
    assert res.success
    assert abs(f(res.x)[1] @ d) <= 1e-3 * abs(grad @ d)


@pytest.mark.parametrize("first_step", [1.0, 30.0])
def test_backtracking_returns_the_first_armijo_step(rng, first_step):
    c1, shrink = 1e-4, 0.5
    for name, f, x0, d in problems(rng):
        loss, grad = f(x0)
        loss, grad = float(loss), grad.copy()
        gtd = grad @ d
        res = backtracking(f, x0, d, loss, grad, step=first_step, c1=c1, shrink=shrink)
        assert res.success, (name, res.message)
        assert float(f(x0 + res.step * d)[0]) <= loss + c1 * res.step * gtd
        if res.step < first_step:
            longer = res.step / shrink
            assert float(f(x0 + longer * d)[0]) > loss + c1 * longer * gtd, name
        assert res.evaluations == round(math.log(first_step / res.step, 1 / shrink)) + 1


@pytest.mark.parametrize("search", [strong_wolfe, backtracking])
def test_a_non_descent_direction_is_reported_without_evaluating(search):
    calls = []

    def f(x):
        calls.append(1)
        return rosenbrock(x)

    x0 = np.array([-1.2, 1.0])
    loss, grad = rosenbrock(x0)
    res = search(f, x0, grad.copy(), loss, grad)  # uphill
    assert not res.success and "not a descent direction" in res.message
    assert res.step == 0 and res.evaluations == 0 and not calls
    np.testing.assert_array_equal(res.x, x0)
    assert res.loss == loss


def test_strong_wolfe_reports_failure_on_an_unbounded_line():
    # f(x) = -x: every step decreases f but the slope never flattens, so the curvature
    # condition can never hold; the search must say so and return its best point.
    def f(x):
        return -float(x[0]), np.array([-1.0])

    res = strong_wolfe(f, np.array([0.0]), np.array([1.0]), 0.0, np.array([-1.0]), max_ls=5)
    assert not res.success
    assert "no strong Wolfe point" in res.message
    assert res.evaluations == 6
    assert res.loss < 0 and res.x[0] == pytest.approx(-res.loss)


def test_backtracking_reports_failure_and_keeps_the_start():
    # A gradient that lies (claims descent along +x while f increases there).
    def f(x):
        return float(x[0] ** 2), np.array([2 * x[0]])

    x0 = np.array([1.0])
    res = backtracking(f, x0, np.array([1.0]), 1.0, np.array([-1.0]), max_evals=8)
    assert not res.success and "Armijo" in res.message
    assert res.evaluations == 8
    assert res.step == 0 and res.loss == 1.0
    np.testing.assert_array_equal(res.x, x0)


def test_an_infinite_or_nan_loss_counts_as_too_long_a_step():
    def f(x):
        if x[0] > 2:
            return math.nan, np.array([math.nan])
        return float((x[0] - 1) ** 2), np.array([2 * (x[0] - 1)])

    x0 = np.array([0.0])
    loss, grad = f(x0)
    for search in (strong_wolfe, backtracking):
        res = search(f, x0, np.array([1.0]), loss, grad, step=10.0)
        assert res.success and 0 < res.x[0] <= 2


def test_the_model_vector_may_be_passed_as_x(rng):
    # f copies each trial point into the model's own vector; the search must still step
    # from the original point.
    f = make_softmax(rng)
    x0 = f.x.copy()
    loss, grad = f(f.x)
    grad = grad.copy()
    res = strong_wolfe(f, f.x, -grad, loss, grad)
    np.testing.assert_allclose(res.x, x0 - res.step * grad, rtol=1e-15)


def test_cubic_minimizer_is_exact_on_a_cubic():
    def phi(t):
        return t**3 - 3 * t, 3 * t**2 - 3  # local minimum at t = 1

    (f1, g1), (f2, g2) = phi(0.2), phi(2.5)
    assert cubic_minimizer(0.2, f1, g1, 2.5, f2, g2) == pytest.approx(1.0, rel=1e-12)
    assert cubic_minimizer(2.5, f2, g2, 0.2, f1, g1) == pytest.approx(1.0, rel=1e-12)
    # Clipped to the given bounds; bisects when the cubic has no minimiser.
    assert cubic_minimizer(0.2, f1, g1, 2.5, f2, g2, bounds=(2.0, 3.0)) == 2.0
    assert cubic_minimizer(0.0, 0.0, -1.0, 1.0, -0.5, -1.0) == 0.5


def test_bad_constants_are_rejected(rng):
    x0 = np.array([-1.2, 1.0])
    loss, grad = rosenbrock(x0)
    with pytest.raises(ValueError, match="c2"):
        strong_wolfe(rosenbrock, x0, -grad, loss, grad, c1=0.5, c2=0.1)
    with pytest.raises(ValueError, match="c1"):
        backtracking(rosenbrock, x0, -grad, loss, grad, c1=1.5)
    with pytest.raises(ValueError, match="shrink"):
        backtracking(rosenbrock, x0, -grad, loss, grad, shrink=1.0)
    with pytest.raises(ValueError, match="step"):
        strong_wolfe(rosenbrock, x0, -grad, loss, grad, step=-1.0)


def test_names_map_to_the_built_in_searches():
    assert as_line_search("strong_wolfe") is strong_wolfe
    assert as_line_search("backtracking") is backtracking
    assert as_line_search(None) is None
    mine = functools.partial(strong_wolfe, c2=0.1)
    assert as_line_search(mine) is mine
    for bad in ("armijo", "Strong_Wolfe", 3):
        with pytest.raises(ValueError, match=r"line_search_fn must be None, 'strong_wolfe'"):
            as_line_search(bad)


def test_strong_wolfe_max_evals_caps_the_evaluations():
    def f(x):  # unbounded below: the curvature condition never holds
        return -float(x[0]), np.array([-1.0])

    for max_evals in (1, 2, 6):
        res = strong_wolfe(
            f, np.array([0.0]), np.array([1.0]), 0.0, np.array([-1.0]), max_evals=max_evals
        )
        assert not res.success and res.evaluations == max_evals
    with pytest.raises(ValueError, match="max_evals"):
        strong_wolfe(f, np.array([0.0]), np.array([1.0]), 0.0, np.array([-1.0]), max_evals=0)


@pytest.mark.parametrize("cls", [LBFGS, BFGS, Newton])
@pytest.mark.parametrize("max_eval", [400, 9])
def test_every_method_calls_a_user_line_search_with_one_signature(rng, cls, max_eval):
    quadratic = make_quadratic(rng)
    evaluations, calls = [], []

    def f(x):
        evaluations.append(1)
        return quadratic(x)

    def quarter_backtracking(f, x, d, loss, grad, step, max_evals):
        calls.append((step, max_evals, len(evaluations)))
        return backtracking(f, x, d, loss, grad, step=step, shrink=0.25, max_evals=max_evals)

    options = {}
    if cls is Newton:
        options["hessian"] = lambda x, v: quadratic(v)[1] - quadratic(np.zeros_like(v))[1]
    opt = cls(
        max_iter=200,
        max_eval=max_eval,
        tolerance_change=0,
        line_search_fn=quarter_backtracking,
        **options,
    )
    x = rng.standard_normal(6)
    opt.step(f, x)
    assert calls and all(step > 0 for step, _, _ in calls)
    # The search may use what max_eval leaves, plus one (PyTorch's count: its first trial
    # is not charged), so a step ends at most one evaluation past max_eval.
    assert all(max_evals == max_eval - done + 1 for _, max_evals, done in calls)
    assert opt.state["func_evals"] == len(evaluations) <= max_eval + 1
    if max_eval == 9 and cls is not Newton:
        assert opt.stop_reason == "max_eval reached" and not opt.converged
    else:
        assert opt.converged, opt.stop_reason
        assert np.abs(quadratic(x)[1]).max() <= 1e-7


def test_a_search_given_as_a_function_equals_the_same_search_by_name(rng):
    f1, f2 = make_softmax(rng), make_softmax(np.random.default_rng(0))
    f2.x[...] = f1.x
    by_name = LBFGS(max_iter=15, line_search_fn="strong_wolfe")
    by_function = LBFGS(max_iter=15, line_search_fn=strong_wolfe)
    for _ in range(2):
        by_name.step(f1, f1.x)
        by_function.step(f2, f2.x)
    np.testing.assert_array_equal(f1.x, f2.x)
    assert by_name.state["func_evals"] == by_function.state["func_evals"]
