"""The gradient check: analytic gradients against centred finite differences.

For each checked coordinate i, ``numerical_i = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``
and the relative error is ``|a - n| / max(|a|, |n|, floor)``, where ``floor`` is the size of
a derivative that the finite difference cannot resolve from rounding noise in ``f``. The
verdicts (float64, cs231n's bands): below 1e-7 fine; up to 1e-4 fine near kinks, else
suspicious; from 1e-3 (``torch.autograd.gradcheck``'s rtol) the gradient is wrong, so a
gradient 1% off (error 0.0099) fails.

Like ``torch.autograd.gradcheck``, the check is made in float64: a float32 objective built
by :func:`gradwise.objective` is checked on a float64 copy (``Objective.in_float64``) and
its own gradient compared with the copy's (fine below 1e-4). A low-precision callable
without that is checked on its own values with ``eps = cbrt(machine eps)`` and a floor of
its loss's rounding (fine below 1e-3), with a warning; there, a kink within ``eps`` of a
coordinate can still read as an error. ``str(report)`` says which precision was used.

Kinks (ReLU, hinge or |w| at 0) make the two-sided difference meaningless for coordinates
whose ``+-eps`` interval straddles one. Such a coordinate is recognised by its one-sided
slopes disagreeing while the analytic value lies between them (it is a valid
subgradient); it is counted under ``kinks`` and left out of the verdict.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from .._html import Raw, block, escape, table
from ..nn.module import Module

FINE, SUSPICIOUS, WRONG = 1e-7, 1e-4, 1e-3
#: "fine" for a gradient computed in float32 (or float16) or differences of its values.
FINE_LOW = 1e-4
#: "fine" for differences of a low-precision f's own values (no float64 copy).
FINE_PLAIN = 1e-3
DEFAULT_EPS = 1e-5


@dataclass
class Coordinate:
    index: int
    block: str
    analytic: float
    numerical: float
    rel_error: float


@dataclass
class GradientCheckReport:
    """What a gradient check found. ``passed`` is True unless the verdict is "wrong".

    ``precision`` says in which arithmetic the verdict was reached; ``fine`` is the error
    below which that arithmetic calls a gradient right. For a low-precision objective
    checked on a float64 copy, ``lowp_error`` is the largest relative difference between
    its own gradient and the copy's (``lowp_worst`` the coordinates), which counts too.
    """

    max_rel_error: float
    block_errors: dict
    worst: list
    checked: int
    kinks: int
    eps: float
    fine: float = FINE
    precision: str = "float64 objective: differences in float64"
    lowp_error: float = None
    lowp_worst: list = field(default_factory=list)
    verdict: str = field(init=False)

    def __post_init__(self):
        self.verdict = self._verdict(self.max_rel_error, self.fine, self.kinks)

    @staticmethod
    def _verdict(e, fine, kinks=0):
        verdict = "ok" if e < fine else "suspicious" if e < WRONG else "wrong"
        if verdict == "suspicious" and e < SUSPICIOUS and kinks:
            verdict = "ok"
        return verdict

    def add_low_precision(self, dtype, low, high, blocks=None):
        """Fold in the comparison of a ``dtype`` gradient ``low`` with the float64 ``high``."""
        dtype = np.dtype(dtype)
        floor = _rounding_floor(high, dtype)
        err = np.abs(low - high) / np.maximum(np.maximum(np.abs(low), np.abs(high)), floor)
        order = np.argsort(err)[::-1][: max(len(self.worst), 1)]
        self.lowp_error = float(err.max(initial=0.0))
        self.lowp_worst = [
            Coordinate(
                int(i), _block_of(i, blocks or []), float(low[i]), float(high[i]), float(err[i])
            )
            for i in order
        ]
        self.precision = (
            f"{dtype} objective: checked at float64 on a copy; its {dtype} gradient vs "
            f"the copy's, max rel error {self.lowp_error:.3e} (fine below {FINE_LOW:g})"
        )
        order_of = {"ok": 0, "suspicious": 1, "wrong": 2}
        low_verdict = self._verdict(self.lowp_error, FINE_LOW)
        self.verdict = max(self.verdict, low_verdict, key=order_of.get)

    @property
    def passed(self):
        return self.verdict != "wrong"

    def __str__(self):
        lines = [
            f"gradient check: {self.checked} coordinates, eps={self.eps:g}, "
            f"max relative error {self.max_rel_error:.3e} -> {self.verdict.upper()}",
            f"  {self.precision}",
        ]
        for name, err in self.block_errors.items():
            lines.append(f"  {name:<20} max rel error {err:.3e}")
        if self.kinks:
            lines.append(f"  {self.kinks} coordinate(s) straddle a kink (left out of the verdict)")
        lines.append("  worst coordinates:")
        lines += _table(self.worst, "analytic", "numerical")
        if self.lowp_error is not None and self.lowp_error >= FINE_LOW:
            lines.append("  worst coordinates, low-precision gradient vs float64 gradient:")
            lines += _table(self.lowp_worst, "low", "float64")
        return "\n".join(lines)

    def _repr_html_(self):
        """Jupyter's view: the verdict, the per-block errors and the worst coordinates, with
        the numbers formatted as :meth:`__str__` prints them."""
        head = self.__str__().splitlines()[0]
        colour = {"ok": "#009E73", "suspicious": "#E69F00", "wrong": "#D55E00"}[self.verdict]
        parts = [
            Raw(f'<span style="color:{colour}">{escape(head)}</span><br>'),
            self.precision,
            table(
                ["block", "max rel error"],
                [[name, f"{err:.3e}"] for name, err in self.block_errors.items()],
                right=(1,),
            ),  # fmt: skip
            table(
                *_html_rows(self.worst, "analytic", "numerical"),
                caption="worst coordinates",
                right=(0, 2, 3, 4),
            ),  # fmt: skip
        ]
        if self.kinks:
            parts.insert(2, f"{self.kinks} coordinate(s) straddle a kink (left out of the verdict)")
        if self.lowp_error is not None and self.lowp_error >= FINE_LOW:
            parts.append(table(*_html_rows(self.lowp_worst, "low", "float64"),
                               caption="worst coordinates, low-precision gradient vs float64",
                               right=(0, 2, 3, 4)))  # fmt: skip
        return block("gradient check", *parts)


def _html_rows(rows, a, b):
    """``(header, rows)`` of :func:`_table`'s columns, numbers formatted as it does."""
    cells = [
        [c.index, c.block, f"{c.analytic:.6e}", f"{c.numerical:.6e}", f"{c.rel_error:.3e}"]
        for c in rows
    ]
    return ["index", "block", a, b, "rel err"], cells


