"""L-BFGS: limited-memory BFGS for full-batch, deterministic objectives.

Follows ``torch.optim.LBFGS`` (itself a port of torch7's ``optim.lbfgs`` and minFunc),
keyword for keyword and iterate for iterate.
"""

import numpy as np

from .._validate import count
from .descent import DescentMethod

# Curvature pairs with s'y at or below this are skipped (torch's threshold).
CURVATURE_EPS = 1e-10


class LBFGS(DescentMethod):
    """Limited-memory BFGS with an optional strong Wolfe line search.

    ``LBFGS(lr=1, history_size=100, line_search_fn=None, max_iter=20, max_eval=None,
    tolerance_grad=1e-7, tolerance_change=1e-9, callback=None)``: PyTorch's keywords and
    defaults. One ``step(f, x)`` is one ``torch.optim.LBFGS.step(closure)``: the loop,
    stopping rules and evaluation count of :class:`~gradwise.optim.descent.DescentMethod`,
    with

    - direction ``d = -H g`` by the two-loop recursion over the last ``history_size``
      pairs ``s_i = x_{i+1} - x_i``, ``y_i = g_{i+1} - g_i`` (pairs with ``s'y <= 1e-10``
      are skipped), starting from ``H_0 = gamma I`` with ``gamma = s'y / y'y`` of the
      newest pair (``d = -g`` at the very first iteration);
    - first trial step ``min(1, 1 / ||g||_1) * lr`` at the very first iteration, ``lr``
      after; ``line_search_fn="strong_wolfe"`` searches from it
      (:func:`~gradwise.optim.line_search.strong_wolfe`, ``c1=1e-4, c2=0.9``), ``None``
      takes it as is, and any line search callable may be given.

    The curvature history persists across steps (in ``state``), as in PyTorch.
    ``callback(x, loss, grad)``, if given, runs after every iteration whose new point was
    evaluated (all of them with the line search; without it, all but a step's last).
    """

    def __init__(self, lr=1, *, history_size=100, line_search_fn=None, **rules):
        super().__init__(lr, line_search_fn=line_search_fn, **rules)
        self.history_size = count("history_size", history_size)

    def direction(self, f, x, loss, grad):
        history = _History(self.state, grad, self.history_size)
        if self.state["n_iter"] == 1:
            history.clear()  # PyTorch: a fresh start forgets loaded pairs
        return history.direction(grad)

    def update(self, s, y):
        _History(self.state, s, self.history_size).push(s, y)


class _History:
    """The last ``size`` curvature pairs, kept in ``state`` under PyTorch's names.

    Rows of two ring buffers ``old_stps`` (the ``s``) and ``old_dirs`` (the ``y``), with
    ``ro = 1 / s'y``, ``history_start`` (oldest row), ``history_len`` and ``H_diag``
    (``gamma``). Arrays, not lists, so that ``state_dict`` copies them like any other
    state. They grow by doubling up to ``size`` rows, so a short run of a large model does
    not reserve the whole history.
    """

    def __init__(self, state, like, size):
        self.state, self.size = state, size
        s = state.get("old_stps")
        if s is None or s.shape[1:] != (like.size,) or s.dtype != like.dtype or len(s) > size:
            s = np.zeros((min(size, 8), like.size), dtype=like.dtype)
            state.update(old_stps=s, old_dirs=np.zeros_like(s), ro=np.zeros(len(s)))
            self.clear()

    def clear(self):
        self.state.update(history_start=0, history_len=0, H_diag=1.0)

    def push(self, s, y):
        """Store the pair unless ``s'y <= 1e-10``; then ``gamma = s'y / y'y``."""
        ys = float(y @ s)
        if ys <= CURVATURE_EPS:
            return
        state = self.state
        if state["history_len"] == len(state["ro"]) < self.size:
            self._grow()
        start, count, capacity = state["history_start"], state["history_len"], len(state["ro"])
        if count == capacity:  # full: overwrite the oldest
            slot = start
            state["history_start"] = (start + 1) % capacity
        else:
            slot = (start + count) % capacity
            state["history_len"] = count + 1
        state["old_stps"][slot], state["old_dirs"][slot], state["ro"][slot] = s, y, 1.0 / ys
        state["H_diag"] = ys / float(y @ y)

    def _grow(self):
        state, order = self.state, self._order()
        capacity = min(self.size, 2 * len(state["ro"]))
        for name in ("old_stps", "old_dirs", "ro"):
            old = state[name]
            state[name] = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            state[name][: len(order)] = old[order]
        state["history_start"] = 0

    def _order(self):
        """Row indices from the oldest pair to the newest."""
        start, capacity = int(self.state["history_start"]), len(self.state["ro"])
        return [(start + k) % capacity for k in range(int(self.state["history_len"]))]

    def direction(self, grad):
        """``-H grad`` by the two-loop recursion (Nocedal & Wright, Algorithm 7.4)."""
        s, y, rho = self.state["old_stps"], self.state["old_dirs"], self.state["ro"]
        order = self._order()
        alpha = {}
        q = -grad
        for i in reversed(order):
            alpha[i] = float(s[i] @ q) * rho[i]
            q -= alpha[i] * y[i]
        r = q * float(self.state["H_diag"])
        for i in order:
            beta = float(y[i] @ r) * rho[i]
            r += (alpha[i] - beta) * s[i]
        return r
