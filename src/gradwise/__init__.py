"""gradwise: linear classifiers and the optimizers that train them, from first principles.

import gradwise as gw
model = gw.nn.Linear(3072, 10)
f = gw.objective(model, gw.nn.SoftmaxCrossEntropy(), X, y, penalty=gw.nn.L2(2.5e-4))
print(gw.gradient_check(f, f.x, num_checks=20))
"""

__version__ = "0.1.0"

from . import data, hessian, nn, optim, surfaces  # noqa: E402
from .errors import DataError, DivergenceError, GradwiseError, ModelFileError  # noqa: E402
from .gradcheck import check_module, gradient_check  # noqa: E402
from .objective import Objective, objective  # noqa: E402
from .optim.minimize import minimize  # noqa: E402
from .train import History, fit  # noqa: E402

__all__ = [
    "DataError",
    "DivergenceError",
    "GradwiseError",
    "History",
    "ModelFileError",
    "Objective",
    "check_module",
    "gradient_check",
    "data",
    "fit",
    "hessian",
    "minimize",
    "nn",
    "optim",
    "surfaces",
    "objective",
]
