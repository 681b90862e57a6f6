"""BFGS with a dense inverse-Hessian approximation, for problems small enough to hold it."""

import os

import numpy as np

from .line_search import DescentMethod

# Pairs with s'y at or below this are skipped: the update would not stay positive definite.
CURVATURE_EPS = 1e-10


class BFGS(DescentMethod):
    """Broyden-Fletcher-Goldfarb-Shanno with the full ``n x n`` inverse Hessian ``H``.

    ``d = -H g``; after a step ``s = x_new - x``, ``y = g_new - g`` with ``rho = 1 / s'y``:

        H <- (I - rho s y') H (I - rho y s') + rho s s'

    (Nocedal & Wright eq. 6.17), skipped when ``s'y <= 1e-10``. ``H_0 = I``, rescaled to
    ``(s'y / y'y) I`` just before the first update (eq. 6.20); the first step is
    ``min(1, 1 / ||g||_1) * lr`` as in :class:`LBFGS`, later ones start at ``lr``. The
    strong Wolfe line search (default) keeps ``s'y > 0``. ``H`` persists in
    ``state["inverse_hessian"]``.

    Storing ``H`` takes ``n * n`` floats (``n`` = number of parameters): the first step
    raises ``ValueError`` saying how much memory that is when it exceeds ``max_memory``
    bytes (default: a quarter of the machine's RAM, or 2 GiB if unknown). Use
    :class:`LBFGS` for larger problems. See
    :class:`~gradwise.optim.line_search.DescentMethod` for the other arguments.
    """

    def __init__(
        self,
        lr=1,
        max_iter=20,
        max_eval=None,
        tolerance_grad=1e-7,
        tolerance_change=1e-9,
        line_search_fn="strong_wolfe",
        max_memory=None,
        callback=None,
    ):
        super().__init__(
            lr, max_iter, max_eval, tolerance_grad, tolerance_change, line_search_fn, callback
        )
        if max_memory is not None and (isinstance(max_memory, bool) or not max_memory > 0):
            raise ValueError(f"max_memory must be a number of bytes > 0, got {max_memory!r}")
        self.max_memory = max_memory

    def direction(self, f, x, loss, grad):
        H = self.state.get("inverse_hessian")
        if H is None or H.shape != (x.size, x.size) or H.dtype != x.dtype:
            self._check_memory(x)
            H = np.eye(x.size, dtype=x.dtype)
            self.state["inverse_hessian"] = H
            self.state["updates"] = 0
        return -(H @ grad)

    def initial_step(self, grad):
        lr = self.hyper("lr")
        if self.state.get("updates", 0) == 0:
            return min(1.0, 1.0 / float(np.abs(grad).sum())) * lr
        return lr

    def update(self, s, y):
        sy = float(s @ y)
        if sy <= CURVATURE_EPS:
            return
        H = self.state["inverse_hessian"]
        if self.state["updates"] == 0:
            H *= sy / float(y @ y)
        rho = 1.0 / sy
        Hy = H @ y
        # Expanded form of eq. 6.17 (H symmetric):
        # H + (rho^2 y'Hy + rho) s s' - rho (s (Hy)' + Hy s').
        a = rho * rho * float(y @ Hy) + rho
        H += np.outer(s, a * s - rho * Hy)
        H -= rho * np.outer(Hy, s)
        self.state["updates"] += 1

    def _check_memory(self, x):
        needed = x.size * x.size * x.dtype.itemsize
        limit = self.max_memory if self.max_memory is not None else default_memory_limit()
        if needed > limit:
            raise ValueError(
                f"BFGS needs a dense {x.size} x {x.size} {x.dtype} inverse-Hessian matrix: "
                f"{_human(needed)}, more than the {_human(limit)} allowed (max_memory). "
                "Use LBFGS for a problem of this size."
            )


def default_memory_limit():
    """A quarter of the physical memory, or 2 GiB where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 2 * 2**30


def _human(n_bytes):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n_bytes < 1024 or unit == "GiB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.1f} TiB"
