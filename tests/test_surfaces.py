"""The test surfaces: gradients against finite differences, minima where they are claimed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradwise.landscape.surfaces import (
    SURFACES,
    Beale,
    Himmelblau,
    IllConditionedQuadratic,
    LongValley,
    Rosenbrock,
    Saddle,
    get_surface,
)

ALL = [LongValley(), LongValley(condition=1000), Saddle(), Beale(), Rosenbrock(), Himmelblau()]
WITH_MINIMA = [s for s in ALL if s.minima]


def central_difference(surface, p, h=1e-6):
    grad = np.zeros(2)
    for i in range(2):
        step = np.zeros(2)
        step[i] = h
        grad[i] = (surface(p + step)[0] - surface(p - step)[0]) / (2 * h)
    return grad


@pytest.mark.parametrize("surface", ALL, ids=repr)
@settings(max_examples=40, deadline=None)
@given(u=st.floats(0, 1), v=st.floats(0, 1))
def test_gradient_matches_finite_differences(surface, u, v):
    (x0, x1), (y0, y1) = surface.window
    p = np.array([x0 + u * (x1 - x0), y0 + v * (y1 - y0)])
    _, grad = surface(p)
    numeric = central_difference(surface, p)
    scale = max(1.0, np.max(np.abs(numeric)))
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("surface", WITH_MINIMA, ids=repr)
def test_minima_are_zero_valued_stationary_points(surface):
    for minimum in surface.minima:
        value, grad = surface(np.array(minimum))
        assert value == pytest.approx(0.0, abs=1e-20)
        np.testing.assert_allclose(grad, 0.0, atol=1e-12)


@pytest.mark.parametrize("surface", WITH_MINIMA, ids=repr)
def test_minima_are_lower_than_their_neighbourhood(surface):
    rng = np.random.default_rng(0)
    for minimum in surface.minima:
        around = np.array(minimum) + 1e-3 * rng.standard_normal((50, 2))
        assert all(surface(p)[0] > 0 for p in around)


def test_saddle_point_is_stationary_but_not_a_minimum():
    saddle = Saddle()
    _, grad = saddle(np.array(saddle.saddle_point))
    np.testing.assert_array_equal(grad, 0.0)
    assert saddle(np.array([0.0, 0.1]))[0] < 0 < saddle(np.array([0.1, 0.0]))[0]
    assert saddle.distance_to_minimum(saddle.start_point()) == np.inf


def test_standard_starts_and_minima():
    assert Rosenbrock().start == (-1.2, 1.0) and Rosenbrock().minima == ((1.0, 1.0),)
    assert Beale().minima == ((3.0, 0.5),)
    assert Saddle().start == (1.0, 1e-3)
    assert len(Himmelblau().minima) == 4


def test_values_are_vectorised_for_contour_grids():
    xs, ys = np.meshgrid(np.linspace(-2, 2, 7), np.linspace(-1, 3, 5))
    for surface in ALL:
        values = surface.value(xs, ys)
        assert values.shape == xs.shape
        assert values[2, 3] == pytest.approx(surface(np.array([xs[2, 3], ys[2, 3]]))[0])


def test_start_point_is_a_fresh_float64_copy():
    surface = Beale()
    p = surface.start_point()
    p += 1
    assert surface.start_point().tolist() == list(surface.start)
    assert p.dtype == np.float64


def test_distance_to_the_nearest_minimum():
    himmelblau = Himmelblau()
    assert himmelblau.distance_to_minimum([3.0, 2.1]) == pytest.approx(0.1)
    assert himmelblau.distance_to_minimum([3.6, -1.85]) < 0.02


def test_point_must_be_two_dimensional():
    with pytest.raises(ValueError, match="shape"):
        Beale()(np.zeros(3))


def test_get_surface_by_name():
    assert sorted(SURFACES) == ["beale", "himmelblau", "long-valley", "rosenbrock", "saddle"]
    assert get_surface("long-valley", condition=10).condition == 10
    with pytest.raises(ValueError, match="known: beale"):
        get_surface("ackley")


def test_long_valley_condition_must_be_at_least_one():
    with pytest.raises(ValueError, match="condition"):
        LongValley(condition=0.5)


def test_ill_conditioned_quadratic():
    f = IllConditionedQuadratic(dim=6, condition=100.0, seed=0)
    eigenvalues = np.linalg.eigvalsh(f.hessian)
    np.testing.assert_allclose(eigenvalues, np.logspace(0, 2, 6), rtol=1e-10)
    value, grad = f(f.minimum)
    assert value == pytest.approx(0.0, abs=1e-24)
    np.testing.assert_allclose(grad, 0.0, atol=1e-12)
    x = f.minimum + 1.0
    assert f(x)[0] == pytest.approx(0.5 * np.ones(6) @ f.hessian @ np.ones(6))
    np.testing.assert_allclose(f(x)[1], f.hessian @ np.ones(6))
    # Not axis aligned: the Hessian has off-diagonal mass.
    assert np.max(np.abs(f.hessian - np.diag(np.diag(f.hessian)))) > 1.0


@pytest.mark.parametrize("kwargs", [dict(dim=0), dict(dim=2.5), dict(condition=0.1)])
def test_ill_conditioned_quadratic_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        IllConditionedQuadratic(**kwargs)