def _table(rows, a, b):
    lines = [f"    {'index':>8}  {'block':<16} {a:>14} {b:>14} {'rel err':>10}"]
    for c in rows:
        lines.append(
            f"    {c.index:>8}  {c.block:<16} {c.analytic:>14.6e} {c.numerical:>14.6e} "
            f"{c.rel_error:>10.3e}"
        )
    return lines


def _rounding_floor(high, dtype):
    # A gradient computed in ``dtype`` carries rounding of about machine-eps times the
    # size of the terms it sums; that is below 64 eps times the largest coordinate on
    # sane problems. Errors of that size count as at most FINE_LOW.
    scale = float(np.abs(high).max(initial=0.0))
    return max(64 * np.finfo(dtype).eps * scale / FINE_LOW, np.finfo(np.float64).tiny)


def gradient_check(f, x, eps=None, num_checks=None, seed=0, blocks=None, worst=5):
    """Compare ``f``'s analytic gradient at ``x`` with centred differences.

    ``f(x) -> (loss, grad)``; ``x`` is perturbed in place and restored. ``num_checks``
    samples that many coordinates (seeded) instead of all of them. ``blocks``
    (``[(name, slice)]``) names parts of ``x`` for the report; an objective built by
    :func:`gradwise.objective` supplies its own. ``eps`` defaults to the dtype's
    (``1e-5`` for float64, ``cbrt(machine eps)`` below).

    Precision (``report.precision`` says which was used):

    - float64 ``x``: differences in float64.
    - ``x`` of lower precision and an ``f`` with ``in_float64(x)`` (every objective built
      by :func:`gradwise.objective`): the differences are taken on the float64 copy
      (analytic vs numerical in float64), and ``f``'s own gradient is compared with the
      copy's analytic one (``report.lowp_error``), which must agree to float32 accuracy.
    - any other ``f``: differences of ``f``'s own low-precision values (the steps as
      rounded in ``x``, the arithmetic in float64); the floor is the rounding of the loss in
      that dtype, so small derivatives are not resolved, and a warning says so.
    """
    x = _check_vector(x)
    dtype = x.dtype
    if dtype != np.float64 and hasattr(f, "in_float64"):
        f64 = f.in_float64(x)
        if blocks is None and hasattr(f, "blocks"):
            blocks = f.blocks()
        x64 = x.astype(np.float64)
        report = gradient_check(f64, x64, eps, num_checks, seed, blocks, worst)
        _, low = f(x)
        low = np.array(low, dtype=np.float64, copy=True).ravel()
        _, high = f64(x64)
        high = np.array(high, dtype=np.float64).ravel()
        report.add_low_precision(dtype, low, high, blocks or f64.blocks())
        return report
    if eps is None:
        eps = DEFAULT_EPS if dtype == np.float64 else float(np.cbrt(np.finfo(dtype).eps))
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    if dtype != np.float64:
        warnings.warn(
            f"gradient_check on a {dtype} x: the differences of a {dtype} f resolve only "
            "derivatives above its rounding noise; pass an f with in_float64 (as "
            "gradwise.objective builds) or a float64 x for a full check",
            UserWarning,
            stacklevel=2,
        )
    if blocks is None:
        blocks = f.blocks() if hasattr(f, "blocks") else [("x", slice(0, x.size))]
    f0, grad = f(x)
    f0, analytic = float(f0), np.array(grad, dtype=np.float64, copy=True).ravel()
    indices = _choose(x.size, num_checks, seed)
    floor = _noise_floor(f0, eps, dtype)

    rows, kinks = [], 0
    for i in indices:
        fp, fm, hp, hm = _plus_minus(f, x, i, eps)
        numerical = (fp - fm) / (hp + hm)
        a = analytic[i]
        if _straddles_kink(f, x, i, a, f0, fp, fm, hp, hm):
            kinks += 1
            continue
        err = abs(a - numerical) / max(abs(a), abs(numerical), floor)
        if dtype != np.float64 and err >= FINE_PLAIN and _kinked_nearby(f, x, i, a, f0, eps):
            kinks += 1
            continue
        rows.append(Coordinate(int(i), _block_of(i, blocks), float(a), numerical, err))
    f(x)  # leave f's state (and any gradient buffer) as at x

    block_errors = {}
    for c in rows:
        block_errors[c.block] = max(block_errors.get(c.block, 0.0), c.rel_error)
    rows.sort(key=lambda c: c.rel_error, reverse=True)
    if dtype == np.float64:
        precision = "float64 objective: differences in float64"
    else:
        precision = (
            f"{dtype} objective: differences of its {dtype} values, verdict good to "
            f"~{FINE_PLAIN:g}; derivatives below {floor * FINE_PLAIN:.1e} are not resolved"
        )
    return GradientCheckReport(
        max_rel_error=max((c.rel_error for c in rows), default=0.0),
        block_errors=block_errors,
        worst=rows[:worst],
        checked=len(indices),
        kinks=kinks,
        eps=eps,
        fine=FINE if dtype == np.float64 else FINE_PLAIN,
        precision=precision,
    )


