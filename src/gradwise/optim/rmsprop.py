"""RMSProp (Tieleman and Hinton, 2012): AdaGrad with a leaky average of squared gradients."""

import numpy as np

from .._validate import flag, in_unit_interval, non_negative, positive
from .base import Optimizer, default_eps, eps_root, moving_average, moving_average_of_squares


class RMSprop(Optimizer):
    r"""RMSProp in PyTorch's convention, or the lecture's with ``eps_inside_sqrt=True``.

    With ``g = grad f`` (``-grad f`` if ``maximize``) ``+ weight_decay * x`` and the states
    ``square_avg`` (``s``), ``grad_avg`` (``a``, centered only), ``momentum_buffer`` (``b``),
    all starting at 0:

        s = alpha * s + (1 - alpha) * g * g
        a = a + (1 - alpha) * (g - a)                     (centered=True)
        d = sqrt(s - a*a) + eps   or   sqrt(s) + eps      PyTorch / torch7 ``optim.rmsprop``
        d = sqrt(s - a*a + eps)   or   sqrt(s + eps)      ``eps_inside_sqrt=True`` (lecture)
        x -= lr * g / d                                   (momentum == 0)
        b = momentum * b + g / d;  x -= lr * b            (momentum > 0)

    The lecture's "leaky" AdaGrad is ``alpha=0.99`` with ``eps_inside_sqrt=True`` (its
    ``kappa + 1e-7``); Hinton's slide uses ``alpha=0.9``. ``eps`` defaults to 1e-8 (PyTorch,
    torch7) or 1e-7 with ``eps_inside_sqrt=True``. Other defaults follow
    ``torch.optim.RMSprop`` (``lr=1e-2``, ``alpha=0.99``).
    """

    def __init__(
        self,
        lr=1e-2,
        alpha=0.99,
        eps=None,
        weight_decay=0.0,
        momentum=0.0,
        centered=False,
        *,
        maximize=False,
        eps_inside_sqrt=False,
    ):
        super().__init__()
        self.lr = positive("lr", lr)
        self.alpha = in_unit_interval("alpha", alpha)
        self.eps_inside_sqrt = flag("eps_inside_sqrt", eps_inside_sqrt)
        self.eps = positive("eps", default_eps(eps, self.eps_inside_sqrt, 1e-8))
        self.weight_decay = non_negative("weight_decay", weight_decay)
        self.momentum = non_negative("momentum", momentum)
        self.centered = flag("centered", centered)
        self.maximize = flag("maximize", maximize)

    def update(self, x, g):
        alpha = self.hyper("alpha")
        work = self.workspace("step", x)
        square_avg = moving_average_of_squares(self.buffer("square_avg", x), g, alpha, work)
        variance = square_avg
        if self.centered:
            grad_avg = moving_average(self.buffer("grad_avg", x), g, alpha, work)
            np.multiply(grad_avg, grad_avg, out=work)
            variance = np.subtract(square_avg, work, out=work)
        eps_root(variance, self.hyper("eps"), self.eps_inside_sqrt, out=work)
        np.divide(g, work, out=work)
        lr, momentum = self.hyper("lr"), self.hyper("momentum")
        if momentum > 0:
            buf = self.buffer("momentum_buffer", x)
            buf *= momentum
            buf += work
            np.multiply(buf, -lr, out=work)
        else:
            work *= -lr
        x += work
