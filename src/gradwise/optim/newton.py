"""Newton's method: ``x <- x - t H^{-1} g`` with the exact (or finite-difference) Hessian.

The lecture's update ``theta* = theta_0 - H^{-1} grad J(theta_0)`` with a line search
around it, for smooth objectives only (softmax + L2; not the hinge loss or L1).
"""

import math

import numpy as np

from .._validate import choice, count, positive
from ..calculus.hessian import HessianOperator, hessian_operator
from .descent import DescentMethod, check_dense_matrix

SOLVERS = ("auto", "cholesky", "cg")


class Newton(DescentMethod):
    """Newton's method with a line search, solving ``H d = -g`` directly or by CG.

    ``Newton(lr=1, solver="auto", hessian=None, dense_max=1000, cg_max_iter=None,
    line_search_fn="backtracking", **rules)``:

    - ``solver="cholesky"``: build the dense ``H`` and factor ``H + tau I`` with
      ``tau = 0`` when ``H`` is positive definite, else the smallest ``tau`` of a growing
      sequence that makes it so (see :func:`damped_newton_direction`), so ``d`` is always
      a descent direction. The ``tau`` used is in ``state["damping"]``.
    - ``solver="cg"`` (Newton-CG, Hessian-free): conjugate gradient on ``H d = -g`` using
      only products ``H v``, stopped when ``||H d + g|| <= min(0.5, sqrt||g||) ||g||``
      (superlinear convergence), after ``cg_max_iter`` products, or at the first direction
      of non-positive curvature (Nocedal & Wright, Algorithm 7.1). The products used are in
      ``state["cg_iterations"]``.
    - ``solver="auto"``: ``"cholesky"`` when the Hessian is exact and ``n <= dense_max``,
      else ``"cg"``.

    ``hessian`` is ``None`` (exact for a linear softmax :class:`~gradwise.Objective` with an
    L2 penalty, central finite differences of ``f``'s gradient otherwise; see
    :func:`gradwise.calculus.hessian.hessian_operator`), a
    :class:`~gradwise.calculus.hessian.HessianOperator`, or a function ``hvp(x, v) -> H v``.
    The step starts at ``t = lr`` (1: the pure Newton step) and is shortened by Armijo
    backtracking by default. ``rules`` are ``max_iter``, ``max_eval``, the tolerances and
    ``callback`` of :class:`~gradwise.optim.descent.DescentMethod`, whose loop it runs.
    """

    def __init__(
        self,
        lr=1,
        *,
        solver="auto",
        hessian=None,
        dense_max=1000,
        cg_max_iter=None,
        line_search_fn="backtracking",
        **rules,
    ):
        super().__init__(positive("lr", lr), line_search_fn=line_search_fn, **rules)
        self.solver = choice("solver", solver, SOLVERS)
        if hessian is not None and not (isinstance(hessian, HessianOperator) or callable(hessian)):
            raise TypeError("hessian must be None, a HessianOperator or a function hvp(x, v)")
        self.hessian = hessian
        self.dense_max = count("dense_max", dense_max)
        self.cg_max_iter = None if cg_max_iter is None else count("cg_max_iter", cg_max_iter)
        self._operator_for = (None, None)

    def check_size(self, n_parameters, dtype=np.float64):
        """``ValueError`` (one line naming the size) if the solver would build a dense
        ``n x n`` Hessian over the memory budget; Newton-CG keeps no matrix."""
        # Before f is known, hessian=None may turn out exact (softmax + L2): assume it is.
        exact = self.hessian is None or getattr(self.hessian, "exact", False)
        if self._solver(n_parameters, exact) == "cholesky":
            check_dense_matrix(
                "Newton with solver='cholesky'",
                n_parameters,
                np.float64,  # the factorisation is computed in float64 whatever x is
                None,
                "a quarter of this machine's memory",
                "use solver='cg', or LBFGS",
            )

    def initial_step(self, grad):
        return self.hyper("lr")

    def direction(self, f, x, loss, grad):
        # A finite-difference Hessian evaluates f elsewhere, and f may write its argument
        # into x (the model's own vector): put x back afterwards.
        start = x.copy()
        op = self._operator(f, x)
        op.update(x, grad)
        if self._solver(op.n, op.exact) == "cholesky":
            self.check_size(op.n)
            d, tau = damped_newton_direction(op.dense(), grad)
            self.state["damping"] = tau
            d = d.astype(x.dtype, copy=False)
        else:
            max_iter = self.cg_max_iter or min(op.n, 250)
            d, used = newton_cg_direction(op.matvec, grad, max_iter)
            self.state["cg_iterations"] = self.state.get("cg_iterations", 0) + used
        x[...] = start
        return d

    def _solver(self, n, exact):
        if self.solver != "auto":
            return self.solver
        return "cholesky" if exact and n <= self.dense_max else "cg"

    def _operator(self, f, x):
        if isinstance(self.hessian, HessianOperator):
            return self.hessian
        if self._operator_for[0] is not f:
            if self.hessian is None:
                op = hessian_operator(f)
            else:
                op = _FunctionHessian(self.hessian, x.size)
            self._operator_for = (f, op)
        return self._operator_for[1]


