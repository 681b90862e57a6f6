"""gradwise: linear classifiers and the optimizers that train them, from first principles.

import gradwise as gw
model = gw.nn.Linear(3072, 10)
f = gw.objective(model, gw.nn.SoftmaxCrossEntropy(), X, y, penalty=gw.nn.L2(2.5e-4))
print(gw.gradient_check(f, f.x, num_checks=20))

The layers, from the bottom (each imports only the ones below it; docs/architecture.md):
``errors``, ``_validate``, ``storage`` -> ``nn``, ``data`` -> ``calculus`` (the objective,
gradient check, Hessians) -> ``optim`` -> ``training`` -> ``estimators``, ``selection``,
``landscape`` -> ``plot`` -> ``commands`` and ``cli``. Subpackages load on first use, so
``import gradwise`` stays light (the command line starts in a fraction of a second).
"""

import importlib

from ._version import __version__  # noqa: F401  (gradwise.__version__)
from .errors import DataError, DivergenceError, GradwiseError, ModelFileError

#: Public name -> (module, attribute or None for the module itself), imported on first use.
_LAZY = {
    "data": ("gradwise.data", None),
    "nn": ("gradwise.nn", None),
    "optim": ("gradwise.optim", None),
    "training": ("gradwise.training", None),
    "estimators": ("gradwise.estimators", None),
    "selection": ("gradwise.selection", None),
    "landscape": ("gradwise.landscape", None),
    "plot": ("gradwise.plot", None),
    "hessian": ("gradwise.calculus.hessian", None),
    "surfaces": ("gradwise.landscape.surfaces", None),
    "Objective": ("gradwise.calculus.objective", "Objective"),
    "objective": ("gradwise.calculus.objective", "objective"),
    "gradient_check": ("gradwise.calculus.gradcheck", "gradient_check"),
    "check_module": ("gradwise.calculus.gradcheck", "check_module"),
    "minimize": ("gradwise.optim", "minimize"),
    "fit": ("gradwise.training.loop", "fit"),
    "History": ("gradwise.training.history", "History"),
}

__all__ = ["DataError", "DivergenceError", "GradwiseError", "ModelFileError", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'gradwise' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = importlib.import_module(module)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted([*globals(), *_LAZY])
