"""Line searches: how far to go along a descent direction ``d`` from ``x``.

Both searches look at ``phi(t) = f(x + t d)`` with ``phi(0) = loss`` and
``phi'(0) = g'd < 0`` and test, for a trial step ``t``,

- sufficient decrease (Armijo): ``phi(t) <= phi(0) + c1 t phi'(0)``,
- strong curvature:             ``|phi'(t)| <= c2 |phi'(0)|``,

with ``0 < c1 < c2 < 1`` (defaults ``c1 = 1e-4``, ``c2 = 0.9``: Nocedal & Wright's values for
quasi-Newton methods). :func:`backtracking` enforces the first, :func:`strong_wolfe` both.

Neither raises when no step satisfies its conditions: the result says so
(``success=False`` and a ``message``) and carries the best point the search evaluated (the
start itself, ``step=0``, when nothing was better). A direction that is not a descent
direction is reported the same way, without evaluating ``f``.

``f(x) -> (loss, grad)`` may return a buffer that the next call overwrites and may keep
its own copy of ``x`` (a model's flat vector): the searches copy ``x`` first and evaluate
trial points in a buffer of their own, so passing the model's own vector as ``x`` is safe.

A line search, for :class:`~gradwise.optim.descent.DescentMethod` (``LBFGS``, ``BFGS``,
``Newton``), is any callable

    search(f, x, d, loss, grad, step, max_evals) -> LineSearchResult

(torch7's ``lineSearch`` idea): ``loss`` and ``grad`` are ``f`` at ``x``, ``step`` is the
first trial ``t`` and ``max_evals`` the most evaluations of ``f`` it may make; it must not
modify ``x``. :func:`strong_wolfe` and :func:`backtracking` are two, and
:func:`as_line_search` maps the names ``line_search_fn`` accepts (PyTorch's
``"strong_wolfe"``) to them; ``functools.partial(strong_wolfe, c2=0.1)`` is another.
"""

import math
from dataclasses import dataclass

import numpy as np

from .._validate import count, positive


@dataclass
class LineSearchResult:
    """Outcome of a line search.

    ``step`` is the chosen ``t``; ``x = x0 + t d`` (a new array), ``loss`` and ``grad`` (a copy)
    are ``f`` and its gradient there. ``evaluations`` counts calls of ``f``. ``success`` is
    true when the step satisfies the search's conditions; ``message`` says why not.
    """

    step: float
    x: np.ndarray
    loss: float
    grad: np.ndarray
    evaluations: int
    success: bool
    message: str


class _Line:
    """Evaluates ``f(x0 + t d)`` without touching ``x0`` (kept as a private copy)."""

    def __init__(self, f, x, d):
        self.f = f
        self.origin = np.array(x, copy=True)
        self.d = d
        self.trial = np.empty_like(self.origin)
        self.evaluations = 0

    def point(self, t):
        # origin + t*d, the same arithmetic as the caller's final update.
        return self.origin + t * self.d

    def __call__(self, t):
        np.multiply(self.d, t, out=self.trial)
        self.trial += self.origin
        loss, grad = self.f(self.trial)
        self.evaluations += 1
        loss = float(loss)
        if math.isnan(loss):
            # A NaN never passes a comparison; treat it as "far too long a step".
            loss = math.inf
        grad = np.array(grad, copy=True)
        return loss, grad, float(grad @ self.d)


def _check_constants(c1, c2=None):
    positive("c1", c1)
    if not c1 < 1:
        raise ValueError(f"c1 must be in (0, 1), got {c1}")
    if c2 is not None and not c1 < c2 < 1:
        raise ValueError(f"c2 must be in (c1, 1) = ({c1}, 1), got {c2}")


def _not_descent(x, loss, grad, gtd):
    return LineSearchResult(
        step=0.0,
        x=np.array(x, copy=True),
        loss=float(loss),
        grad=np.array(grad, copy=True),
        evaluations=0,
        success=False,
        message=f"not a descent direction: g'd = {gtd:.3g} >= 0",
    )


def backtracking(f, x, d, loss, grad, step=1.0, c1=1e-4, shrink=0.5, max_evals=30):
    """Armijo backtracking: try ``t = step, shrink*step, shrink^2*step, ...``.

    Returns the first ``t`` with ``f(x + t d) <= loss + c1 t g'd``. After ``max_evals``
    failed trials the result has ``success=False`` and the best point seen (possibly
    ``x`` itself with ``step=0``).
    """
    _check_constants(c1)
    positive("step", step)
    if not 0 < shrink < 1:
        raise ValueError(f"shrink must be in (0, 1), got {shrink}")
    positive("max_evals", max_evals)
    loss = float(loss)
    gtd = float(np.dot(grad, d))
    if not gtd < 0:
        return _not_descent(x, loss, grad, gtd)

    line = _Line(f, x, d)
    best_t, best_loss, best_grad = 0.0, loss, None
    t = float(step)
    while line.evaluations < max_evals:
        f_new, g_new, _ = line(t)
        if f_new <= loss + c1 * t * gtd:
            return LineSearchResult(t, line.point(t), f_new, g_new, line.evaluations, True, "")
        if f_new < best_loss:
            best_t, best_loss, best_grad = t, f_new, g_new
        t *= shrink
    return LineSearchResult(
        step=best_t,
        x=line.point(best_t),
        loss=best_loss,
        grad=np.array(grad, copy=True) if best_grad is None else best_grad,
        evaluations=line.evaluations,
        success=False,
        message=f"no step satisfied the Armijo condition in {max_evals} evaluations",
    )


