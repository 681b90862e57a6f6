import numpy as np
import pytest

import gradwise as gw
from gradwise.optim.newton import Newton, damped_newton_direction, newton_cg_direction


@pytest.fixture(scope="module")
def digits(sklearn_digits):
    X, y = sklearn_digits
    return X / 16.0, y


def softmax_objective(X, y, lam):
    model = gw.nn.Linear(X.shape[1], 10, seed=0, dtype=np.float64)
    return gw.objective(model, gw.nn.SoftmaxCrossEntropy(), X, y, penalty=gw.nn.L2(lam))


def rosenbrock(x):
    a, b = x
    grad = [-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)]
    return (1 - a) ** 2 + 100 * (b - a * a) ** 2, np.array(grad)


def rosenbrock_hvp(x, v):
    a, b = x
    H = np.array([[2 - 400 * (b - 3 * a * a), -400 * a], [-400 * a, 200.0]])
    return H @ v


def run(f, x, **options):
    norms = []
    opt = Newton(
        callback=lambda x, loss, grad: norms.append(float(np.linalg.norm(grad))), **options
    )
    opt.step(f, x)
    return opt, norms


def test_newton_converges_quadratically_near_the_optimum(digits):
    f = softmax_objective(*digits, lam=1e-2)
    opt, norms = run(
        f, f.x, solver="cholesky", max_iter=20, tolerance_grad=1e-13, tolerance_change=0
    )
    assert opt.converged and len(norms) <= 8
    assert norms[-1] < 1e-12
    # Quadratic convergence: ||g_{k+1}|| <= K ||g_k||^2 once ||g_k|| is small (K ~ 3 here),
    # so each step roughly doubles the number of correct digits.
    fast = [(a, b) for a, b in zip(norms, norms[1:], strict=False) if a < 1e-2]
    assert len(fast) >= 3
    for a, b in fast:
        assert b <= 10 * a * a, norms
    # Convex, but singular along "add c to every class's bias": at most a rounding-level
    # shift is ever needed.
    assert opt.state["damping"] < 1e-8


def test_newton_cg_matches_the_exact_solver(digits):
    f_exact = softmax_objective(*digits, lam=1e-3)
    run(f_exact, f_exact.x, solver="cholesky", max_iter=30, tolerance_change=0)
    f_cg = softmax_objective(*digits, lam=1e-3)
    opt, norms = run(f_cg, f_cg.x, solver="cg", max_iter=30, tolerance_change=0)
    assert opt.converged and opt.state["cg_iterations"] > 0
    assert f_cg(f_cg.x)[0] == pytest.approx(f_exact(f_exact.x)[0], rel=1e-10)
    # Superlinear: the last ratios of successive gradient norms shrink towards 0.
    ratios = [b / a for a, b in zip(norms, norms[1:], strict=False)]
    assert ratios[-1] < 1e-2 and ratios[-2] < 1e-1


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_rosenbrock_with_a_user_hessian(solver):
    x = np.array([-1.2, 1.0])
    opt, _ = run(
        rosenbrock, x, solver=solver, hessian=rosenbrock_hvp, max_iter=100, tolerance_change=0
    )
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-6)
    assert opt.converged


def test_rosenbrock_with_finite_difference_hessian():
    x = np.array([-1.2, 1.0])
    opt, _ = run(rosenbrock, x, max_iter=100, line_search_fn="strong_wolfe", tolerance_change=0)
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-6)


def test_damping_makes_an_indefinite_hessian_give_a_descent_direction():
    x = np.array([0.0, 1.0])  # Rosenbrock's Hessian here is diag(-398, 200)
    _, g = rosenbrock(x)
    H = np.stack([rosenbrock_hvp(x, e) for e in np.eye(2)], axis=1)
    assert np.linalg.eigvalsh(H).min() < 0
    d, tau = damped_newton_direction(H, g)
    assert tau > 398 and g @ d < 0
    np.testing.assert_allclose((H + tau * np.eye(2)) @ d, -g, rtol=1e-12)
    d0, tau0 = damped_newton_direction(np.diag([2.0, 3.0]), np.array([2.0, 3.0]))
    assert tau0 == 0.0
    np.testing.assert_allclose(d0, [-1.0, -1.0])


def test_newton_cg_direction_solves_or_stops_at_negative_curvature(rng):
    Q = rng.standard_normal((8, 8))
    A = Q @ Q.T + np.eye(8)
    g = rng.standard_normal(8)
    d, used = newton_cg_direction(lambda v: A @ v, g, max_iter=50)
    g_norm = np.linalg.norm(g)
    assert np.linalg.norm(A @ d + g) <= min(0.5, np.sqrt(g_norm)) * g_norm
    assert used <= 8
    d, used = newton_cg_direction(lambda v: -v, g, max_iter=50)
    np.testing.assert_array_equal(d, -g)
    assert used == 1


def test_non_smooth_objectives_are_refused(rng):
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 3, 20)
    hinge = gw.objective(gw.nn.Linear(3, 3, dtype=np.float64), gw.nn.MulticlassHinge(), X, y)
    with pytest.raises(ValueError, match="hinge"):
        Newton().step(hinge, hinge.x)
    l1 = gw.objective(
        gw.nn.Linear(3, 3, dtype=np.float64),
        gw.nn.SoftmaxCrossEntropy(),
        X,
        y,
        penalty=gw.nn.L1(0.1),
    )
    with pytest.raises(ValueError, match="L1"):
        Newton().step(l1, l1.x)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="solver"):
        Newton(solver="lu")
    with pytest.raises(TypeError, match="hessian"):
        Newton(hessian="exact")
    with pytest.raises(ValueError, match="line_search_fn"):
        Newton(line_search_fn="wolfe")
    with pytest.raises(ValueError, match="dense_max"):
        Newton(dense_max=0)
