"""Optimizers by the names the command line uses: ``get("adam", lr=1e-3)``."""

from functools import partial

from .adagrad import Adagrad
from .adam import Adam, AdamW
from .bfgs import BFGS
from .lbfgs import LBFGS
from .newton import Newton
from .rmsprop import RMSprop
from .sgd import SGD

# name -> factory(**keywords); "momentum" and "nesterov" are SGD with a default momentum of
# 0.9 (the lecture's "start with SGD with vanilla momentum"), still overridable.
_FACTORIES = {
    "sgd": SGD,
    "momentum": partial(SGD, momentum=0.9),
    "nesterov": partial(SGD, momentum=0.9, nesterov=True),
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
    # Full-batch methods: one step runs up to max_iter inner iterations.
    "lbfgs": LBFGS,
    "bfgs": BFGS,
    "newton": Newton,
}


def names():
    """The known optimizer names, sorted."""
    return sorted(_FACTORIES)


def get(name, **keywords):
    """A new optimizer ``name`` (case-insensitive) built with ``keywords``.

    Raises ``ValueError`` listing the known names if ``name`` is unknown.
    """
    if not isinstance(name, str):
        raise TypeError(f"optimizer name must be a string, got {type(name).__name__}")
    factory = _FACTORIES.get(name.strip().lower())
    if factory is None:
        raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(names())}")
    return factory(**keywords)


def register(name, factory):
    """Make ``get(name, **kw)`` call ``factory(**kw)`` (for optimizers defined elsewhere)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"optimizer name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory must be callable, got {type(factory).__name__}")
    _FACTORIES[name.strip().lower()] = factory
