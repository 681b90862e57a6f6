"""Optimizers racing on 2-D surfaces: their paths, as numbers, a still picture and a GIF.

:func:`trace` runs one optimizer (the same classes that train the classifiers, from
:mod:`gradwise.optim`) on one surface from :mod:`gradwise.landscape.surfaces` and records every
position and value. :func:`race` traces several from one start; :func:`gradwise.plot.animate`
draws them as coloured paths with moving heads over the surface's contours (an animated GIF,
a still PNG of the last frame, or both).

Each surface has defaults (start, steps, one learning rate per optimizer) chosen so the
classic behaviours show in a few hundred steps (:data:`DEFAULTS`; ``docs/pictures.md``
tells what each picture shows):

- ``long-valley`` (``(x^2 + 50 y^2) / 2`` from (-4, 1)): plain SGD zig-zags across the
  steep y direction, then crawls along the shallow x direction (still 0.19 short after
  100 steps); momentum swings across the valley and overshoots the minimum along it;
  Nesterov's look-ahead damps both; the adaptive methods rescale each coordinate, step
  diagonally and then slide straight down the valley floor.
- ``saddle`` (``x^2 - y^2`` from (1, 0.001)): plain SGD slides to the saddle point and
  lingers there; momentum overshoots it and then leaves; the adaptive methods, whose
  per-coordinate scaling blows the tiny y-gradient up, leave almost at once.
- ``beale`` (from (1, 1.5)): momentum and Nesterov loop far below the minimum before
  settling; SGD and AdaGrad (whose steps keep shrinking) are still on their way.
- ``rosenbrock`` (from (-1.2, 1)): everyone finds the curved valley; momentum oscillates
  along it and gets closest, SGD and RMSprop crawl.
- ``himmelblau`` (from (0, -3)): four minima; which one an optimizer reaches depends on
  how it moves (SGD and Nesterov, momentum and the adaptive methods end in three
  different ones).

The pictures themselves are drawn by :mod:`gradwise.plot.race`.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import DivergenceError
from ..optim import Optimizer
from ..optim.registry import get as get_optimizer
from ..optim.registry import names as optimizer_names
from ..optim.registry import showcase
from ..optim.registry import spec as optimizer_spec
from .surfaces import SURFACES, Surface, get_surface

__all__ = [
    "DEFAULTS",
    "SurfaceDefaults",
    "Trajectory",
    "check_start",
    "default_lr",
    "default_start",
    "default_optimizers",
    "defaults_for",
    "make_optimizer",
    "make_surface",
    "parse_optimizers",
    "race",
    "surface_names",
    "trace",
]


def default_optimizers():
    """The optimizers a race runs when none are named: the registry's ``"race"`` showcase."""
    return tuple(showcase("race"))


@dataclass(frozen=True)
class SurfaceDefaults:
    """What a race on one surface uses unless told otherwise.

    An optimizer's learning rate on a surface is part of its registry entry
    (``surface_lrs`` of :func:`gradwise.optim.registry.spec`); one without (L-BFGS, say,
    whose line search sets the step) keeps its own default. ``log_levels`` spaces the
    contour levels logarithmically (for surfaces whose values span many orders of
    magnitude); ``camera`` is the 3-D view's (elevation, azimuth) in degrees.
    """

    steps: int
    start: tuple | None = None
    log_levels: bool = False
    camera: tuple = (40, -60)


DEFAULTS = {
    "long-valley": SurfaceDefaults(steps=100),
    # Looking down the saddle's escape route, not along it.
    "saddle": SurfaceDefaults(steps=150, camera=(35, -130)),
    "beale": SurfaceDefaults(steps=300, log_levels=True),
    "rosenbrock": SurfaceDefaults(steps=500, log_levels=True),
    "himmelblau": SurfaceDefaults(steps=200, start=(0.0, -3.0), log_levels=True),
}

# A path more than this many window-widths outside the window has left for good: tracing
# stops there instead of following it to overflow.
_ESCAPE_WIDTHS = 10.0


@dataclass
class Trajectory:
    """Where an optimizer went: ``positions[k]`` after ``k`` steps (``positions[0]`` is the
    start), ``values[k]`` the surface's value there. ``stopped`` says why the path ended
    before the requested number of steps (``None`` if it did not)."""

    label: str
    positions: np.ndarray
    values: np.ndarray
    stopped: str | None = None
    lr: float | None = field(default=None, repr=False)

    @property
    def steps(self):
        """The number of steps taken (``len(positions) - 1``)."""
        return len(self.positions) - 1


def surface_names():
    """The names of the surfaces a race can run on, sorted."""
    return sorted(SURFACES)


def make_surface(surface):
    """A :class:`~gradwise.landscape.surfaces.Surface` from a surface or its name (an
    unknown name is an error that lists the known ones)."""
    if isinstance(surface, Surface):
        return surface
    if not isinstance(surface, str):
        raise TypeError(f"surface must be a Surface or a name, got {type(surface).__name__}")
    return get_surface(surface.strip().lower())


def defaults_for(surface):
    """The :class:`SurfaceDefaults` of a surface (plain ones for a surface not listed)."""
    surface = make_surface(surface)
    return DEFAULTS.get(surface.name, SurfaceDefaults(steps=200))


