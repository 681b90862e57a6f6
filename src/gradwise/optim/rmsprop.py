"""RMSProp (Tieleman and Hinton, 2012): AdaGrad with a leaky average of squared gradients."""

import numpy as np

from .._validate import in_unit_interval, non_negative, positive
from .base import Optimizer, default_eps, eps_root, flag


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

    def step(self, f, x):
        """One update of ``x`` in place; returns the loss ``f`` reported."""
        self.check_parameters(x)
        loss, grad = self.evaluate(f, x)
        g = self.effective_gradient(grad, x, self.hyper("weight_decay"), self.maximize)
        alpha, eps = self.hyper("alpha"), self.hyper("eps")
        work = self.workspace("step", x)
        square_avg = self.buffer("square_avg", x)
        square_avg *= alpha
        np.multiply(g, g, out=work)
        work *= 1 - alpha
        square_avg += work
        variance = square_avg
        if self.centered:
            variance = self._centered_variance(g, alpha, square_avg, work)
        eps_root(variance, eps, self.eps_inside_sqrt, out=work)
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
        self.state["step"] += 1
        return loss

    def _centered_variance(self, g, alpha, square_avg, out):
        """``out = s - a*a`` after moving the gradient average ``a`` towards ``g``."""
        grad_avg = self.buffer("grad_avg", out)
        np.subtract(g, grad_avg, out=out)
        out *= 1 - alpha
        grad_avg += out
        np.multiply(grad_avg, grad_avg, out=out)
        return np.subtract(square_avg, out, out=out)
