import numpy as np
import pytest

import gradwise as gw
from gradwise.optim.bfgs import BFGS


def make_quadratic(rng, n=8):
    Q = rng.standard_normal((n, n))
    A = Q @ Q.T + 0.5 * np.eye(n)
    c = rng.standard_normal(n)

    def f(x):
        return 0.5 * x @ A @ x - c @ x, A @ x - c

    return f, A, c


def test_update_satisfies_the_secant_equation(rng):
    opt = BFGS()
    n = 6
    opt.state["inverse_hessian"] = np.eye(n)
    opt.state["updates"] = 0
    for _ in range(4):
        s, y = rng.standard_normal(n), rng.standard_normal(n)
        if s @ y <= 0:
            y = -y
        opt.update(s, y)
        H = opt.state["inverse_hessian"]
        np.testing.assert_allclose(H @ y, s, rtol=1e-10, atol=1e-12)  # H_{k+1} y_k = s_k
        np.testing.assert_allclose(H, H.T, atol=1e-12)
        assert np.linalg.eigvalsh(H).min() > 0


def test_pairs_without_positive_curvature_are_skipped():
    opt = BFGS()
    opt.state["inverse_hessian"] = np.eye(2)
    opt.state["updates"] = 0
    opt.update(np.array([1.0, 0.0]), np.array([-1.0, 0.0]))
    np.testing.assert_array_equal(opt.state["inverse_hessian"], np.eye(2))


def test_quadratic_is_solved_and_h_approaches_the_inverse_hessian(rng):
    f, A, c = make_quadratic(rng)
    x = np.zeros(8)
    opt = BFGS(max_iter=100, tolerance_grad=1e-8, tolerance_change=0)
    opt.step(f, x)
    np.testing.assert_allclose(x, np.linalg.solve(A, c), rtol=1e-8, atol=1e-9)
    assert opt.converged and opt.state["n_iter"] < 40
    # Along the directions it explored, H acts like A^{-1}.
    H = opt.state["inverse_hessian"]
    g = A @ np.ones(8)
    cos = (
        (H @ g)
        @ np.linalg.solve(A, g)
        / np.linalg.norm(H @ g)
        / np.linalg.norm(np.linalg.solve(A, g))
    )
    assert cos > 0.95


def test_state_persists_across_steps(rng):
    f, A, c = make_quadratic(rng)
    x = np.zeros(8)
    opt = BFGS(max_iter=3, max_eval=20)
    opt.step(f, x)
    H = opt.state["inverse_hessian"].copy()
    opt.step(f, x)
    assert opt.state["n_iter"] == 6
    assert not np.array_equal(H, opt.state["inverse_hessian"])


def test_refuses_a_matrix_that_does_not_fit():
    f = lambda x: (float(x @ x), 2 * x)  # noqa: E731
    with pytest.raises(ValueError, match=r"30730 x 30730 float64 .*7\.0 GiB.*LBFGS"):
        BFGS(max_memory=2**30).step(f, np.ones(30730))
    with pytest.raises(ValueError, match=r"1000 x 1000 float32 .*3\.8 MiB"):
        BFGS(max_memory=10**6).step(f, np.ones(1000, dtype=np.float32))
    with pytest.raises(ValueError, match="max_memory"):
        BFGS(max_memory=-1)


def test_softmax_regression_converges(rng):
    X, y = rng.standard_normal((200, 6)), rng.integers(0, 3, 200)
    model = gw.nn.Linear(6, 3, dtype=np.float64)
    f = gw.objective(model, gw.nn.SoftmaxCrossEntropy(), X, y, penalty=gw.nn.L2(1e-2))
    opt = BFGS(max_iter=200, tolerance_change=1e-12)
    opt.step(f, f.x)
    assert opt.converged, opt.stop_reason
    assert np.abs(f(f.x)[1]).max() <= 1e-6
