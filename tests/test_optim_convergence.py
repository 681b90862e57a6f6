"""Each optimizer reaches the known minimum of the classic 2-D surfaces, and escapes a saddle.

``CASES`` has one entry per registered optimizer name (``gradwise.optim.get``): per surface,
its keywords (everything else at PyTorch's defaults; momentum 0.9 for "momentum"/"nesterov")
and the number of steps after which the iterate is within 1e-3 of the minimum, from the
surface's standard start (sgd to adam: the table in docs/optimizers.md); and what it does
at the saddle. AdamW is Adam plus decoupled weight decay, which moves the minimum, so it
runs with weight_decay=0. A full-batch method's step is up to 20 iterations, so it needs
few steps.
"""

from dataclasses import dataclass

import numpy as np
import pytest

from gradwise.landscape.surfaces import Beale, LongValley, Rosenbrock, Saddle
from gradwise.optim.registry import get
from gradwise.optim.schedule import ExponentialDecay
from optimizer_cases import NotApplicable, applicable, check_table

SURFACES = {"long-valley": LongValley(), "beale": Beale(), "rosenbrock": Rosenbrock()}
SADDLE_STEPS = 150
ESCAPES, LINGERS = "escapes", "lingers"


@dataclass
class Case:
    minimum: dict  # surface -> (keywords, steps): within 1e-3 of the minimum after the steps
    saddle: tuple  # (ESCAPES or LINGERS, keywords, steps) from the saddle's start


STRONG_WOLFE = dict(line_search_fn="strong_wolfe")

CASES = {
    "sgd": Case(
        {
            "long-valley": (dict(lr=0.03), 300),
            "beale": (dict(lr=0.03), 800),
            "rosenbrock": (dict(lr=2e-3), 9500),
        },
        (LINGERS, dict(lr=0.01), SADDLE_STEPS),
    ),
    "momentum": Case(
        {
            "long-valley": (dict(lr=0.01), 200),
            "beale": (dict(lr=0.003), 600),
            "rosenbrock": (dict(lr=1e-3), 2000),
        },
        (ESCAPES, dict(lr=0.01), SADDLE_STEPS),
    ),
    "nesterov": Case(
        {
            "long-valley": (dict(lr=0.01), 200),
            "beale": (dict(lr=0.003), 600),
            "rosenbrock": (dict(lr=1e-3), 2000),
        },
        (ESCAPES, dict(lr=0.01), SADDLE_STEPS),
    ),
    "adagrad": Case(
        {
            "long-valley": (dict(lr=1.0), 100),
            "beale": (dict(lr=1.0), 1000),
            "rosenbrock": (dict(lr=1.0), 10000),
        },
        (ESCAPES, dict(lr=0.1), SADDLE_STEPS),
    ),
    "rmsprop": Case(
        {
            "long-valley": (dict(lr=0.1), 100),
            "beale": (dict(lr=ExponentialDecay(0.1, 3e-3)), 1200),
            "rosenbrock": (dict(lr=ExponentialDecay(1e-2, 5e-4)), 7000),
        },
        (ESCAPES, dict(lr=0.01), SADDLE_STEPS),
    ),
    "adam": Case(
        {
            "long-valley": (dict(lr=0.1), 200),
            "beale": (dict(lr=0.3), 300),
            "rosenbrock": (dict(lr=0.1), 1500),
        },
        (ESCAPES, dict(lr=0.01), SADDLE_STEPS),
    ),
    "adamw": Case(
        {
            "long-valley": (dict(lr=0.1, weight_decay=0.0), 200),
            "beale": (dict(lr=0.3, weight_decay=0.0), 300),
            "rosenbrock": (dict(lr=0.1, weight_decay=0.0), 1500),
        },
        (ESCAPES, dict(lr=0.01, weight_decay=0.0), SADDLE_STEPS),
    ),
    # The saddle is unbounded below: a full-batch step leaves it at once, then runs away.
    "lbfgs": Case(
        {
            "long-valley": (STRONG_WOLFE, 1),
            "beale": (STRONG_WOLFE, 1),
            "rosenbrock": (STRONG_WOLFE, 2),
        },
        (ESCAPES, STRONG_WOLFE, 1),
    ),
    "bfgs": Case(
        {"long-valley": (dict(), 1), "beale": (dict(), 1), "rosenbrock": (dict(), 2)},
        (ESCAPES, dict(), 1),
    ),
    "newton": Case(
        {"long-valley": (dict(), 1), "beale": (dict(), 1), "rosenbrock": (dict(), 5)},
        (ESCAPES, dict(), 1),
    ),
    "random-search": NotApplicable(
        "a random guess lands within 1e-3 of a minimum by luck only",
        ("test_random_search.py::test_random_search_is_the_sources_loop",),
    ),
    "random-local-search": NotApplicable(
        "random steps reach a minimum's 1e-3 neighbourhood only after a number of steps no "
        "test would pin; its loss never rises instead",
        ("test_random_search.py::test_the_loss_never_rises",),
    ),
}


