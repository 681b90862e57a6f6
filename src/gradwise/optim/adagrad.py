"""AdaGrad (Duchi et al., 2011): per-coordinate steps scaled by the root of the gradient's
historical sum of squares."""

import numpy as np

from .._validate import flag, non_negative, positive
from .base import Optimizer, default_eps, eps_root


class Adagrad(Optimizer):
    r"""AdaGrad in PyTorch's convention, or the lecture's with ``eps_inside_sqrt=True``.

    With ``g = grad f`` (``-grad f`` if ``maximize``) ``+ weight_decay * x``, ``t`` the steps
    taken so far and ``G`` the state ``sum`` (starting at ``initial_accumulator_value``):

        lr_t = lr / (1 + t * lr_decay)
        G += g * g
        x -= lr_t * g / (sqrt(G) + eps)          PyTorch / torch7 ``optim.adagrad`` (eps=1e-10)
        x -= lr_t * g / sqrt(G + eps)            ``eps_inside_sqrt=True``: the lecture's
                                                 ``W -= lr * g / sqrt(kappa + 1e-7)``

    ``eps`` defaults to 1e-10 (PyTorch, torch7) or, with ``eps_inside_sqrt=True``, to the
    lecture's 1e-7. Defaults otherwise follow ``torch.optim.Adagrad`` (``lr=1e-2``). The
    effective step shrinks like ``1/sqrt(t)`` forever, which is why learning can stop early
    on long runs (the lecture's question "what happens to the step size over long time?").
    """

    def __init__(
        self,
        lr=1e-2,
        lr_decay=0.0,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        eps=None,
        *,
        maximize=False,
        eps_inside_sqrt=False,
    ):
        super().__init__()
        self.lr = positive("lr", lr)
        self.lr_decay = non_negative("lr_decay", lr_decay)
        self.weight_decay = non_negative("weight_decay", weight_decay)
        self.initial_accumulator_value = non_negative(
            "initial_accumulator_value", initial_accumulator_value
        )
        self.eps_inside_sqrt = flag("eps_inside_sqrt", eps_inside_sqrt)
        self.eps = positive("eps", default_eps(eps, self.eps_inside_sqrt, 1e-10))
        self.maximize = flag("maximize", maximize)

    def update(self, x, g):
        lr = self.hyper("lr") / (1 + self.state["step"] * self.hyper("lr_decay"))
        total = self.buffer("sum", x, fill=self.initial_accumulator_value)
        work = self.workspace("step", x)
        np.multiply(g, g, out=work)
        total += work
        eps_root(total, self.hyper("eps"), self.eps_inside_sqrt, out=work)
        np.divide(g, work, out=work)
        work *= -lr
        x += work
