"""Adam (Kingma and Ba, 2014) and AdamW (Loshchilov and Hutter, 2019): momentum on the
gradient plus RMSProp's per-coordinate scaling, with bias correction."""

import math

import numpy as np

from .._validate import flag, in_unit_interval, non_negative, positive
from .base import Optimizer, default_eps, eps_root, moving_average, moving_average_of_squares


class Adam(Optimizer):
    r"""Adam in PyTorch's convention, with keywords for torch7's and the lecture's forms.

    With ``g = grad f`` (``-grad f`` if ``maximize``) ``+ weight_decay * x`` (L2 added to
    the gradient; :class:`AdamW` decouples it), ``t`` the step number counted from 1 and the
    states ``exp_avg`` (``m``), ``exp_avg_sq`` (``v``), ``max_exp_avg_sq`` (amsgrad):

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v' = max(v' , v) if amsgrad else v
        c1, c2 = 1 - beta1**t, 1 - beta2**t          (both 1 if bias_correction=False)
        x -= lr * (m / c1) / (sqrt(v' / c2) + eps)    PyTorch ``torch.optim.Adam`` (default)
        x -= lr * sqrt(c2) / c1 * m / (sqrt(v') + eps)
                                  ``eps_hat=True``: eps added to the *uncorrected* root, the
                                  paper's epsilon-hat form; torch7 ``optim.adam`` and
                                  scikit-learn's MLP ``adam`` solver
        x -= lr * (m / c1) / sqrt(v' / c2 + eps)      ``eps_inside_sqrt=True``

    The lecture's "incomplete but close" Adam, ``W -= lr * m / sqrt(kappa + 1e-7)``, is
    ``Adam(bias_correction=False, eps_inside_sqrt=True)`` (``eps`` then defaults to the
    lecture's 1e-7; otherwise to PyTorch's 1e-8). Bias correction is what makes the first
    step move each coordinate by about ``lr``; without it the first step is about
    ``lr * (1 - beta1) / sqrt(1 - beta2)`` (3.2 ``lr`` with the default betas).
    Defaults follow PyTorch: ``lr=1e-3``, ``betas=(0.9, 0.999)``.
    """

    def __init__(
        self,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=None,
        weight_decay=0.0,
        amsgrad=False,
        *,
        maximize=False,
        bias_correction=True,
        eps_inside_sqrt=False,
        eps_hat=False,
    ):
        super().__init__()
        self.lr = positive("lr", lr)
        self.betas = _check_betas(betas)
        self.eps_inside_sqrt = flag("eps_inside_sqrt", eps_inside_sqrt)
        self.eps_hat = flag("eps_hat", eps_hat)
        if self.eps_inside_sqrt and self.eps_hat:
            raise ValueError("choose one of eps_inside_sqrt=True and eps_hat=True, not both")
        self.eps = positive("eps", default_eps(eps, self.eps_inside_sqrt, 1e-8))
        self.weight_decay = non_negative("weight_decay", weight_decay)
        self.amsgrad = flag("amsgrad", amsgrad)
        self.maximize = flag("maximize", maximize)
        self.bias_correction = flag("bias_correction", bias_correction)

    def update(self, x, g):
        t = self.state["step"] + 1  # this step's number, counted from 1
        lr, eps = self.hyper("lr"), self.hyper("eps")
        beta1, beta2 = (self.resolve(b, n) for b, n in zip(self.betas, _BETA_NAMES, strict=True))
        work = self.workspace("step", x)
        exp_avg = moving_average(self.buffer("exp_avg", x), g, beta1, work)
        exp_avg_sq = moving_average_of_squares(self.buffer("exp_avg_sq", x), g, beta2, work)
        if self.amsgrad:
            peak = self.buffer("max_exp_avg_sq", x)
            exp_avg_sq = np.maximum(peak, exp_avg_sq, out=peak)
        c1, c2 = (1 - beta1**t, 1 - beta2**t) if self.bias_correction else (1.0, 1.0)
        # Every form is written with the uncorrected root, the step size folding the
        # corrections in: sqrt(v/c2) + eps == (sqrt(v) + eps*sqrt(c2)) / sqrt(c2).
        if self.eps_inside_sqrt:
            shift = eps * c2
        else:
            shift = eps if self.eps_hat else eps * math.sqrt(c2)
        eps_root(exp_avg_sq, shift, self.eps_inside_sqrt, out=work)
        np.divide(exp_avg, work, out=work)
        work *= -lr * math.sqrt(c2) / c1
        x += work


class AdamW(Adam):
    r"""Adam with decoupled weight decay (PyTorch's ``torch.optim.AdamW``).

    Before the Adam update of :class:`Adam` (with no L2 term in ``g``), every step shrinks
    the parameters: ``x *= 1 - lr * weight_decay``. ``weight_decay`` defaults to PyTorch's
    1e-2; with ``weight_decay=0`` AdamW is Adam.
    """

    decoupled_weight_decay = True  # gradient() leaves the decay out of g

    def __init__(
        self,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=None,
        weight_decay=1e-2,
        amsgrad=False,
        *,
        maximize=False,
        bias_correction=True,
        eps_inside_sqrt=False,
        eps_hat=False,
    ):
        super().__init__(
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            bias_correction=bias_correction,
            eps_inside_sqrt=eps_inside_sqrt,
            eps_hat=eps_hat,
        )

    def update(self, x, g):
        weight_decay = self.hyper("weight_decay")
        if weight_decay:  # decoupled: x itself shrinks, before the Adam step (PyTorch's order)
            x *= 1 - self.hyper("lr") * weight_decay
        super().update(x, g)


_BETA_NAMES = ("betas[0]", "betas[1]")


def _check_betas(betas):
    try:
        pair = tuple(betas)
    except TypeError:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    if len(pair) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return tuple(in_unit_interval(f"betas[{i}]", beta) for i, beta in enumerate(pair))
