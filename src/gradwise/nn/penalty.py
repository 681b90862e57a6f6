"""Weight penalties R(W) added to the data loss: ``L = data_loss + R(W)``.

The lecture's exact forms, applied to every module's ``weight`` (biases too only when
``include_bias=True``):

- ``L2(lam)``: ``lam * sum W^2``, gradient ``2 lam W``. PyTorch's ``weight_decay=wd`` adds
  ``wd * W`` to the gradient, i.e. it is ``L2(lam=wd / 2)``.
- ``L1(lam)``: ``lam * sum |W|``, subgradient ``lam * sign(W)`` (0 at W = 0).
- ``ElasticNet(lam, beta)``: ``lam * sum (beta W^2 + |W|)``.

``forward(model) -> float`` and ``backward(model)`` (adds into the models' ``grad_weight``).
"""

from functools import partial

import numpy as np

from .._validate import flag, non_negative
from .description import Describable


class Penalty(Describable, kind="penalty"):
    """Base class of penalties; every subclass is registered for model files, as losses."""

    def __init__(self, lam, include_bias=False):
        self.lam = float(non_negative("penalty strength lam", lam))
        self.include_bias = flag("include_bias", include_bias)
        self._scratch = {}  # (shape, dtype) -> a buffer for the gradient term

    def _pairs(self, model):
        names = ("weight", "bias") if self.include_bias else ("weight",)
        return [
            (getattr(m, n), getattr(m, "grad_" + n))
            for _, m, n in model.named_parameters()
            if n in names
        ]

    def forward(self, model):
        return float(sum(self.value(w) for w, _ in self._pairs(model)))

    def backward(self, model):
        for w, grad in self._pairs(model):
            self.add_gradient(w, grad)

    def __repr__(self):
        return f"{type(self).__name__}(lam={self.lam})"


class L2(Penalty):
    def value(self, w):
        return self.lam * np.vdot(w, w)

    def add_gradient(self, w, grad):
        # Once per training step: the product goes through a reused buffer, not a new array.
        key = (w.shape, w.dtype)
        if key not in self._scratch:
            self._scratch[key] = np.empty_like(w)
        grad += np.multiply(w, 2 * self.lam, out=self._scratch[key])


class L1(Penalty):
    def value(self, w):
        return self.lam * np.abs(w).sum()

    def add_gradient(self, w, grad):
        grad += self.lam * np.sign(w)


class ElasticNet(Penalty):
    def __init__(self, lam, beta=1.0, include_bias=False):
        super().__init__(lam, include_bias)
        self.beta = float(non_negative("beta", beta))

    def value(self, w):
        return self.lam * (self.beta * np.vdot(w, w) + np.abs(w).sum())

    def add_gradient(self, w, grad):
        grad += self.lam * (2 * self.beta * w + np.sign(w))

    def __repr__(self):
        return f"ElasticNet(lam={self.lam}, beta={self.beta})"


#: Penalties by the names the command line uses (``--penalty l2``); ``none`` is no penalty.
PENALTIES = {"l2": L2, "l1": L1, "elasticnet": partial(ElasticNet, beta=0.5)}
