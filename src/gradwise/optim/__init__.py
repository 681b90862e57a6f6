"""Optimizers: every one takes ``step(f, x)`` with ``f(x) -> (loss, grad)`` on a flat vector.

First-order methods (one ``f`` call per step) follow PyTorch's conventions by default; the
torch7 and lecture forms are keywords of the same classes. Schedules are callables
``t -> value`` accepted anywhere a hyperparameter is.
"""

from .adagrad import Adagrad
from .adam import Adam, AdamW
from .base import Optimizer
from .registry import get, names, register
from .rmsprop import RMSprop
from .schedule import (
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LinearWarmup,
    Schedule,
    SequentialSchedule,
    StepDecay,
    with_warmup,
)
from .sgd import SGD, GradientDescent

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineDecay",
    "ExponentialDecay",
    "GradientDescent",
    "InverseTimeDecay",
    "LinearWarmup",
    "Optimizer",
    "RMSprop",
    "Schedule",
    "SequentialSchedule",
    "StepDecay",
    "get",
    "names",
    "register",
    "with_warmup",
]