def test_every_registered_optimizer_has_a_case():
    check_table(CASES, "test_optim_convergence")


def run(surface, optimizer, steps):
    p = surface.start_point()
    trajectory = np.empty((steps + 1, 2))
    trajectory[0] = p
    for k in range(steps):
        optimizer.step(surface, p)
        trajectory[k + 1] = p
    return trajectory


@pytest.mark.parametrize(
    "surface, name, keywords, steps",
    [
        pytest.param(surface, name, *CASES[name].minimum[surface], id=f"{surface}-{name}")
        for surface in SURFACES
        for name in applicable(CASES)
    ],
)
def test_reaches_minimum(surface, name, keywords, steps):
    surface = SURFACES[surface]
    trajectory = run(surface, get(name, **keywords), steps)
    assert surface.distance_to_minimum(trajectory[-1]) < 1e-3


def test_gradient_descent_crawls_along_the_long_valley():
    """The lecture's picture: the stable lr is set by the steep direction, so progress along
    the shallow one is slow, and momentum gets there in fewer steps."""
    valley = SURFACES["long-valley"]
    plain = run(valley, get("sgd", lr=0.03), 100)
    with_momentum = run(valley, get("momentum", lr=0.01), 100)
    assert valley.distance_to_minimum(plain[-1]) > 0.1
    assert valley.distance_to_minimum(with_momentum[-1]) < 0.05
    # Plain SGD near the stability limit zig-zags across the valley (y changes sign).
    assert np.sum(np.diff(np.sign(plain[:20, 1])) != 0) >= 10


def at_the_saddle(what):
    return [
        pytest.param(name, *CASES[name].saddle[1:], id=name)
        for name in applicable(CASES)
        if CASES[name].saddle[0] == what
    ]


@pytest.mark.parametrize("name, keywords, steps", at_the_saddle(LINGERS))
def test_lingers_at_the_saddle(name, keywords, steps):
    """From (1, 1e-3) the y-gradient is -2y: tiny, so plain SGD slides into the saddle."""
    saddle = Saddle()
    trajectory = run(saddle, get(name, **keywords), steps)
    assert np.max(np.abs(trajectory[:, 1])) < 0.05
    radius = np.hypot(trajectory[:, 0], trajectory[:, 1])
    assert radius[-1] < 0.1
    assert np.sum(radius < 0.1) >= 30  # many steps spent next to the saddle point


@pytest.mark.parametrize("name, keywords, steps", at_the_saddle(ESCAPES))
def test_escapes_the_saddle(name, keywords, steps):
    saddle = Saddle()
    trajectory = run(saddle, get(name, **keywords), steps)
    escaped = np.nonzero(np.abs(trajectory[:, 1]) > 1)[0]
    assert escaped.size and escaped[0] < SADDLE_STEPS
    value, _ = saddle(trajectory[-1])
    assert value < -1