class _FunctionHessian(HessianOperator):
    """Wraps a user function ``hvp(x, v) -> H v``."""

    def __init__(self, hvp, n):
        super().__init__(n)
        self.hvp = hvp
        self._x = None

    def update(self, x, grad=None):
        self._x = np.array(x, copy=True)
        return self

    def matvec(self, v):
        return np.asarray(self.hvp(self._x, v))


def damped_newton_direction(H, grad, beta_scale=1e-3, tiny_scale=1e-10, max_tries=40):
    """Solve ``(H + tau I) d = -g`` with ``H + tau I`` positive definite. Returns ``(d, tau)``.

    ``tau = 0`` when the Cholesky factorisation of ``H`` succeeds. Otherwise ``tau`` starts
    at ``beta - min(diag H)`` if the diagonal has a non-positive entry (Nocedal & Wright,
    Algorithm 3.3, ``beta = 1e-3 max|diag H|``), else at ``1e-10 max|diag H|`` (enough for
    a semi-definite ``H``, e.g. softmax's Hessian along the all-classes-equal bias
    direction), and grows tenfold until the factorisation succeeds.
    """
    H = np.asarray(H, dtype=np.float64)
    g = np.asarray(grad, dtype=np.float64)
    diagonal = np.diag(H)
    scale = max(float(np.abs(diagonal).max()), np.finfo(float).tiny)
    tau = 0.0 if diagonal.min() > 0 else beta_scale * scale - float(diagonal.min())
    eye = np.eye(len(H))
    for _ in range(max_tries):
        try:
            L = np.linalg.cholesky(H + tau * eye if tau else H)
        except np.linalg.LinAlgError:
            tau = max(10 * tau, tiny_scale * scale)
            continue
        # Two triangular solves with the factor: L z = -g, L^T d = z.
        z = np.linalg.solve(L, -g)
        return np.linalg.solve(L.T, z), tau
    raise ValueError("the Hessian could not be made positive definite (non-finite entries?)")


def newton_cg_direction(hvp, grad, max_iter):
    """Approximately solve ``H d = -g`` by conjugate gradient (Newton-CG's inner loop).

    Returns ``(d, products_used)``. Stops at relative residual ``min(0.5, sqrt||g||)``,
    after ``max_iter`` products, or on non-positive curvature ``p'Hp <= 0`` (returning the
    iterate so far, or ``-g`` if that happens at once): ``d`` is always a descent direction.
    """
    g_norm = float(np.linalg.norm(grad))
    tolerance = min(0.5, math.sqrt(g_norm)) * g_norm
    d = np.zeros_like(grad)
    r = np.array(grad, copy=True)  # residual H d + g
    p = -r
    rr = float(r @ r)
    for j in range(max_iter):
        Hp = hvp(p)
        curvature = float(p @ Hp)
        if curvature <= 0:
            return (-np.array(grad, copy=True) if j == 0 else d), j + 1
        alpha = rr / curvature
        d += alpha * p
        r += alpha * Hp
        rr_new = float(r @ r)
        if math.sqrt(rr_new) <= tolerance:
            return d, j + 1
        p *= rr_new / rr
        p -= r
        rr = rr_new
    return d, max_iter
