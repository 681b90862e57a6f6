"""BFGS with a dense inverse-Hessian approximation, for problems small enough to hold it."""

import numpy as np

from .._memory import default_memory_limit
from .._validate import positive
from .descent import DescentMethod, check_dense_matrix

__all__ = ["BFGS", "default_memory_limit"]

# Pairs with s'y at or below this are skipped: the update would not stay positive definite.
CURVATURE_EPS = 1e-10


class BFGS(DescentMethod):
    """Broyden-Fletcher-Goldfarb-Shanno with the full ``n x n`` inverse Hessian ``H``.

    ``BFGS(lr=1, line_search_fn="strong_wolfe", max_memory=None, **rules)``, ``rules``
    being ``max_iter``, ``max_eval``, the tolerances and ``callback`` of
    :class:`~gradwise.optim.descent.DescentMethod`, whose loop it runs with

    - direction ``d = -H g``;
    - after a move ``s = t d``, ``y = g_new - g``, ``rho = 1 / s'y``:

        H <- (I - rho s y') H (I - rho y s') + rho s s'

      (Nocedal & Wright eq. 6.17), skipped when ``s'y <= 1e-10``. ``H_0 = I``, rescaled
      to ``(s'y / y'y) I`` just before the first update (eq. 6.20);
    - the first step ``min(1, 1 / ||g||_1) * lr`` as in :class:`LBFGS`, later ones ``lr``.

    The strong Wolfe line search (default) keeps ``s'y > 0``. ``H`` persists in
    ``state["inverse_hessian"]``. It takes ``n * n`` floats (``n`` = number of
    parameters): :meth:`check_size`, also called by the first step, refuses a problem whose
    ``H`` needs more than ``max_memory`` bytes (default: a quarter of the machine's RAM,
    or 2 GiB if unknown). Use :class:`LBFGS` for larger problems.
    """

    def __init__(self, lr=1, *, line_search_fn="strong_wolfe", max_memory=None, **rules):
        super().__init__(positive("lr", lr), line_search_fn=line_search_fn, **rules)
        if max_memory is not None and (isinstance(max_memory, bool) or not max_memory > 0):
            raise ValueError(f"max_memory must be a number of bytes > 0, got {max_memory!r}")
        self.max_memory = max_memory

    def check_size(self, n_parameters, dtype=np.float64):
        """``ValueError`` (one line naming the size) if the ``n x n`` inverse Hessian of
        ``n_parameters`` floats of ``dtype`` exceeds the memory budget."""
        check_dense_matrix(
            "BFGS",
            n_parameters,
            dtype,
            self.max_memory,
            "max_memory",
            "use LBFGS, or Newton with solver='cg'",
        )

    def direction(self, f, x, loss, grad):
        H = self.state.get("inverse_hessian")
        if H is None or H.shape != (x.size, x.size) or H.dtype != x.dtype:
            self.check_size(x.size, x.dtype)
            H = np.eye(x.size, dtype=x.dtype)
            self.state["inverse_hessian"] = H
            self.state["updates"] = 0
        return -(H @ grad)

    def update(self, s, y):
        sy = float(s @ y)
        H = self.state.get("inverse_hessian")
        if sy <= CURVATURE_EPS or H is None or H.shape != (s.size, s.size):
            return
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
