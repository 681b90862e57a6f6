"""Modules, losses and penalties with torch7's ``forward`` / ``backward`` contract.

Each describes itself as JSON and is rebuilt from that (``describe``, ``rebuild``; see
:mod:`gradwise.nn.description`): model files store these descriptions.
"""

from .activation import ReLU, Sigmoid, Tanh
from .description import Describable
from .flat import flatten, parameter_blocks
from .functional import check_labels, softmax
from .linear import Linear
from .loss import (
    HINGE_LOSSES,
    LOSSES,
    CrammerSingerHinge,
    Criterion,
    MulticlassHinge,
    OneVsAllHinge,
    SoftmaxCrossEntropy,
    loss_named,
    register_loss,
)
from .module import Module
from .penalty import L1, L2, PENALTIES, ElasticNet, Penalty
from .sequential import Sequential

__all__ = [
    "HINGE_LOSSES",
    "LOSSES",
    "PENALTIES",
    "check_labels",
    "loss_named",
    "register_loss",
    "softmax",
    "CrammerSingerHinge",
    "Criterion",
    "Describable",
    "ElasticNet",
    "L1",
    "L2",
    "Linear",
    "Module",
    "MulticlassHinge",
    "OneVsAllHinge",
    "Penalty",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Tanh",
    "flatten",
    "parameter_blocks",
]