def check_module(module, input, eps=1e-5, num_checks=None, seed=0):
    """Gradient check of a module's input *and* parameter gradients, in float64.

    Uses the scalar ``L = sum(module(input) * R)`` with a fixed random ``R``, so
    ``dL/doutput = R`` exercises every output. Returns ``{"input": report, "parameters":
    report or None}``.
    """
    if not isinstance(module, Module):
        raise TypeError(f"check_module takes a gradwise Module, got {type(module).__name__}")
    input = np.array(input, dtype=np.float64)
    params = module.parameters()
    if any(p.dtype != np.float64 for p, _ in params):
        raise TypeError("check_module needs float64 parameters: flatten(model, np.float64)")
    out = module.forward(input)
    R = np.random.default_rng(seed).standard_normal(out.shape)

    def wrt_input(v):
        inp = v.reshape(input.shape)
        module.zero_grad()
        value = float(np.vdot(module.forward(inp), R))
        return value, module.backward(R)

    reports = {
        "input": gradient_check(
            wrt_input,
            input.ravel().copy(),
            eps,
            num_checks,
            seed,
            blocks=[("input", slice(0, input.size))],
        )
    }
    reports["parameters"] = None
    if params:
        from ..nn.flat import flatten, parameter_blocks

        x, g = flatten(module)

        def wrt_params(v):
            x[...] = v
            module.zero_grad()
            value = float(np.vdot(module.forward(input), R))
            module.backward(R)
            return value, g

        reports["parameters"] = gradient_check(
            wrt_params, x.copy(), eps, num_checks, seed, blocks=parameter_blocks(module)
        )
    return reports


