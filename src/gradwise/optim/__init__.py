"""Optimizers: every one takes ``step(f, x)`` with ``f(x) -> (loss, grad)`` on a flat vector.

First-order methods (one ``f`` call per step) follow PyTorch's conventions by default; the
torch7 and lecture forms are keywords of the same classes. Schedules are callables
``t -> value`` accepted anywhere a hyperparameter is. Full-batch methods (``LBFGS``,
``BFGS``, ``Newton``) call ``f`` as often as their line searches need; ``minimize`` runs one
to convergence and returns a SciPy-shaped result.
"""

from ._minimize import MinimizeResult, minimize
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .base import Optimizer
from .bfgs import BFGS
from .lbfgs import LBFGS
from .line_search import LineSearchResult, backtracking, strong_wolfe
from .newton import Newton
from .random_search import RandomLocalSearch, RandomSearch
from .registry import OptimizerSpec, get, make, names, register, showcase, spec, unregister
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
    "BFGS",
    "LBFGS",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineDecay",
    "ExponentialDecay",
    "GradientDescent",
    "InverseTimeDecay",
    "LineSearchResult",
    "LinearWarmup",
    "MinimizeResult",
    "Newton",
    "Optimizer",
    "OptimizerSpec",
    "RMSprop",
    "RandomLocalSearch",
    "RandomSearch",
    "Schedule",
    "SequentialSchedule",
    "StepDecay",
    "backtracking",
    "get",
    "make",
    "minimize",
    "names",
    "register",
    "showcase",
    "spec",
    "strong_wolfe",
    "unregister",
    "with_warmup",
]
