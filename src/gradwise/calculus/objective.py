"""The objective closure ``f(x) -> (loss, grad)`` that every optimizer takes.

``objective(model, loss, X, y, penalty)`` evaluates ``loss(model(X), y) + penalty(model)``
and its gradient with respect to the model's flat parameter vector (see
:func:`gradwise.nn.flatten`). This is the torch7 ``optim`` contract (``opfunc``) in Python.
"""

import copy

import numpy as np

from ..nn.flat import flatten, parameter_blocks
from ..nn.loss import Criterion
from ..nn.module import Module
from ..nn.penalty import Penalty
from .fused import FusedLinearLoss


class Objective:
    """``f(x) -> (loss_value, grad)`` on the flat vector of ``model``.

    ``grad`` is the model's own gradient buffer: the next call overwrites it, so copy it to
    keep it. ``x`` may be the model's flat vector (no copy) or any vector of the same size
    (copied into the model first, which is what line searches need). ``set_data`` swaps the
    batch; ``calls`` counts evaluations.

    A single :class:`~gradwise.nn.Linear` layer with :class:`~gradwise.nn.SoftmaxCrossEntropy`
    or :class:`~gradwise.nn.MulticlassHinge` is evaluated by
    :class:`~gradwise.calculus.fused.FusedLinearLoss` (same values, one pass over ``X``)
    whenever ``X`` is a C-contiguous array of the model's dtype; everything else goes through
    the modules' ``forward``/``backward``.
    """

    def __init__(self, model, loss, X, y, penalty=None):
        if not isinstance(model, Module):
            raise TypeError(f"model must be a gradwise.nn Module, got {type(model).__name__}")
        if not isinstance(loss, Criterion):
            raise TypeError(f"loss must be a gradwise.nn loss, got {type(loss).__name__}")
        if penalty is not None and not isinstance(penalty, Penalty):
            raise TypeError(f"penalty must be a gradwise.nn Penalty, got {type(penalty).__name__}")
        self.model, self.loss, self.penalty = model, loss, penalty
        self.x, self.g = flatten(model)
        self.calls = 0
        self._fused = FusedLinearLoss(loss) if FusedLinearLoss.supports(model, loss) else None
        self.set_data(X, y)

    def set_data(self, X, y):
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (N, D), got shape {X.shape}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},) to match X, got {y.shape}")
        width = _input_width(self.model)
        if width is not None and X.shape[1] != width:
            raise ValueError(f"X has {X.shape[1]} features but the model expects {width}")
        self.X, self.y = X, y

    def __call__(self, x):
        self._load(x)
        model = self.model
        fused = self._fused
        if fused is not None and fused.loss is self.loss and fused.accepts(self.X, model.weight):
            # Overwrites grad_weight and grad_bias, which together are all of g.
            value = fused(
                self.X, self.y, model.weight, model.bias, model.grad_weight, model.grad_bias
            )
        else:
            self.g.fill(0)
            value = self.loss.forward(model.forward(self.X), self.y)
            model.backward(self.loss.backward(), need_input_grad=False)
        if self.penalty is not None:
            value += self.penalty.forward(self.model)
            self.penalty.backward(self.model)
        return value, self.g

    def value_only(self, x):
        """The objective at ``x`` without its gradient (``g`` is left as it was): the fused
        kernel's forward half, or the modules' ``forward`` alone. What the methods that only
        compare losses (random search) call; counted in ``calls`` like a full evaluation."""
        self._load(x)
        model = self.model
        fused = self._fused
        if fused is not None and fused.loss is self.loss and fused.accepts(self.X, model.weight):
            value = fused.value_only(self.X, self.y, model.weight, model.bias)
        else:
            value = self.loss.forward(model.forward(self.X), self.y)
        if self.penalty is not None:
            value += self.penalty.forward(self.model)
        return value

    def _load(self, x):
        """Put ``x`` into the model (nothing to do when it is the model's own vector)."""
        if x is not self.x:
            if np.shape(x) != self.x.shape:
                raise ValueError(f"x must have shape {self.x.shape}, got {np.shape(x)}")
            self.x[...] = x
        self.calls += 1

    def in_float64(self, x=None):
        """A float64 copy of this objective: the model, loss, penalty and data copied and
        converted, at ``x`` (default: this objective's own). This objective is untouched.
        :func:`gradwise.gradient_check` checks a float32 objective on such a copy."""
        model = copy.deepcopy(self.model)
        model._flat = None
        flatten(model, np.float64)
        X = np.ascontiguousarray(self.X, dtype=np.float64)
        f = Objective(model, copy.deepcopy(self.loss), X, self.y, copy.deepcopy(self.penalty))
        f.x[...] = self.x if x is None else x
        return f

    def blocks(self):
        """Where each named parameter lives in ``x`` (used by the gradient check report)."""
        return parameter_blocks(self.model)


def _input_width(model):
    for m in model.modules():
        if hasattr(m, "in_features"):
            return m.in_features
    return None


def objective(model, loss, X, y, penalty=None):
    """Build ``f(x) -> (loss, grad)`` for ``model``, ``loss``, data ``(X, y)`` and a penalty."""
    return Objective(model, loss, X, y, penalty)
