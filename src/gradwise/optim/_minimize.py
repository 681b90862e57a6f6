"""``minimize(f, x, method=...)``: run a full-batch optimizer to convergence, SciPy style."""

import inspect
import math
from dataclasses import dataclass, field

import numpy as np

from .._validate import choice, count
from ..calculus.hessian import hessian_operator
from ..errors import DivergenceError
from . import registry

#: Names ``minimize`` knows beyond the registry's full-batch methods: name -> (registry
#: name, options it forces).
ALIASES = {"newton-cg": ("newton", {"solver": "cg"})}


def methods():
    """The names ``minimize(method=...)`` takes: every registered full-batch method (with its
    registry defaults, e.g. L-BFGS's strong Wolfe line search), and :data:`ALIASES`. The
    brute-force searches are full batch too but have no gradient to converge on."""
    found = (registry.spec(n) for n in registry.names())
    return (*(s.name for s in found if s.is_full_batch and not s.is_loss_only), *ALIASES)


def _build(method, **options):
    name, forced = ALIASES.get(method, (method, {}))
    found = registry.spec(name)
    if "hessian" in inspect.signature(found.factory).parameters and options.get("hessian") is None:
        # Built from f itself: finite-difference products stay out of the evaluation count
        # and out of the best-point bookkeeping.
        options["hessian"] = hessian_operator(options.pop("_f"))
    options.pop("_f", None)
    return registry.make(name, options.pop("lr", None), {**options, **forced})


@dataclass
class MinimizeResult:
    """What :func:`minimize` found (the fields SciPy's ``OptimizeResult`` users expect).

    ``x``, ``fun`` and ``grad`` describe the best point evaluated (a copy);
    ``grad_norm`` is ``max|grad|``; ``nit`` counts iterations, ``nfev`` evaluations of
    ``f`` (Hessian products of a finite-difference Hessian not included); ``converged``
    says whether a convergence test stopped the run and ``message`` which test (or which
    limit) did. ``history`` holds ``fun`` and ``grad_norm`` after each iteration.
    """

    x: np.ndarray
    fun: float
    grad: np.ndarray
    grad_norm: float
    nit: int
    nfev: int
    converged: bool
    message: str
    method: str
    history: dict = field(default_factory=lambda: {"fun": [], "grad_norm": []})

    @property
    def success(self):
        """SciPy's name for ``converged``."""
        return self.converged

    @property
    def jac(self):
        """SciPy's name for ``grad``."""
        return self.grad


class _Tracked:
    """``f`` that counts its calls and remembers the lowest point it has seen."""

    def __init__(self, f):
        self.f = f
        self.evaluations = 0
        self.best_loss = math.inf
        self.best_x = self.best_grad = None
        self.last_x = None

    def __call__(self, x):
        loss, grad = self.f(x)
        loss = float(loss)
        self.evaluations += 1
        if self.evaluations == 1 and not (math.isfinite(loss) and np.isfinite(grad).all()):
            what = "loss" if not math.isfinite(loss) else "gradient"
            raise DivergenceError(
                f"the {what} is not finite at the starting point (loss={loss}); "
                "check the data, the labels and the initial parameters"
            )
        if self.last_x is None:
            self.last_x = np.array(x, copy=True)
        else:
            self.last_x[...] = x
        if loss < self.best_loss:
            self.best_loss = loss
            self.best_x = np.array(x, copy=True)
            self.best_grad = np.array(grad, copy=True)
        return loss, grad


def minimize(
    f,
    x,
    method="lbfgs",
    *,
    max_iter=1000,
    max_eval=None,
    tolerance_grad=1e-7,
    tolerance_change=1e-9,
    callback=None,
    **options,
):
    """Minimise ``f(x) -> (loss, grad)`` from ``x`` with a full-batch method.

    ``method``: any full-batch name of :mod:`gradwise.optim.registry`, with its registry
    defaults: ``"lbfgs"`` (:class:`LBFGS` with the strong Wolfe line search unless
    ``line_search_fn`` says otherwise), ``"bfgs"`` (:class:`BFGS`), ``"newton"``
    (:class:`Newton`, dense Cholesky for small exact Hessians, CG otherwise); or
    ``"newton-cg"`` (:class:`Newton` with ``solver="cg"``). ``options`` go to the method's
    constructor (``history_size``, ``line_search_fn``, ``lr``, ``hessian``, ...).

    Stops at ``max_iter`` iterations, ``max_eval`` evaluations (default ``2 * max_iter``)
    or when a tolerance test of the method holds. ``x`` is updated in place to the best
    point seen (so passing an objective's own vector ``f.x`` leaves the model trained)
    and the returned :class:`MinimizeResult` holds a copy. ``callback(x, loss, grad)``
    runs after every iteration. A non-finite loss or gradient at the start raises
    :class:`~gradwise.DivergenceError`.
    """
    choice("method", method, methods())
    max_iter = count("max_iter", max_iter)
    max_eval = 2 * max_iter if max_eval is None else count("max_eval", max_eval)
    if not isinstance(x, np.ndarray) or x.ndim != 1 or x.dtype.kind != "f":
        raise TypeError("x must be a 1-D float NumPy array (the flat parameter vector)")

    history = {"fun": [], "grad_norm": []}

    def record(x_now, loss, grad):
        history["fun"].append(float(loss))
        history["grad_norm"].append(float(np.abs(grad).max()))
        if callback is not None:
            callback(x_now, loss, grad)

    optimizer = _build(
        method,
        _f=f,
        max_iter=max_iter,
        max_eval=max_eval,
        tolerance_grad=tolerance_grad,
        tolerance_change=tolerance_change,
        callback=record,
        **options,
    )
    tracked = _Tracked(f)
    optimizer.step(tracked, x)

    # LBFGS without a line search does not evaluate its very last iterate.
    if not np.array_equal(tracked.last_x, x) and tracked.evaluations < max_eval:
        tracked(x)
    x[...] = tracked.best_x
    return MinimizeResult(
        x=tracked.best_x.copy(),
        fun=tracked.best_loss,
        grad=tracked.best_grad,
        grad_norm=float(np.abs(tracked.best_grad).max()),
        nit=optimizer.state["n_iter"],
        nfev=tracked.evaluations,
        converged=optimizer.converged,
        message=optimizer.stop_reason,
        method=method,
        history=history,
    )
