"""Modules, losses and penalties with torch7's ``forward`` / ``backward`` contract.

Each describes itself as JSON and is rebuilt from that (``describe``, ``rebuild``; see
:mod:`gradwise.nn.description`): model files store these descriptions.
"""

from .activation import ReLU, Sigmoid, Tanh
from .description import Describable
from .explanation import Explanation, ScoreTable, explain_scores, score_table
from .flat import flatten, parameter_blocks
from .functional import check_labels, softmax
from .linear import Linear
from .loss import LOSSES, Criterion, MulticlassHinge, SoftmaxCrossEntropy, loss_named, register_loss
from .module import Module
from .penalty import L1, L2, PENALTIES, ElasticNet, Penalty
from .sequential import Sequential

__all__ = [
    "LOSSES",
    "PENALTIES",
    "check_labels",
    "explain_scores",
    "score_table",
    "loss_named",
    "register_loss",
    "softmax",
    "Criterion",
    "Describable",
    "Explanation",
    "ScoreTable",
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