def cubic_minimizer(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through ``(x1, f1, g1)`` and ``(x2, f2, g2)``, clipped to
    ``bounds`` (default: the interval between the two points); the interval's midpoint
    when the cubic has no minimiser (Nocedal & Wright eq. 3.59, torch7's ``polyinterp``)."""
    if bounds is not None:
        lo, hi = bounds
    else:
        lo, hi = (x1, x2) if x1 <= x2 else (x2, x1)
    try:
        d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
        d2_square = d1**2 - g1 * g2
        if d2_square >= 0:
            d2 = math.sqrt(d2_square)
            if x1 <= x2:
                t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
            else:
                t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
            if math.isfinite(t):
                return min(max(t, lo), hi)
    except (ZeroDivisionError, OverflowError, ValueError):
        pass
    # No minimiser (or coincident points, or an infinite loss at one end): bisect.
    return (lo + hi) / 2.0


def strong_wolfe(
    f, x, d, loss, grad, step=1.0, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25, max_evals=None
):
    """Strong Wolfe line search: bracketing, then zoom by safeguarded cubic interpolation.

    Nocedal & Wright's Algorithms 3.5 (bracket: grow ``t`` by cubic extrapolation within
    ``[t + 0.01 (t - t_prev), 10 t]``) and 3.6 (zoom: cubic interpolation in the bracket,
    moved ``0.1 * width`` away from an end when progress stalls), as in torch7's
    ``lswolfe`` and ``torch.optim.LBFGS`` (whose iterates :class:`LBFGS` reproduces).

    Stops when both conditions hold (``success=True``), after ``1 + max_ls`` evaluations
    of ``f`` (torch's count: the first trial plus ``max_ls`` more; ``max_evals``, when
    given, sets ``max_ls = max_evals - 1``), or when the bracket is narrower than
    ``tolerance_change`` (in ``max|d|`` units); the last two return the lowest end of the
    bracket with ``success=False``.
    """
    _check_constants(c1, c2)
    positive("step", step)
    if max_evals is not None:
        max_ls = count("max_evals", max_evals) - 1
    if isinstance(max_ls, bool) or not isinstance(max_ls, int) or max_ls < 0:
        raise ValueError(f"max_ls must be an integer >= 0, got {max_ls!r}")
    loss = float(loss)
    gtd = float(np.dot(grad, d))
    if not gtd < 0:
        return _not_descent(x, loss, grad, gtd)

    line = _Line(f, x, d)
    t = float(step)
    d_norm = float(np.abs(d).max())
    g0 = np.array(grad, copy=True)
    f_new, g_new, gtd_new = line(t)

    # Bracketing phase: find an interval that contains a strong Wolfe point.
    t_prev, f_prev, g_prev, gtd_prev = 0.0, loss, g0, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (loss + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g, bracket_gtd = [t], [f_new], [g_new], [gtd_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # Extrapolate: a cubic step, at least 1% further and at most 10x the current one.
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        t_next = cubic_minimizer(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, (min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new, gtd_new = line(t)
        ls_iter += 1

    if ls_iter == max_ls:
        bracket = [0.0, t]
        bracket_f, bracket_g, bracket_gtd = [loss, f_new], [g0, g_new], [gtd, gtd_new]

    # Zoom phase: shrink the bracket until a point satisfies both conditions.
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    too_narrow = False
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            too_narrow = True
            break
        t = cubic_minimizer(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        # A trial too close to an end of the bracket makes little progress: if that
        # happened last time too (or t is at an end), move it 10% of the width inside.
        lo, hi = min(bracket), max(bracket)
        eps = 0.1 * (hi - lo)
        if min(hi - t, t - lo) < eps:
            if insufficient_progress or t >= hi or t <= lo:
                t = hi - eps if abs(t - hi) < abs(t - lo) else lo + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False

        f_new, g_new, gtd_new = line(t)
        ls_iter += 1

        if f_new > (loss + c1 * t * gtd) or f_new >= bracket_f[low]:
            # No sufficient decrease, or not below the low end: t becomes the high end.
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                # The minimum lies between the old low end and t: the low end becomes high.
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new, gtd_new

    t = bracket[low]
    if done:
        message = ""
    elif too_narrow:
        message = f"bracket narrower than tolerance_change={tolerance_change:g}, no Wolfe point"
    else:
        message = f"no strong Wolfe point in {line.evaluations} evaluations"
    return LineSearchResult(
        step=t,
        x=line.point(t),
        loss=bracket_f[low],
        grad=bracket_g[low],
        evaluations=line.evaluations,
        success=done,
        message=message,
    )


#: The line searches ``line_search_fn`` may name; PyTorch's LBFGS knows "strong_wolfe".
LINE_SEARCHES = {"strong_wolfe": strong_wolfe, "backtracking": backtracking}


def as_line_search(line_search_fn):
    """The search that ``line_search_fn`` stands for: ``None`` (no search: the first trial
    step is taken as is), a name in :data:`LINE_SEARCHES`, or a callable
    ``search(f, x, d, loss, grad, step, max_evals)``, returned as it is."""
    if line_search_fn is None or callable(line_search_fn):
        return line_search_fn
    if isinstance(line_search_fn, str) and line_search_fn in LINE_SEARCHES:
        return LINE_SEARCHES[line_search_fn]
    names = ", ".join(repr(name) for name in LINE_SEARCHES)
    raise ValueError(
        f"line_search_fn must be None, {names} or a callable "
        f"search(f, x, d, loss, grad, step, max_evals), got {line_search_fn!r}"
    )
