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


def flag(name, value):
    """``value`` if it is a bool (NumPy's included), else a :class:`TypeError`."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def default_eps(eps, eps_inside_sqrt, default):
    """``eps`` as given, or when ``None`` its default: torch7's and the lecture's 1e-7 with
    ``eps_inside_sqrt`` (added under the square root), else ``default`` (PyTorch's)."""
    if eps is None:
        return 1e-7 if eps_inside_sqrt else default
    return eps


def eps_root(v, eps, eps_inside_sqrt, out):
    """The adaptive methods' denominator into ``out``: ``sqrt(v + eps)`` with
    ``eps_inside_sqrt`` (torch7, the lecture), else ``sqrt(v) + eps`` (PyTorch)."""
    if eps_inside_sqrt:
        np.add(v, eps, out=out)
        np.sqrt(out, out=out)
    else:
        np.sqrt(v, out=out)
        out += eps
    return out


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
        return self.resolve(getattr(self, name))

    def resolve(self, value):
        """``value`` itself, or ``value(t)`` if it is a schedule (``t`` = steps taken so far)."""
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
        """Replace the state with a copy of ``state`` (as returned by :meth:`state_dict`).

        Arrays may be anything NumPy can convert (PyTorch tensors included),
        so a run can start from state saved elsewhere under the same names.
        """
        if "step" not in state:
            raise ValueError("optimizer state must contain 'step'")
        self.state = {k: _state_value(v) for k, v in state.items()}
        self.state["step"] = int(self.state["step"])

    def buffer(self, name, like, fill=0.0):
        """The state array ``name``, created (filled with ``fill``) the first time it is needed.

        A loaded buffer of another float dtype is converted once (resuming a float64
        checkpoint in float32 keeps its values instead of starting over).
        """
        buf = self.state.get(name)
        if buf is not None and buf.shape == like.shape and buf.dtype != like.dtype:
            buf = self.state[name] = buf.astype(like.dtype)
        if buf is None or buf.shape != like.shape:
            buf = np.full_like(like, fill)
            self.state[name] = buf
        return buf

    def workspace(self, name, like):
        """A scratch array shaped like ``like``, reused across steps and never saved.

        Steps write their temporaries here (``out=``) so the hot path allocates nothing.
        """
        work = self.__dict__.setdefault("_workspace", {})
        buf = work.get(name)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = work[name] = np.empty_like(like)
        return buf

    def effective_gradient(self, grad, x, weight_decay=0.0, maximize=False):
        """``(-grad if maximize else grad) + weight_decay * x``, PyTorch's order.

        Returns ``grad`` itself when there is nothing to add (no copy), else a workspace
        array; ``grad`` is never modified, since it may be the objective's own buffer.
        """
        if not weight_decay and not maximize:
            return grad
        out = self.workspace("effective_gradient", x)
        if not weight_decay:
            return np.negative(grad, out=out)
        np.multiply(x, weight_decay, out=out)
        return np.subtract(out, grad, out=out) if maximize else np.add(out, grad, out=out)

    @staticmethod
    def check_parameters(x):
        """``x`` must be a float ndarray that the step can update in place."""
        if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
            what = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
            raise TypeError(f"x must be a float NumPy array updated in place, got {what}")

    def __repr__(self):
        params = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if k != "state" and not k.startswith("_")
        )
        return f"{type(self).__name__}({params})"


def _state_value(value):
    """A private copy of one state entry: arrays copied, foreign arrays (a PyTorch tensor)
    converted to NumPy (0-d ones to plain numbers), anything else kept as it is."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if hasattr(value, "__array__"):
        array = np.asarray(value)
        return array.item() if array.ndim == 0 else array.copy()
    return value