def default_lr(surface, optimizer):
    """The learning rate a race on ``surface`` gives optimizer ``optimizer`` (a name), or
    ``None`` for the optimizer's own default."""
    return optimizer_spec(optimizer).surface_lrs.get(make_surface(surface).name)


def default_start(surface):
    """The start point of a race on ``surface``: its default here, else the surface's."""
    surface = make_surface(surface)
    start = defaults_for(surface).start
    return tuple(surface.start if start is None else start)


def make_optimizer(name, surface, lr=None):
    """Optimizer ``name`` (see :func:`gradwise.optim.registry.names`) with ``lr``, or the
    default learning rate for ``surface`` when ``lr`` is ``None``."""
    lr = default_lr(surface, name) if lr is None else lr
    return get_optimizer(name) if lr is None else get_optimizer(name, lr=lr)


def check_start(surface, start):
    """``start`` as a float64 point inside the surface's plotting window, else ValueError."""
    surface = make_surface(surface)
    try:
        point = np.asarray(start, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"start must be two numbers (x, y), got {start!r}") from None
    if point.shape != (2,) or not np.isfinite(point).all():
        raise ValueError(f"start must be two finite numbers (x, y), got {start!r}")
    (x0, x1), (y0, y1) = surface.window
    if not (x0 <= point[0] <= x1 and y0 <= point[1] <= y1):
        raise ValueError(
            f"start ({point[0]:g}, {point[1]:g}) is outside the plotted window of "
            f"{surface.name}: x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}]"
        )
    return point


def trace(optimizer, surface, start=None, steps=None):
    """Run ``optimizer`` for ``steps`` steps on ``surface`` from ``start``; the path taken.

    ``optimizer`` is an :class:`~gradwise.optim.Optimizer` (used as given: its state
    advances) or a name (built with the surface's default learning rate). ``surface`` is a
    surface or its name; ``start`` defaults to :func:`default_start` and must lie inside
    the surface's window; ``steps`` defaults to the surface's default. The path ends early,
    with ``stopped`` saying why, if the optimizer diverges (non-finite values) or the point
    runs far outside the window.
    """
    surface = make_surface(surface)
    if isinstance(optimizer, str):
        label = optimizer.strip().lower()
        optimizer = make_optimizer(label, surface)
    elif isinstance(optimizer, Optimizer):
        label = type(optimizer).__name__.lower()
    else:
        raise TypeError(f"optimizer must be an Optimizer or a name, got {type(optimizer).__name__}")
    steps = defaults_for(surface).steps if steps is None else _count("steps", steps)
    # A copy: the optimizer updates x in place, and the caller's start must not move.
    x = check_start(surface, default_start(surface) if start is None else start).copy()
    positions = np.empty((steps + 1, 2))
    values = np.empty(steps + 1)
    positions[0], values[0] = x, surface.value(*x)
    stopped, taken = None, 0
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            try:
                optimizer.step(surface, x)
            except DivergenceError:
                stopped = f"diverged at step {k}: non-finite value or gradient"
                break
            value = float(surface.value(*x))
            if not (np.isfinite(x).all() and math.isfinite(value)):
                stopped = f"diverged at step {k}: non-finite position or value"
                break
            positions[k], values[k], taken = x, value, k
            if _escaped(surface, x):
                stopped = f"left the plotted window for good at step {k}"
                break
    lr = getattr(optimizer, "lr", None)
    return Trajectory(
        label=label,
        positions=positions[: taken + 1].copy(),
        values=values[: taken + 1].copy(),
        stopped=stopped,
        lr=float(lr) if isinstance(lr, int | float) else None,
    )


def race(optimizers=None, surface="beale", start=None, steps=None, lrs=None):
    """Trace every optimizer in ``optimizers`` (names) from the same start.

    ``lrs`` may map names to learning rates that replace the surface's defaults. Returns
    ``{name: Trajectory}`` in the order given. Unknown names raise ValueError listing the
    known ones, before anything runs.
    """
    surface = make_surface(surface)
    names = parse_optimizers(default_optimizers() if optimizers is None else optimizers)
    lrs = {k.strip().lower(): v for k, v in (lrs or {}).items()}
    built = {n: make_optimizer(n, surface, lrs.get(n)) for n in names}
    return {n: _labelled(trace(opt, surface, start, steps), n) for n, opt in built.items()}


def parse_optimizers(optimizers):
    """A list of known optimizer names from a comma-separated string or a sequence."""
    if isinstance(optimizers, str):
        optimizers = optimizers.split(",")
    names = [str(n).strip().lower() for n in optimizers if str(n).strip()]
    if not names:
        raise ValueError(f"name at least one optimizer; known: {', '.join(optimizer_names())}")
    unknown = [n for n in names if n not in optimizer_names()]
    if unknown:
        raise ValueError(f"unknown optimizer {unknown[0]!r}; known: {', '.join(optimizer_names())}")
    if len(set(names)) != len(names):
        raise ValueError(f"each optimizer may race once, got {', '.join(names)}")
    return names


def _labelled(trajectory, name):
    trajectory.label = name
    return trajectory


def _escaped(surface, x):
    (x0, x1), (y0, y1) = surface.window
    reach = _ESCAPE_WIDTHS * max(x1 - x0, y1 - y0)
    return x[0] < x0 - reach or x[0] > x1 + reach or x[1] < y0 - reach or x[1] > y1 + reach


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


