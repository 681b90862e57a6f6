"""A fully connected network, for comparison with the linear classifiers."""

import math
import numbers

import numpy as np

from .. import nn
from .._validate import Param, one_of
from .classifier import CLASSIFIER_PARAMS, Classifier


def layer_sizes(name, hidden):
    """``hidden`` as a list of layer sizes >= 1 (an int is one layer)."""
    if isinstance(hidden, int | np.integer) and not isinstance(hidden, bool):
        hidden = (hidden,)
    try:
        sizes = [_whole(h) for h in hidden]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be layer sizes like (100,), got {hidden!r}") from None
    if any(size is None for size in sizes):
        raise ValueError(f"{name} layer sizes must be whole numbers, got {hidden!r}")
    if not sizes:
        raise ValueError(f"{name} must name at least one layer size, e.g. (100,)")
    if any(h < 1 for h in sizes):
        raise ValueError(f"{name} layer sizes must be >= 1, got {hidden!r}")
    return sizes


def _whole(size):
    """``size`` as an ``int`` if it is a whole number (``10`` or ``10.0``), else ``None``
    (``10.5`` is not silently ``10``); ``TypeError`` for what is not a number at all."""
    if isinstance(size, bool | np.bool_) or not isinstance(size, numbers.Real):
        raise TypeError(size)
    if isinstance(size, numbers.Integral):
        return int(size)
    return int(size) if math.isfinite(size) and float(size).is_integer() else None


class MLPClassifier(Classifier):
    """Fully connected network: ``hidden`` layers of ReLU units, then a linear layer of
    class scores, trained on any loss of :data:`gradwise.nn.LOSSES` (``loss="softmax"``,
    ``"svm"``, ``"one-vs-all"``, ``"crammer-singer"``) plus ``reg * sum W^2`` over every
    layer's weights.

    Hidden layers start from He's initialisation N(0, 2/fan_in), the output layer from
    Xavier's; layer ``k`` is seeded with ``seed + k``. Other parameters as
    :class:`~gradwise.estimators.SoftmaxClassifier`.
    """

    params = {
        "hidden": Param((100,), layer_sizes, "hidden layer sizes"),
        "loss": Param("softmax", one_of(*nn.LOSSES), "loss: " + ", ".join(nn.LOSSES)),
        **{k: v for k, v in CLASSIFIER_PARAMS.items() if k != "init"},
    }

    def _build_loss(self):
        return nn.loss_named(self.loss)

    def _layer_sizes(self, n_features, n_classes):
        return [n_features, *layer_sizes("hidden", self.hidden), n_classes]

    def _build_model(self, n_features, n_classes, dtype):
        sizes = self._layer_sizes(n_features, n_classes)
        layers = []
        for k, (fan_in, fan_out) in enumerate(zip(sizes[:-2], sizes[1:-1], strict=True)):
            layers += [nn.Linear(fan_in, fan_out, init="he", seed=self.seed + k, dtype=dtype)]
            layers += [nn.ReLU()]
        last = len(sizes) - 2
        layers.append(
            nn.Linear(sizes[-2], n_classes, init="xavier", seed=self.seed + last, dtype=dtype)
        )
        return nn.Sequential(*layers)
