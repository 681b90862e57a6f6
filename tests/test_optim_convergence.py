"""Each optimizer reaches the known minimum of the classic 2-D surfaces, and escapes a saddle.

The table is the one in docs/optimizers.md: optimizer name (``gradwise.optim.get``), its
keywords (everything else at PyTorch's defaults; momentum 0.9 for "momentum"/"nesterov"),
and the number of steps after which the iterate is within 1e-3 of the minimum, from the
surface's standard start. AdamW is Adam plus decoupled weight decay, which moves the
minimum, so it is left out here.
"""

import numpy as np
import pytest

from gradwise.landscape.surfaces import Beale, LongValley, Rosenbrock, Saddle
from gradwise.optim.registry import get
from gradwise.optim.schedule import ExponentialDecay

SURFACES = {"long-valley": LongValley(), "beale": Beale(), "rosenbrock": Rosenbrock()}

CONVERGENCE = [
    # surface, optimizer, keywords, steps
    ("long-valley", "sgd", dict(lr=0.03), 300),
    ("long-valley", "momentum", dict(lr=0.01), 200),
    ("long-valley", "nesterov", dict(lr=0.01), 200),
    ("long-valley", "adagrad", dict(lr=1.0), 100),
    ("long-valley", "rmsprop", dict(lr=0.1), 100),
    ("long-valley", "adam", dict(lr=0.1), 200),
    ("beale", "sgd", dict(lr=0.03), 800),
    ("beale", "momentum", dict(lr=0.003), 600),
    ("beale", "nesterov", dict(lr=0.003), 600),
    ("beale", "adagrad", dict(lr=1.0), 1000),
    ("beale", "rmsprop", dict(lr=ExponentialDecay(0.1, 3e-3)), 1200),
    ("beale", "adam", dict(lr=0.3), 300),
    ("rosenbrock", "sgd", dict(lr=2e-3), 9500),
    ("rosenbrock", "momentum", dict(lr=1e-3), 2000),
    ("rosenbrock", "nesterov", dict(lr=1e-3), 2000),
    ("rosenbrock", "adagrad", dict(lr=1.0), 10000),
    ("rosenbrock", "rmsprop", dict(lr=ExponentialDecay(1e-2, 5e-4)), 7000),
    ("rosenbrock", "adam", dict(lr=0.1), 1500),
]


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
    CONVERGENCE,
    ids=[f"{s}-{n}" for s, n, _, _ in CONVERGENCE],
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


SADDLE_STEPS = 150
ESCAPERS = [
    ("momentum", dict(lr=0.01)),
    ("nesterov", dict(lr=0.01)),
    ("adagrad", dict(lr=0.1)),
    ("rmsprop", dict(lr=0.01)),
    ("adam", dict(lr=0.01)),
]


def test_plain_sgd_lingers_at_the_saddle():
    """From (1, 1e-3) the y-gradient is -2y: tiny, so plain SGD slides into the saddle."""
    saddle = Saddle()
    trajectory = run(saddle, get("sgd", lr=0.01), SADDLE_STEPS)
    assert np.max(np.abs(trajectory[:, 1])) < 0.05
    radius = np.hypot(trajectory[:, 0], trajectory[:, 1])
    assert radius[-1] < 0.1
    assert np.sum(radius < 0.1) >= 30  # many steps spent next to the saddle point


@pytest.mark.parametrize("name, keywords", ESCAPERS, ids=[n for n, _ in ESCAPERS])
def test_momentum_and_adaptive_methods_escape_the_saddle(name, keywords):
    saddle = Saddle()
    trajectory = run(saddle, get(name, **keywords), SADDLE_STEPS)
    escaped = np.nonzero(np.abs(trajectory[:, 1]) > 1)[0]
    assert escaped.size and escaped[0] < SADDLE_STEPS
    value, _ = saddle(trajectory[-1])
    assert value < -1
