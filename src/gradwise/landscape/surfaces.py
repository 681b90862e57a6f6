"""Test functions with known minima, for watching optimizers move.

Each two-dimensional surface is an objective ``f(p) -> (value, gradient)`` on a point
``p = (x, y)`` (so any optimizer's ``step(f, p)`` runs on it), plus vectorised
``value(x, y)`` / ``gradient(x, y)`` for contour grids, a standard ``start``, its known
``minima`` and a plotting ``window``. :class:`IllConditionedQuadratic` is the same idea in
any dimension, with a random rotation.
"""

import numpy as np


class Surface:
    """Base class: subclasses define ``value`` and ``gradient`` on arrays ``x, y``."""

    name = ""
    start = (0.0, 0.0)
    minima = ()
    window = ((-1.0, 1.0), (-1.0, 1.0))

    def value(self, x, y):
        raise NotImplementedError

    def gradient(self, x, y):
        raise NotImplementedError

    def __call__(self, p):
        x, y = _point(p)
        return float(self.value(x, y)), np.array(self.gradient(x, y), dtype=np.float64)

    def start_point(self):
        """A fresh float64 copy of ``start`` (optimizers update it in place)."""
        return np.array(self.start, dtype=np.float64)

    def distance_to_minimum(self, p):
        """Euclidean distance from ``p`` to the nearest known minimum (inf if none)."""
        x, y = _point(p)
        return min((np.hypot(x - mx, y - my) for mx, my in self.minima), default=np.inf)

    def __repr__(self):
        return f"{type(self).__name__}()"


class LongValley(Surface):
    """``(x^2 + condition * y^2) / 2``: an ill-conditioned quadratic, minimum at (0, 0).

    The Hessian is ``diag(1, condition)``: steep across the valley (y), shallow along it
    (x). Plain gradient descent needs ``lr < 2 / condition`` to stay stable and then crawls
    along x at the rate ``1 - lr``; momentum and per-coordinate scaling fix that.
    """

    name = "long-valley"
    start = (-4.0, 1.0)
    minima = ((0.0, 0.0),)
    window = ((-5.0, 5.0), (-1.5, 1.5))

    def __init__(self, condition=50.0):
        if not condition >= 1:
            raise ValueError(f"condition must be >= 1, got {condition}")
        self.condition = float(condition)

    def value(self, x, y):
        return (x * x + self.condition * y * y) / 2

    def gradient(self, x, y):
        return x, self.condition * y

    def __repr__(self):
        return f"LongValley(condition={self.condition})"


class Saddle(Surface):
    """``x^2 - y^2``: a saddle point at (0, 0), unbounded below along y (no minimum).

    From the standard start (1, 1e-3) the gradient along y is tiny (``-2y``), so plain
    gradient descent lingers near the saddle while it slides down x; momentum and the
    adaptive methods (which rescale the small y-gradient) escape much sooner.
    """

    name = "saddle"
    start = (1.0, 1e-3)
    saddle_point = (0.0, 0.0)
    window = ((-1.5, 1.5), (-1.5, 1.5))

    def value(self, x, y):
        return x * x - y * y

    def gradient(self, x, y):
        return 2 * x, -2 * y


class Beale(Surface):
    """Beale's function, minimum 0 at (3, 0.5)::

        (1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2

    Flat plateaus and steep ridges; the standard window is [-4.5, 4.5]^2.
    """

    name = "beale"
    start = (1.0, 1.5)
    minima = ((3.0, 0.5),)
    window = ((-4.5, 4.5), (-4.5, 4.5))
    _constants = (1.5, 2.25, 2.625)

    def value(self, x, y):
        return sum((c - x + x * y**k) ** 2 for k, c in enumerate(self._constants, start=1))

    def gradient(self, x, y):
        gx = gy = 0.0
        for k, c in enumerate(self._constants, start=1):
            residual = c - x + x * y**k
            gx = gx + 2 * residual * (y**k - 1)
            gy = gy + 2 * residual * k * x * y ** (k - 1)
        return gx, gy


class Rosenbrock(Surface):
    """Rosenbrock's banana ``(a - x)^2 + b (y - x^2)^2`` (a=1, b=100), minimum at (a, a^2).

    The classic start is (-1.2, 1); the curved valley floor is easy to find and slow to
    follow.
    """

    name = "rosenbrock"
    start = (-1.2, 1.0)
    window = ((-2.0, 2.0), (-1.0, 3.0))

    def __init__(self, a=1.0, b=100.0):
        self.a, self.b = float(a), float(b)
        self.minima = ((self.a, self.a**2),)

    def value(self, x, y):
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2

    def gradient(self, x, y):
        inner = y - x * x
        return -2 * (self.a - x) - 4 * self.b * x * inner, 2 * self.b * inner

    def __repr__(self):
        return f"Rosenbrock(a={self.a}, b={self.b})"


class Himmelblau(Surface):
    """Himmelblau's function ``(x^2 + y - 11)^2 + (x + y^2 - 7)^2``: four minima of value 0.

    Which minimum an optimizer reaches depends on where it starts and how it moves; there is
    a local maximum near (-0.2708, -0.9230).
    """

    name = "himmelblau"
    start = (0.0, 0.0)
    minima = (
        (3.0, 2.0),
        (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.283185991286170),
        (3.584428340330492, -1.848126526964404),
    )
    window = ((-5.0, 5.0), (-5.0, 5.0))

    def value(self, x, y):
        return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2

    def gradient(self, x, y):
        first, second = x * x + y - 11, x + y * y - 7
        return 4 * x * first + 2 * second, 2 * first + 4 * y * second


class IllConditionedQuadratic:
    """``f(x) = (x - x*)^T A (x - x*) / 2`` in ``dim`` dimensions, ``A = Q diag(lambda) Q^T``.

    The eigenvalues ``lambda`` are log-spaced from 1 to ``condition`` and ``Q`` is a random
    rotation (from ``seed``), so no coordinate-wise rescaling removes the ill-conditioning.
    The minimum ``x*`` (attribute ``minimum``) is drawn from N(0, 1). Gradient descent is
    stable for ``lr < 2 / condition``. ``f`` returns a new gradient array on every call.
    """

    def __init__(self, dim=20, condition=1e3, seed=0):
        if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if not condition >= 1:
            raise ValueError(f"condition must be >= 1, got {condition}")
        rng = np.random.default_rng(seed)
        rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        self.eigenvalues = np.logspace(0.0, np.log10(condition), dim)
        self.hessian = (rotation * self.eigenvalues) @ rotation.T
        self.minimum = rng.standard_normal(dim)
        self.dim, self.condition = int(dim), float(condition)

    def __call__(self, x):
        offset = np.asarray(x, dtype=np.float64) - self.minimum
        grad = self.hessian @ offset
        return float(offset @ grad) / 2, grad

    def __repr__(self):
        return f"IllConditionedQuadratic(dim={self.dim}, condition={self.condition:g})"


SURFACES = {
    surface.name: surface for surface in (LongValley, Saddle, Beale, Rosenbrock, Himmelblau)
}


def get_surface(name, **keywords):
    """A surface by name (``long-valley, saddle, beale, rosenbrock, himmelblau``)."""
    cls = SURFACES.get(name)
    if cls is None:
        raise ValueError(f"unknown surface {name!r}; known: {', '.join(sorted(SURFACES))}")
    return cls(**keywords)


def _point(p):
    p = np.asarray(p, dtype=np.float64)
    if p.shape != (2,):
        raise ValueError(f"a surface point must have shape (2,), got {p.shape}")
    return p[0], p[1]
