"""What every optimizer shares: the ``step(f, x)`` contract, finite checks and state I/O.

``f(x) -> (loss, grad)`` is an objective on one flat float vector. ``step(f, x)`` calls it
as often as the method needs (once for first-order methods), updates ``x`` in place and
returns the loss at the point where the step started. The gradient that ``f`` returns may be
a buffer the next call overwrites: an optimizer that keeps a gradient copies it.

Hyperparameters may be numbers or schedules (callables ``t -> value``, ``t`` the number of
steps taken so far), resolved once per step by :meth:`Optimizer.hyper`.
"""

import math

import numpy as np

from ..errors import DivergenceError


class Optimizer:
    """Base class. Subclasses implement ``step`` and keep their buffers in ``self.state``.

    ``self.state`` holds only plain numbers and NumPy arrays under PyTorch's names
    (``step``, ``momentum_buffer``, ``sum``, ``square_avg``, ``grad_avg``, ``exp_avg``,
    ``exp_avg_sq``, ``max_exp_avg_sq``), so ``state_dict`` / ``load_state_dict`` round-trip
    bit for bit and a user can start from given state.
    """

    def __init__(self):
        self.state = {"step": 0}

    def hyper(self, name):
        """The value of hyperparameter ``name`` at the current step (schedules resolved)."""
        value = getattr(self, name)
        return float(value(self.state["step"])) if callable(value) else value

    def evaluate(self, f, x):
        """Call ``f(x)``; raise :class:`DivergenceError` (``x`` untouched) if not finite."""
        loss, grad = f(x)
        loss = float(loss)
        # One reduction finds NaN/Inf in grad without allocating a mask.
        if not (math.isfinite(loss) and math.isfinite(float(np.sum(grad)))):
            if not math.isfinite(loss) or not np.isfinite(grad).all():
                what = "loss" if not math.isfinite(loss) else "gradient"
                raise DivergenceError(
                    f"{type(self).__name__}: non-finite {what} at step {self.state['step']}; "
                    "x was left unchanged (try a smaller learning rate)"
                )
        return loss, grad

    def state_dict(self):
        """A copy of the state: plain numbers and arrays, PyTorch's names."""
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.state.items()}

    def load_state_dict(self, state):
        """Replace the state with a copy of ``state`` (as returned by :meth:`state_dict`)."""
        if "step" not in state:
            raise ValueError("optimizer state must contain 'step'")
        self.state = {
            k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v)
            for k, v in state.items()
        }
        self.state["step"] = int(self.state["step"])

    def buffer(self, name, like, fill=0.0):
        """The state array ``name``, created (filled with ``fill``) the first time it is needed."""
        buf = self.state.get(name)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = np.full_like(like, fill)
            self.state[name] = buf
        return buf

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "state")
        return f"{type(self).__name__}({params})"