def _check_vector(x):
    if not isinstance(x, np.ndarray) or x.ndim != 1 or x.dtype.kind != "f":
        raise TypeError("x must be a 1-D float NumPy array (the flat parameter vector)")
    if not np.isfinite(x).all():
        raise ValueError("x contains NaN or Inf")
    return x


def _choose(size, num_checks, seed):
    if num_checks is None or num_checks >= size:
        return np.arange(size)
    if num_checks < 1:
        raise ValueError(f"num_checks must be >= 1, got {num_checks}")
    return np.sort(np.random.default_rng(seed).choice(size, num_checks, replace=False))


def _noise_floor(f0, eps, dtype):
    # Rounding in f is about machine-eps * |f| (of f's own dtype); divided by 2 eps it is
    # the smallest derivative a difference can resolve. Errors of that size count as at
    # most the dtype's "fine" level.
    # In float64 the margin is 16 roundings; a low-precision f is judged on one or two (its
    # loss is rounded once more than its sums), or it could never fail.
    if dtype == np.float64:
        return 16 * np.finfo(dtype).eps * max(1.0, abs(f0)) / (2 * eps) / FINE
    return 2 * np.finfo(dtype).eps * max(1.0, abs(f0)) / (2 * eps) / FINE_PLAIN


def _plus_minus(f, x, i, eps):
    """f at x[i] +- eps, and the two steps as x's dtype rounded them (in float64)."""
    old = x[i]
    x[i] = old + eps
    hp = float(x[i]) - float(old)
    fp = float(f(x)[0])
    x[i] = old - eps
    hm = float(old) - float(x[i])
    fm = float(f(x)[0])
    x[i] = old
    return fp, fm, hp, hm


def _straddles_kink(f, x, i, analytic, f0, fp, fm, hp, hm):
    """True if the one-sided slopes disagree in a way that does not shrink with eps (a
    smooth function's would, tenfold) and the analytic value is a subgradient between them."""
    left, right = (f0 - fm) / hm, (fp - f0) / hp
    gap = abs(right - left)
    if gap <= 1e-2 * max(abs(left), abs(right)):
        return False
    if not min(left, right) - 1e-6 * gap <= analytic <= max(left, right) + 1e-6 * gap:
        return False
    fp2, fm2, hp2, hm2 = _plus_minus(f, x, i, (hp + hm) / 20)
    return abs((fp2 - f0) / hp2 - (f0 - fm2) / hm2) > 0.5 * gap


def _kinked_nearby(f, x, i, analytic, f0, eps):
    """For a low-precision f, whose eps is large: a kink within eps of x[i] but not within
    eps/10 bends the one-sided slopes at eps; at eps/10 the gradient then checks out (or
    straddles the kink). Only a coordinate whose slopes disagree at eps is retried."""
    fp, fm, hp, hm = _plus_minus(f, x, i, eps)
    left, right = (f0 - fm) / hm, (fp - f0) / hp
    if abs(right - left) <= 1e-2 * max(abs(left), abs(right)):
        return False
    small = eps / 10
    fp, fm, hp, hm = _plus_minus(f, x, i, small)
    if _straddles_kink(f, x, i, analytic, f0, fp, fm, hp, hm):
        return True
    numerical = (fp - fm) / (hp + hm)
    floor = _noise_floor(f0, small, x.dtype)
    return abs(analytic - numerical) / max(abs(analytic), abs(numerical), floor) < FINE_PLAIN


def _block_of(i, blocks):
    for name, s in blocks:
        if s.start <= i < s.stop:
            return name
    return "x"
