"""What every optimizer shares: the ``step(f, x)`` contract, finite checks, state I/O and
the pieces the first-order formulas are written with.

``f(x) -> (loss, grad)`` is an objective on one flat float vector. ``step(f, x)`` calls it
as often as the method needs (once for first-order methods), updates ``x`` in place and
returns the loss at the point where the step started. The gradient that ``f`` returns may be
a buffer the next call overwrites: an optimizer that keeps a gradient copies it.

Hyperparameters may be numbers or schedules (callables ``t -> value``, ``t`` the number of
steps taken so far), resolved once per step by :meth:`Optimizer.hyper`.
"""

import math
import numbers

import numpy as np

from ..errors import DivergenceError


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


# Two exponential moving averages with the same formula but different rounding: PyTorch
# writes the average of gradients as a lerp and the average of squares as mul-then-add, and
# each helper keeps its grouping, so neither may be rewritten in the other's form (the
# iterates would change in their last bits).


def moving_average(avg, value, beta, work):
    """``avg = beta * avg + (1 - beta) * value`` in place, grouped as PyTorch's
    ``avg.lerp_(value, 1 - beta)``: ``avg += (1 - beta) * (value - avg)``. ``work`` is
    scratch shaped like ``avg``; returns ``avg``."""
    np.subtract(value, avg, out=work)
    work *= 1 - beta
    avg += work
    return avg


def moving_average_of_squares(avg, value, beta, work):
    """``avg = beta * avg + (1 - beta) * value * value`` in place, grouped as PyTorch's
    ``avg.mul_(beta).addcmul_(value, value, value=1 - beta)``: ``avg *= beta``, then
    ``avg += (value * value) * (1 - beta)``. ``work`` is scratch shaped like ``avg``;
    returns ``avg``."""
    avg *= beta
    np.multiply(value, value, out=work)
    work *= 1 - beta
    avg += work
    return avg


class Optimizer:
    """Base class: owns ``step``; a first-order subclass is its formula, ``update(x, g)``.

    ``step(f, x)`` checks ``x``, obtains ``(loss, g)`` from :meth:`gradient` (``f`` at ``x``,
    finite-checked, with ``maximize`` and L2 ``weight_decay`` applied), calls
    ``update(x, g)`` and counts the step. Subclasses override :meth:`gradient` to evaluate
    ``f`` elsewhere (SGD's look-ahead), set ``decoupled_weight_decay`` to keep the decay out
    of ``g`` (AdamW), or override ``step`` whole when a step calls ``f`` more than once
    (LBFGS, BFGS, Newton).

    Facts a caller may ask of any optimizer before running it:

    * ``full_batch`` (class attribute, ``False`` here): ``True`` for methods whose every
      step must see the same objective, i.e. the whole training set (the second-order
      methods: their line searches and curvature estimates compare evaluations across
      calls); ``False`` for the first-order methods, which take a new mini-batch each step.
    * ``check_size(n_parameters)``: raises if the method cannot take that many parameters
      (dense second-order methods refuse sizes whose matrix would not fit in memory);
      this default accepts any size.

    ``self.state`` holds only plain numbers and NumPy arrays under PyTorch's names
    (``step``, ``momentum_buffer``, ``sum``, ``square_avg``, ``grad_avg``, ``exp_avg``,
    ``exp_avg_sq``, ``max_exp_avg_sq``), so ``state_dict`` / ``load_state_dict`` round-trip
    bit for bit and a user can start from given state.
    """

    full_batch = False
    # AdamW's kind of weight decay: not added to g by gradient(); the update applies it.
    decoupled_weight_decay = False
    # Defaults for methods without these options (their __init__ sets them otherwise).
    weight_decay = 0.0
    maximize = False

    def __init__(self):
        self.state = {"step": 0}

    def check_size(self, n_parameters, dtype=np.float64):
        """Raise ``ValueError`` if this method cannot optimize ``n_parameters`` parameters of
        ``dtype``; any size is fine here (methods with a dense ``n x n`` matrix override it)."""

    def step(self, f, x):
        """One update of ``x`` in place; returns the loss ``f`` reported."""
        self.check_parameters(x)
        loss, g = self.gradient(f, x)
        self.update(x, g)
        # Counted after the update: schedules and lr_decay resolved in it see t = the steps
        # taken so far (0 on the first step), as hyper() promises.
        self.state["step"] += 1
        return loss

    def gradient(self, f, x):
        """``(loss, g)``: ``f`` at ``x`` (:meth:`evaluate`) and the gradient the update
        follows, :meth:`effective_gradient` with this optimizer's ``weight_decay`` (unless
        ``decoupled_weight_decay``) and ``maximize``.

        An override may evaluate ``f`` elsewhere but must return with ``x`` as it found it,
        on success and on failure (a failed step leaves ``x`` unchanged).
        """
        loss, grad = self.evaluate(f, x)
        weight_decay = 0.0 if self.decoupled_weight_decay else self.hyper("weight_decay")
        return loss, self.effective_gradient(grad, x, weight_decay, self.maximize)

    def update(self, x, g):
        """Move ``x`` in place given the gradient ``g`` from :meth:`gradient`: the method's
        formula, with hyperparameters from :meth:`hyper` and buffers in ``self.state``."""
        raise NotImplementedError(f"{type(self).__name__} implements neither update nor step")

    def hyper(self, name):
        """The value of hyperparameter ``name`` at the current step (schedules resolved)."""
        return self.resolve(getattr(self, name), name)

    def resolve(self, value, name=None):
        """``value`` itself, or ``value(t)`` if it is a schedule (``t`` = steps taken so far).

        A schedule's value must be a finite number >= 0 (no hyperparameter of an optimizer
        may be negative): a ``ValueError`` naming ``name`` and the step otherwise, before
        the step moves ``x``. Numbers were checked when the optimizer was built.
        """
        if not callable(value):
            return value
        t = self.state["step"]
        resolved = float(value(t))
        # One chained comparison: False for a negative value, NaN and inf alike.
        if not 0.0 <= resolved < math.inf:
            if name is None:  # the attribute that holds this schedule, else a generic word
                held = (k for k, v in vars(self).items() if v is value)
                name = next(held, "a hyperparameter")
            raise ValueError(
                f"{name} from its schedule is {resolved} at step {t}: "
                f"{type(self).__name__} needs a finite value >= 0 at every step"
            )
        return resolved

    def evaluate(self, f, x):
        """Call ``f(x)``; raise :class:`DivergenceError` (``x`` untouched) if not finite."""
        loss, grad = f(x)
        loss = float(loss)
        if getattr(grad, "shape", None) != x.shape:
            got = getattr(grad, "shape", type(grad).__name__)
            raise ValueError(
                f"{type(self).__name__}: f returned a gradient of shape {got} for x of shape "
                f"{x.shape}; the gradient must be an array shaped like x"
            )
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
        step = _state_value(state["step"])
        if isinstance(step, float) and step.is_integer():
            step = int(step)  # a count saved as a float (JSON, a tensor) is still a count
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise ValueError(f"optimizer state 'step' must be an integer >= 0, got {step!r}")
        self.state = {k: _state_value(v) for k, v in state.items()}
        self.state["step"] = int(step)

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
