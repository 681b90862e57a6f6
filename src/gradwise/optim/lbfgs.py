"""L-BFGS: limited-memory BFGS for full-batch, deterministic objectives.

Follows ``torch.optim.LBFGS`` (itself a port of torch7's ``optim.lbfgs`` and minFunc),
keyword for keyword and iterate for iterate.
"""

import math

import numpy as np

from .._validate import choice, count, non_negative
from .base import Optimizer
from .line_search import set_stopping_rules, strong_wolfe

LINE_SEARCHES = (None, "strong_wolfe")

# Curvature pairs with s'y at or below this are skipped (torch's threshold).
CURVATURE_EPS = 1e-10


class LBFGS(Optimizer):
    """Limited-memory BFGS with an optional strong Wolfe line search.

    One ``step(f, x)`` runs up to ``max_iter`` iterations (and at most about ``max_eval``
    evaluations of ``f``), updates ``x`` in place and returns the loss at the starting
    point, as ``torch.optim.LBFGS.step(closure)`` does. Iteration k:

    - direction ``d = -H g`` by the two-loop recursion over the last ``history_size``
      pairs ``s_i = x_{i+1} - x_i``, ``y_i = g_{i+1} - g_i`` (pairs with ``s'y <= 1e-10``
      are skipped), starting from ``H_0 = gamma I`` with ``gamma = s'y / y'y`` of the
      newest pair (``d = -g`` at the very first iteration);
    - step ``t``: ``min(1, 1 / ||g||_1) * lr`` at the very first iteration, ``lr`` after;
      with ``line_search_fn="strong_wolfe"`` that is the first trial of
      :func:`~gradwise.optim.line_search.strong_wolfe` (``c1=1e-4, c2=0.9``), with
      ``None`` it is taken as is;
    - ``x <- x + t d``.

    A step stops early when ``max|g| <= tolerance_grad``, when ``g'd > -tolerance_change``,
    when ``max|t d| <= tolerance_change`` or ``|loss change| < tolerance_change``, when the
    line search finds no lower point, or when the evaluation budget ``max_eval`` (default
    ``1.25 * max_iter``) is spent. ``stop_reason`` then says which; ``converged`` is true
    for the first four.
    The curvature history persists across steps (in ``state``), as in PyTorch.
    ``callback(x, loss, grad)``, if given, runs after every iteration whose new point was
    evaluated (all of them with the line search; without it, all but a step's last).
    """

    def __init__(
        self,
        lr=1,
        max_iter=20,
        max_eval=None,
        tolerance_grad=1e-7,
        tolerance_change=1e-9,
        history_size=100,
        line_search_fn=None,
        callback=None,
    ):
        super().__init__()
        self.lr = non_negative("lr", lr)  # PyTorch accepts lr = 0
        self.history_size = count("history_size", history_size)
        self.line_search_fn = choice("line_search_fn", line_search_fn, LINE_SEARCHES)
        set_stopping_rules(self, max_iter, max_eval, tolerance_grad, tolerance_change, callback)
        self.converged = False
        self.state.update(func_evals=0, n_iter=0)

    def step(self, f, x):
        state = self.state
        lr = self.hyper("lr")
        loss, grad = self.evaluate(f, x)
        orig_loss = loss
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = np.array(grad, copy=True)
        if float(np.abs(flat_grad).max()) <= self.tolerance_grad:
            self._stop("gradient below tolerance_grad", converged=True)
            return orig_loss

        history = _History.from_state(state, x, self.history_size)
        d, t = state.get("d"), state.get("t")
        prev_flat_grad = state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < self.max_iter:
            n_iter += 1
            state["n_iter"] += 1

            if state["n_iter"] == 1:
                d = -flat_grad
                history.clear()
            else:
                history.push(s=d * t, y=flat_grad - prev_flat_grad)
                d = history.direction(flat_grad)

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr
            else:
                t = lr

            gtd = float(flat_grad @ d)
            if gtd > -self.tolerance_change:
                self._stop("directional derivative above -tolerance_change", converged=True)
                break

            if self.line_search_fn == "strong_wolfe":
                result = strong_wolfe(
                    f, x, d, loss, flat_grad, step=t, max_ls=self.max_eval - current_evals
                )
                loss, flat_grad, t = result.loss, result.grad, result.step
                x[...] = result.x
                evals = result.evaluations
                optimal = float(np.abs(flat_grad).max()) <= self.tolerance_grad
            else:
                x += t * d
                evals, optimal = 0, False
                # The last iteration does not evaluate: the next step starts by doing so.
                if n_iter != self.max_iter:
                    loss, grad = f(x)
                    loss = float(loss)
                    flat_grad = np.array(grad, copy=True)
                    optimal = float(np.abs(flat_grad).max()) <= self.tolerance_grad
                    evals = 1

            current_evals += evals
            state["func_evals"] += evals
            if self.callback is not None and evals:
                self.callback(x, loss, flat_grad)

            if n_iter == self.max_iter:
                self._stop("max_iter reached", converged=False)
                break
            if current_evals >= self.max_eval:
                self._stop("max_eval reached", converged=False)
                break
            if optimal:
                self._stop("gradient below tolerance_grad", converged=True)
                break
            if float(np.abs(d * t).max()) <= self.tolerance_change:
                if self.line_search_fn is not None and t == 0:
                    self._stop(f"line search found no lower point: {result.message}", False)
                else:
                    self._stop("step below tolerance_change", converged=True)
                break
            if abs(loss - prev_loss) < self.tolerance_change:
                self._stop("loss change below tolerance_change", converged=True)
                break
            if not math.isfinite(loss):
                self._stop("loss is not finite", converged=False)
                break

        state.update(d=d, t=t, prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        history.to_state(state)
        state["step"] += 1
        return orig_loss

    def _stop(self, reason, converged):
        self.stop_reason, self.converged = reason, converged


class _History:
    """The last ``size`` curvature pairs, as rows of two ring buffers ``s`` and ``y``.

    Arrays, not lists, so that ``state_dict`` copies them like any other state. They grow
    by doubling up to ``size`` rows, so a short run of a large model does not reserve the
    whole history.
    """

    def __init__(self, s, y, rho, start, count, size):
        self.s, self.y, self.rho = s, y, rho
        self.start, self.count, self.size = start, count, size
        self.gamma = 1.0

    @classmethod
    def from_state(cls, state, like, size):
        s = state.get("old_stps")
        if s is None or s.shape[1:] != (like.size,) or s.dtype != like.dtype or len(s) > size:
            s = np.zeros((min(size, 8), like.size), dtype=like.dtype)
            history = cls(s, np.zeros_like(s), np.zeros(len(s)), 0, 0, size)
        else:
            start, count = int(state["history_start"]), int(state["history_len"])
            history = cls(s, state["old_dirs"], state["ro"], start, count, size)
        history.gamma = float(state.get("H_diag", 1.0))
        return history

    def to_state(self, state):
        state.update(
            old_stps=self.s,
            old_dirs=self.y,
            ro=self.rho,
            history_start=self.start,
            history_len=self.count,
            H_diag=self.gamma,
        )

    def clear(self):
        self.start = self.count = 0
        self.gamma = 1.0

    def push(self, s, y):
        """Store the pair unless ``s'y <= 1e-10``; then ``gamma = s'y / y'y``."""
        ys = float(y @ s)
        if ys <= CURVATURE_EPS:
            return
        if self.count == len(self.rho) < self.size:
            self._grow()
        capacity = len(self.rho)
        if self.count == capacity:
            slot = self.start
            self.start = (self.start + 1) % capacity
        else:
            slot = (self.start + self.count) % capacity
            self.count += 1
        self.s[slot], self.y[slot], self.rho[slot] = s, y, 1.0 / ys
        self.gamma = ys / float(y @ y)

    def _grow(self):
        order = self._order()
        capacity = min(self.size, 2 * len(self.rho))
        s = np.zeros((capacity, self.s.shape[1]), dtype=self.s.dtype)
        y = np.zeros_like(s)
        rho = np.zeros(capacity)
        s[: self.count], y[: self.count], rho[: self.count] = (
            self.s[order],
            self.y[order],
            self.rho[order],
        )
        self.s, self.y, self.rho, self.start = s, y, rho, 0

    def _order(self):
        """Row indices from the oldest pair to the newest."""
        capacity = len(self.rho)
        return [(self.start + k) % capacity for k in range(self.count)]

    def direction(self, grad):
        """``-H grad`` by the two-loop recursion (Nocedal & Wright, Algorithm 7.4)."""
        order = self._order()
        alpha = {}
        q = -grad
        for i in reversed(order):
            alpha[i] = float(self.s[i] @ q) * self.rho[i]
            q -= alpha[i] * self.y[i]
        r = q * self.gamma
        for i in order:
            beta = float(self.y[i] @ r) * self.rho[i]
            r += (alpha[i] - beta) * self.s[i]
        return r
