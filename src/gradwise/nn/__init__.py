"""Modules, losses and penalties with torch7's ``forward`` / ``backward`` contract."""

from .activation import ReLU, Sigmoid, Tanh
from .flat import flatten, parameter_blocks
from .linear import Linear
from .loss import MulticlassHinge, SoftmaxCrossEntropy
from .module import Module
from .penalty import L1, L2, ElasticNet, Penalty
from .sequential import Sequential

__all__ = [
    "ElasticNet",
    "L1",
    "L2",
    "Linear",
    "Module",
    "MulticlassHinge",
    "Penalty",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Tanh",
    "flatten",
    "parameter_blocks",
]
