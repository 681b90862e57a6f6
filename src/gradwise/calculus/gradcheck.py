"""The gradient check: analytic gradients against centred finite differences.

For each checked coordinate i, ``numerical_i = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``
and the relative error is ``|a - n| / max(|a|, |n|, floor)``, where ``floor`` is the size of
a derivative that the finite difference cannot resolve from rounding noise in ``f``. The
usual verdicts (float64): below 1e-7 fine; up to 1e-4 fine near kinks, else suspicious;
above 1e-2 the gradient is wrong.

Kinks (ReLU, hinge or |w| at 0) make the two-sided difference meaningless for coordinates
whose ``+-eps`` interval straddles one. Such a coordinate is recognised by its one-sided
slopes disagreeing while the analytic value lies between them (it is a valid
subgradient); it is counted under ``kinks`` and left out of the verdict.
"""

from dataclasses import dataclass, field

import numpy as np

from ..nn.module import Module

FINE, SUSPICIOUS, WRONG = 1e-7, 1e-4, 1e-2


@dataclass
class Coordinate:
    index: int
    block: str
    analytic: float
    numerical: float
    rel_error: float


@dataclass
class GradientCheckReport:
    """What a gradient check found. ``passed`` is True unless the verdict is "wrong"."""

    max_rel_error: float
    block_errors: dict
    worst: list
    checked: int
    kinks: int
    eps: float
    verdict: str = field(init=False)

    def __post_init__(self):
        e = self.max_rel_error
        self.verdict = "ok" if e < FINE else "suspicious" if e < WRONG else "wrong"
        if self.verdict == "suspicious" and e < SUSPICIOUS and self.kinks:
            self.verdict = "ok"

    @property
    def passed(self):
        return self.verdict != "wrong"

    def __str__(self):
        lines = [
            f"gradient check: {self.checked} coordinates, eps={self.eps:g}, "
            f"max relative error {self.max_rel_error:.3e} -> {self.verdict.upper()}",
        ]
        for name, err in self.block_errors.items():
            lines.append(f"  {name:<20} max rel error {err:.3e}")
        if self.kinks:
            lines.append(f"  {self.kinks} coordinate(s) straddle a kink (left out of the verdict)")
        lines.append("  worst coordinates:")
        lines.append(
            f"    {'index':>8}  {'block':<16} {'analytic':>14} {'numerical':>14} {'rel err':>10}"
        )
        for c in self.worst:
            lines.append(
                f"    {c.index:>8}  {c.block:<16} {c.analytic:>14.6e} {c.numerical:>14.6e} "
                f"{c.rel_error:>10.3e}"
            )
        return "\n".join(lines)


def gradient_check(f, x, eps=1e-5, num_checks=None, seed=0, blocks=None, worst=5):
    """Compare ``f``'s analytic gradient at ``x`` with centred differences.

    ``f(x) -> (loss, grad)``; ``x`` is perturbed in place and restored. ``num_checks``
    samples that many coordinates (seeded) instead of all of them. ``blocks``
    (``[(name, slice)]``) names parts of ``x`` for the report; an objective built by
    :func:`gradwise.objective` supplies its own.
    """
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    x = _check_vector(x)
    if blocks is None:
        blocks = f.blocks() if hasattr(f, "blocks") else [("x", slice(0, x.size))]
    f0, grad = f(x)
    f0, analytic = float(f0), np.array(grad, dtype=np.float64, copy=True).ravel()
    indices = _choose(x.size, num_checks, seed)
    floor = _noise_floor(f0, eps, x.dtype)

    rows, kinks = [], 0
    for i in indices:
        fp, fm = _plus_minus(f, x, i, eps)
        numerical = (fp - fm) / (2 * eps)
        a = analytic[i]
        if _straddles_kink(f, x, i, a, f0, fp, fm, eps):
            kinks += 1
            continue
        err = abs(a - numerical) / max(abs(a), abs(numerical), floor)
        rows.append(Coordinate(int(i), _block_of(i, blocks), float(a), numerical, err))
    f(x)  # leave f's state (and any gradient buffer) as at x

    block_errors = {}
    for c in rows:
        block_errors[c.block] = max(block_errors.get(c.block, 0.0), c.rel_error)
    rows.sort(key=lambda c: c.rel_error, reverse=True)
    return GradientCheckReport(
        max_rel_error=max((c.rel_error for c in rows), default=0.0),
        block_errors=block_errors,
        worst=rows[:worst],
        checked=len(indices),
        kinks=kinks,
        eps=eps,
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
    # Rounding in f is about machine-eps * |f|; divided by 2 eps it is the smallest
    # derivative a difference can resolve. Errors of that size count as at most FINE.
    noise = 16 * np.finfo(dtype).eps * max(1.0, abs(f0)) / (2 * eps)
    return noise / FINE


def _plus_minus(f, x, i, eps):
    old = x[i]
    x[i] = old + eps
    fp = float(f(x)[0])
    x[i] = old - eps
    fm = float(f(x)[0])
    x[i] = old
    return fp, fm


def _straddles_kink(f, x, i, analytic, f0, fp, fm, eps):
    """True if the one-sided slopes disagree in a way that does not shrink with eps (a
    smooth function's would, tenfold) and the analytic value is a subgradient between them."""
    left, right = (f0 - fm) / eps, (fp - f0) / eps
    gap = abs(right - left)
    if gap <= 1e-2 * max(abs(left), abs(right)):
        return False
    if not min(left, right) - 1e-6 * gap <= analytic <= max(left, right) + 1e-6 * gap:
        return False
    fp2, fm2 = _plus_minus(f, x, i, eps / 10)
    return abs((fp2 - f0) - (f0 - fm2)) / (eps / 10) > 0.5 * gap


def _block_of(i, blocks):
    for name, s in blocks:
        if s.start <= i < s.stop:
            return name
    return "x"
