"""View 2: optimizers racing on a 2-D surface, a few steps per request.

The optimizers are the registry's (:mod:`gradwise.optim.registry`), built with the
learning rate and options the page gives or the surface's race defaults; each request
advances every path with :func:`gradwise.landscape.trace` (which uses the optimizer as
given, so its state carries on from one request to the next, and which stops a path that
diverges or leaves for good). The background is the surface coloured as the still
pictures colour it (``gradwise.plot.race.RELIEF`` in 30 bands, log-spaced where the
surface's defaults say so) and each path has its optimizer's colour from
:func:`gradwise.plot.colors_for`.
"""

import numpy as np

from .. import landscape
from ..optim import registry
from ..plot.race import RELIEF
from ..plot.style import colors_for
from . import limits
from .imaging import png_data_url
from .messages import finite_or_none

#: Colour bands of the background, as the still pictures' filled contours.
BANDS = 30


def optimizer_names():
    return tuple(registry.names())


def surface_names():
    return tuple(landscape.surface_names())


class Racer:
    """One optimizer's path: its optimizer, where it is, and whether it has stopped."""

    def __init__(self, name, surface, lr, options, start):
        lr = landscape.default_lr(surface, name) if lr is None else lr
        keywords = dict(options) if lr is None else {**options, "lr": lr}
        # The class checks its own keywords (an unknown one or a bad value is its error).
        self.optimizer = registry.get(name, **keywords)
        self.name, self.lr = name, getattr(self.optimizer, "lr", lr)
        self.position = np.array(start, dtype=np.float64)
        self.stopped = None

    def advance(self, surface, steps):
        """Up to ``steps`` more positions and values (fewer once the path stops)."""
        if self.stopped:
            return np.empty((0, 2)), np.empty(0)
        try:
            landscape.check_start(surface, self.position)
        except ValueError:
            self.stopped = "left the plotted window"
            return np.empty((0, 2)), np.empty(0)
        path = landscape.trace(self.optimizer, surface, start=self.position, steps=steps)
        self.position = path.positions[-1].copy()
        self.stopped = path.stopped
        return path.positions[1:], path.values[1:]


class Race:
    """The state of view 2 for one tab: a surface, a start and the racers."""

    def __init__(self, surface="beale", optimizers=None, start=None):
        self.setup(surface, optimizers, start)

    def setup(self, surface, optimizers=None, start=None):
        """``optimizers``: ``[(name, lr or None, options)]`` (default: the race showcase)."""
        surface = landscape.make_surface(surface)
        if optimizers is None:
            optimizers = [(n, None, {}) for n in landscape.default_optimizers()]
        names = [n for n, _, _ in optimizers]
        if len(set(names)) != len(names):
            raise ValueError(f"each optimizer may race once, got {', '.join(names)}")
        start = landscape.default_start(surface) if start is None else start
        start = landscape.check_start(surface, start)
        racers = [Racer(n, surface, lr, opts, start) for n, lr, opts in optimizers]
        self.surface, self.start, self.racers = surface, start, racers
        self.spec = list(optimizers)
        self.steps = 0

    def reset(self, start=None):
        """Back to the start (or a new one) with fresh optimizers."""
        self.setup(self.surface, self.spec, self.start if start is None else start)

    def step(self, steps):
        moved = {}
        for racer in self.racers:
            positions, values = racer.advance(self.surface, steps)
            moved[racer.name] = {
                "positions": positions.tolist(),
                "values": [finite_or_none(v) for v in values],
                "stopped": racer.stopped,
            }
        self.steps += steps
        return {"type": "race.steps", "steps": self.steps, "paths": moved}

    def value_at(self, p):
        return float(self.surface.value(*p))

    def state(self):
        colors = colors_for([r.name for r in self.racers])
        start_value = self.value_at(self.start)
        return {
            "type": "race.state",
            "surface": self.surface.name,
            "window": [list(self.surface.window[0]), list(self.surface.window[1])],
            "minima": [list(m) for m in getattr(self.surface, "minima", ())],
            "start": self.start.tolist(),
            "start_value": start_value,
            "background": background_png(self.surface),
            "racers": [
                {"name": r.name, "lr": finite_or_none(r.lr) if _is_number(r.lr) else None,
                 "color": colors[r.name]}
                for r in self.racers
            ],  # fmt: skip
            "steps": self.steps,
        }


def _is_number(value):
    return isinstance(value, int | float)


_BACKGROUNDS = {}


def background_png(surface):
    """The surface as a PNG data URL, in the still pictures' banded grey relief (the same
    levels: linear, or log-spaced from the 1st percentile for surfaces whose values span
    decades). One per surface name, kept (five small images)."""
    if surface.name not in _BACKGROUNDS:
        _BACKGROUNDS[surface.name] = _render(surface, landscape.defaults_for(surface).log_levels)
    return _BACKGROUNDS[surface.name]


def _render(surface, log_levels, pixels=limits.SURFACE_PIXELS):
    (x0, x1), (y0, y1) = surface.window
    gx, gy = np.meshgrid(np.linspace(x0, x1, pixels), np.linspace(y1, y0, pixels))
    z = np.asarray(surface.value(gx, gy), dtype=np.float64)
    if log_levels:
        low = max(np.percentile(z, 1.0), 1e-9)
        t = (np.log10(np.maximum(z, low)) - np.log10(low)) / (np.log10(z.max()) - np.log10(low))
    else:
        t = (z - z.min()) / (z.max() - z.min())
    banded = (np.floor(np.clip(t, 0, 1) * (BANDS - 1)) + 0.5) / (BANDS - 1)
    return png_data_url((RELIEF(banded)[..., :3] * 255).astype(np.uint8))
