"""The descent loop that L-BFGS, BFGS and Newton share: ``x <- x + t d``, with ``d`` from
the method, ``t`` from a line search, and PyTorch's LBFGS stopping rules.

A method is a :class:`DescentMethod` that supplies three hooks:

- ``direction(f, x, loss, grad) -> d``, a descent direction at ``x``;
- ``initial_step(grad) -> t``, the first trial step (default: PyTorch's
  ``min(1, 1 / ||g||_1) * lr`` at the very first iteration, ``lr`` after);
- ``update(s, y)``, the curvature pair ``s = t d``, ``y = g_new - g`` of the last move.

This is ``torch.optim.LBFGS.step`` with the L-BFGS parts taken out, so :class:`LBFGS`
keeps PyTorch's iterates and evaluation counts exactly.
"""

import math

import numpy as np

from .._memory import default_memory_limit, human_bytes
from .._validate import count, non_negative
from .base import Optimizer
from .line_search import as_line_search


class DescentMethod(Optimizer):
    """One ``step(f, x)`` runs up to ``max_iter`` iterations and about ``max_eval``
    evaluations of ``f`` (default ``1.25 * max_iter``), updates ``x`` in place and returns
    the loss at the starting point, as ``torch.optim.LBFGS.step(closure)`` does.

    Iteration k:

    1. form the pair ``s = t d``, ``y = g - g_prev`` of the previous move (perhaps made by
       the previous step) and pass it to ``update``;
    2. ``d = direction(f, x, loss, grad)``; stop if ``g'd > -tolerance_change``;
    3. ``t = initial_step(grad)``, then ``line_search_fn``: ``None`` takes ``t`` as is
       (and, as PyTorch, leaves a step's last point for the next step to evaluate), a name
       (``"strong_wolfe"``, ``"backtracking"``) or a callable
       ``search(f, x, d, loss, grad, step, max_evals) -> LineSearchResult`` searches from
       it (see :mod:`gradwise.optim.line_search`);
    4. ``x <- x + t d``; ``callback(x, loss, grad)`` if the new point was evaluated;
    5. the stopping rules below.

    A step stops (``stop_reason`` says why) with ``converged`` true when
    ``max|g| <= tolerance_grad``, ``g'd > -tolerance_change``, ``max|t d| <=
    tolerance_change`` or ``|loss change| < tolerance_change``, and with ``converged``
    false when the line search finds no lower point, the loss is not finite, or
    ``max_iter`` or ``max_eval`` is reached (PyTorch's count: the last line search may use
    one evaluation past ``max_eval``). State persists across steps in ``self.state``.
    """

    #: Line searches and curvature pairs compare evaluations of one objective: no minibatches.
    full_batch = True

    def __init__(
        self,
        lr=1,
        *,
        max_iter=20,
        max_eval=None,
        tolerance_grad=1e-7,
        tolerance_change=1e-9,
        line_search_fn=None,
        callback=None,
    ):
        super().__init__()
        self.lr = non_negative("lr", lr)  # PyTorch accepts lr = 0
        self.max_iter = count("max_iter", max_iter)
        self.max_eval = self.max_iter * 5 // 4 if max_eval is None else count("max_eval", max_eval)
        self.tolerance_grad = non_negative("tolerance_grad", tolerance_grad)
        self.tolerance_change = non_negative("tolerance_change", tolerance_change)
        as_line_search(line_search_fn)  # refuse an unknown name now, not at the first step
        self.line_search_fn = line_search_fn
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        self.callback = callback
        self.stop_reason, self.converged = "", False
        self.state.update(func_evals=0, n_iter=0)

    # -- hooks ------------------------------------------------------------------------------

    def direction(self, f, x, loss, grad):
        """A descent direction ``d`` at ``x`` (``g'd < 0``); ``x`` must be left as it is."""
        raise NotImplementedError

    def initial_step(self, grad):
        lr = self.hyper("lr")
        if self.state["n_iter"] == 1:
            # The first direction is -g, of unknown scale: move an L1 distance of at most lr.
            return min(1.0, 1.0 / float(np.abs(grad).sum())) * lr
        return lr

    def update(self, s, y):
        """The curvature pair of the last move, before the next direction is computed."""

    # -- the loop ---------------------------------------------------------------------------

    def step(self, f, x):
        self.check_parameters(x)
        if x.ndim != 1:
            raise ValueError(
                f"{type(self).__name__}: x must be a 1-D vector (a model's flat parameters), "
                f"got shape {x.shape}"
            )
        state = self.state
        search = as_line_search(self.line_search_fn)
        loss, grad = self.evaluate(f, x)
        orig_loss, evals = loss, 1
        state["func_evals"] += 1
        grad = np.array(grad, copy=True)  # f may overwrite its gradient buffer
        if float(np.abs(grad).max()) <= self.tolerance_grad:
            self._stop("gradient below tolerance_grad", True)
            return orig_loss

        # The previous move (t, d) and the gradient it started from, kept across steps: its
        # curvature pair needs the gradient at its end, which this step has just evaluated.
        d, t = state.get("d"), state.get("t")
        prev_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        for n_iter in range(1, self.max_iter + 1):
            state["n_iter"] += 1

            # 1-2. Curvature pair of the previous move, then the new direction.
            if state["n_iter"] > 1 and d is not None and d.shape == grad.shape:
                self.update(d * t, grad - prev_grad)
            d = self.direction(f, x, loss, grad)
            if prev_grad is None or prev_grad.shape != grad.shape:
                prev_grad = grad.copy()
            else:
                prev_grad[...] = grad
            prev_loss = loss
            t = self.initial_step(grad)
            if float(grad @ d) > -self.tolerance_change:
                self._stop("directional derivative above -tolerance_change", True)
                break

            # 3-4. Move along d.
            if search is None:
                x += t * d
                used, failure = 0, None
                # PyTorch: a step's last point is evaluated by the next step, not twice.
                if n_iter != self.max_iter:
                    loss, grad = f(x)
                    loss, grad, used = float(loss), np.array(grad, copy=True), 1
            else:
                # torch's budget: the search's first trial is not counted against max_eval.
                result = search(f, x, d, loss, grad, step=t, max_evals=self.max_eval - evals + 1)
                x[...] = result.x
                loss, grad, t, used = result.loss, result.grad, result.step, result.evaluations
                failure = None if result.success else result.message
            evals += used
            state["func_evals"] += used
            if used and self.callback is not None:
                self.callback(x, loss, grad)

            # 5. Stopping rules: PyTorch's, with convergence named first (a run that
            #    converges on its last allowed iteration says so). A point left unevaluated
            #    (the last fixed step) is judged by the next step.
            if used and float(np.abs(grad).max()) <= self.tolerance_grad:
                stop = "gradient below tolerance_grad", True
            elif float(np.abs(t * d).max()) <= self.tolerance_change:
                if t == 0 and failure is not None:
                    stop = f"line search found no lower point: {failure}", False
                else:
                    stop = "step below tolerance_change", True
            elif used and abs(loss - prev_loss) < self.tolerance_change:
                stop = "loss change below tolerance_change", True
            elif not math.isfinite(loss):
                stop = "loss is not finite", False
            elif n_iter == self.max_iter:
                stop = "max_iter reached", False
            elif evals >= self.max_eval:
                stop = "max_eval reached", False
            else:
                continue
            self._stop(*stop)
            break

        state.update(d=d, t=t, prev_flat_grad=prev_grad, prev_loss=prev_loss)
        state["step"] += 1
        return orig_loss

    def _stop(self, reason, converged):
        self.stop_reason, self.converged = reason, converged


def check_dense_matrix(method, n, dtype, limit, budget, advice):
    """Raise ``ValueError`` (one line naming the size) if an ``n x n`` matrix of ``dtype``
    needs more than ``limit`` bytes (``None``: :func:`gradwise._memory.default_memory_limit`).

    ``budget`` says where the limit comes from, ``advice`` what to use instead.
    """
    dtype = np.dtype(dtype)
    needed = n * n * dtype.itemsize
    limit = default_memory_limit() if limit is None else limit
    if needed > limit:
        raise ValueError(
            f"{method} on {n} parameters keeps a dense {n} x {n} {dtype} matrix "
            f"({human_bytes(needed)}), over the {human_bytes(limit)} memory budget ({budget}): "
            f"{advice}"
        )
