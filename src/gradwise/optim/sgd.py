"""Gradient descent, with momentum or Nesterov momentum, in PyTorch's, the lecture's and
torch7's conventions (one class; keywords pick the convention)."""

import numpy as np

from .._validate import choice, flag, in_unit_interval, non_negative, positive
from .base import Optimizer

MOMENTUM_FORMS = ("pytorch", "lecture")


class SGD(Optimizer):
    r"""(Stochastic) gradient descent with optional momentum, Nesterov momentum and decay.

    Every step calls ``f`` once, at ``x`` (or at the look-ahead point, below). With
    ``g = grad f`` (``-grad f`` if ``maximize``) plus ``weight_decay * x`` (L2 decay added to
    the gradient, as PyTorch and torch7 do) and the step's learning rate

        lr_t = lr(t) / (1 + t * lr_decay)       (t = steps taken so far; torch7's annealing)

    the update is one of:

    * ``momentum == 0``: ``x -= lr_t * g``.
    * ``momentum_form="pytorch"`` (default; PyTorch's ``torch.optim.SGD`` and torch7's
      ``optim.sgd``): ``b = g`` on the first step, then ``b = momentum * b + (1 - dampening)
      * g``; ``x -= lr_t * b``, or with ``nesterov=True`` ``x -= lr_t * (g + momentum * b)``.
      ``b`` (state ``momentum_buffer``) holds no learning rate, so changing ``lr`` rescales
      the whole accumulated velocity at once.
    * ``momentum_form="lecture"`` (the lecture's ``m = a*m + lr*g; W -= m``, cs231n's
      ``v = mu*v - lr*dx; x += v``): ``v = momentum * v - lr_t * g; x += v`` with ``v = 0``
      at the start. ``v`` (state ``momentum_buffer``) already holds the learning rate, so a
      change of ``lr`` only affects new gradients. With a constant ``lr`` and no dampening
      both forms give the same iterates (``v = -lr * b``). With ``nesterov=True`` it is the
      lecture's look-ahead form, where ``x`` is the look-ahead point itself:
      ``v_prev = v; v = momentum * v - lr_t * g; x += -momentum * v_prev + (1 + momentum) * v``.
    * ``lookahead_gradient=True`` (with ``nesterov=True`` and ``momentum_form="lecture"``;
      torch7's ``optim.nag``, Sutskever et al. 2013): ``x`` stays the real parameters and
      ``f`` is called at ``x + momentum * v``; then ``v = momentum * v - lr_t * g`` (weight
      decay uses the look-ahead point) and ``x += v``. The loss returned is the one at the
      look-ahead point. Same sequence as the previous form, shifted by ``momentum * v``.

    Defaults follow PyTorch (``lr=1e-3``, no momentum, ``dampening=0``). torch7's
    ``optim.sgd`` defaults ``dampening`` to the momentum value (``b = m*b + (1-m)*g``, an
    exponential average); to reproduce it pass ``dampening=momentum`` explicitly.
    Any hyperparameter may be a schedule ``t -> value`` (see :mod:`gradwise.optim.schedule`).
    """

    def __init__(
        self,
        lr=1e-3,
        momentum=0.0,
        dampening=0.0,
        nesterov=False,
        weight_decay=0.0,
        *,
        maximize=False,
        momentum_form="pytorch",
        lr_decay=0.0,
        lookahead_gradient=False,
    ):
        super().__init__()
        self.lr = positive("lr", lr)
        self.momentum = non_negative("momentum", momentum)
        self.dampening = in_unit_interval("dampening", dampening, closed_right=True)
        self.nesterov = flag("nesterov", nesterov)
        self.weight_decay = non_negative("weight_decay", weight_decay)
        self.maximize = flag("maximize", maximize)
        self.momentum_form = choice("momentum_form", momentum_form, MOMENTUM_FORMS)
        self.lr_decay = non_negative("lr_decay", lr_decay)
        self.lookahead_gradient = flag("lookahead_gradient", lookahead_gradient)
        self._check_combination()

    def _check_combination(self):
        if self.nesterov and (_is_zero(self.momentum) or not _is_zero(self.dampening)):
            raise ValueError(
                "nesterov=True requires momentum > 0 and dampening = 0, got "
                f"momentum={self.momentum}, dampening={self.dampening}"
            )
        if self.momentum_form == "lecture" and not _is_zero(self.dampening):
            raise ValueError("dampening applies to momentum_form='pytorch' only")
        if self.lookahead_gradient and not (self.nesterov and self.momentum_form == "lecture"):
            raise ValueError(
                "lookahead_gradient=True (torch7's optim.nag) needs nesterov=True and "
                "momentum_form='lecture'"
            )

    def gradient(self, f, x):
        """``(loss, g)`` at ``x``, or with ``lookahead_gradient`` at ``x + momentum * v``
        (torch7's ``optim.nag``: ``f`` and the weight decay see the look-ahead point);
        ``x`` is the real parameters again when this returns or raises."""
        if not self.lookahead_gradient:
            return super().gradient(f, x)
        saved = self.workspace("saved_parameters", x)
        np.copyto(saved, x)
        self._add_scaled(x, self.buffer("momentum_buffer", x), self.hyper("momentum"))
        try:
            return super().gradient(f, x)
        finally:
            np.copyto(x, saved)

    def update(self, x, g):
        lr, momentum = self._learning_rate(), self.hyper("momentum")
        if self.lookahead_gradient:
            # The look-ahead already happened in gradient(); what is left is plain momentum.
            self._lecture_momentum(x, g, lr, momentum, nesterov=False)
        elif momentum == 0:
            self._add_scaled(x, g, -lr)
        elif self.momentum_form == "pytorch":
            self._pytorch_momentum(x, g, lr, momentum)
        else:
            self._lecture_momentum(x, g, lr, momentum, self.nesterov)

    def _learning_rate(self):
        """``lr_t = lr / (1 + t * lr_decay)``, torch7's annealing (``t`` = steps taken)."""
        lr = self.hyper("lr")
        lr_decay = self.hyper("lr_decay")
        return lr / (1 + self.state["step"] * lr_decay) if lr_decay else lr

    def _add_scaled(self, x, direction, scale):
        """``x += scale * direction`` through the workspace (no allocation)."""
        work = self.workspace("step", x)
        np.multiply(direction, scale, out=work)
        x += work

    def _pytorch_momentum(self, x, g, lr, momentum):
        """``b = g`` first, then ``b = momentum * b + (1 - dampening) * g``;
        ``x -= lr * b``, or ``x -= lr * (g + momentum * b)`` with Nesterov."""
        if "momentum_buffer" not in self.state:
            buf = self.state["momentum_buffer"] = np.array(g, dtype=x.dtype, copy=True)
        else:
            buf = self.buffer("momentum_buffer", x)
            buf *= momentum
            dampening = self.hyper("dampening")
            if dampening:
                self._add_scaled(buf, g, 1 - dampening)
            else:
                buf += g
        if self.nesterov:
            work = self.workspace("step", x)
            np.multiply(buf, momentum, out=work)
            work += g
            work *= -lr
            x += work
        else:
            self._add_scaled(x, buf, -lr)

    def _lecture_momentum(self, x, g, lr, momentum, nesterov):
        """``v = momentum * v - lr * g``; ``x += v``, or with Nesterov (``x`` the
        look-ahead point) ``x += -momentum * v_prev + (1 + momentum) * v``."""
        velocity = self.buffer("momentum_buffer", x)
        if nesterov:
            shift = self.workspace("previous_velocity", x)
            np.multiply(velocity, -momentum, out=shift)
        velocity *= momentum
        self._add_scaled(velocity, g, -lr)
        if nesterov:
            x += shift
            self._add_scaled(x, velocity, 1 + momentum)
        else:
            x += velocity


GradientDescent = SGD


def _is_zero(value):
    # A schedule's value is only known per step; the combination check applies to numbers.
    return not callable(value) and value == 0
