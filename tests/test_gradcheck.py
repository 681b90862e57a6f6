import numpy as np
import pytest

import gradwise as gw


def quadratic(A):
    def f(x):
        return 0.5 * x @ A @ x, A @ x

    return f


def test_exact_gradient_passes_and_report_reads_well(rng):
    A = rng.standard_normal((6, 6))
    A = A @ A.T
    report = gw.gradient_check(quadratic(A), rng.standard_normal(6))
    assert report.verdict == "ok" and report.max_rel_error < 1e-7
    text = str(report)
    assert "OK" in text and "worst coordinates" in text


def test_a_wrong_gradient_is_caught_and_located(rng):
    A = np.eye(5)

    def f(x):
        g = A @ x
        g[3] *= 1.5  # the bug
        return 0.5 * x @ x, g

    x = rng.standard_normal(5) + 1
    before = x.copy()
    report = gw.gradient_check(f, x)
    assert report.verdict == "wrong" and not report.passed
    assert report.worst[0].index == 3
    np.testing.assert_array_equal(x, before)  # x restored


def test_num_checks_samples_coordinates_with_a_seed(rng):
    A = np.eye(50)
    r1 = gw.gradient_check(quadratic(A), rng.standard_normal(50), num_checks=7, seed=3)
    assert r1.checked == 7


def test_kinks_are_counted_not_failed():
    def f(x):  # |x| summed; coordinates at exactly 0 straddle the kink
        return np.abs(x).sum(), np.sign(x)

    report = gw.gradient_check(f, np.array([0.0, 1.0, -2.0, 0.0]))
    assert report.kinks == 2 and report.passed


def test_per_block_errors_name_the_parameters(rng):
    X, y = rng.standard_normal((12, 5)), rng.integers(0, 3, 12)
    model = gw.nn.Linear(5, 3, init="xavier", dtype=np.float64)
    f = gw.objective(model, gw.nn.MulticlassHinge(), X, y)
    report = gw.gradient_check(f, f.x)
    assert set(report.block_errors) <= {"weight", "bias"} and report.passed


def test_bad_arguments():
    f = quadratic(np.eye(2))
    with pytest.raises(ValueError, match="eps must be > 0"):
        gw.gradient_check(f, np.ones(2), eps=0)
    with pytest.raises(TypeError, match="1-D float"):
        gw.gradient_check(f, np.ones((2, 1)))
    with pytest.raises(ValueError, match="NaN"):
        gw.gradient_check(f, np.array([np.nan, 1.0]))
