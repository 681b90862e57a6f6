"""The two strategies the lecture tries before following the gradient: brute-force search.

``RandomSearch`` ("try random weights, keep the best"): each step draws a fresh candidate
``c = scale * z``, ``z ~ N(0, I)``, and keeps it when its loss is lower than the best so far:

    L_c = f(c);  if L_c < L_best: x, L_best = c, L_c

``RandomLocalSearch`` ("perturb the best by a random step, keep it if the loss drops"):

    c = x + lr * z;  L_c = f(c);  if L_c < L_best: x, L_best = c, L_c

Neither ever asks for a gradient: the loss comes from ``f.value_only(x)`` when ``f`` has it
(an :class:`~gradwise.calculus.objective.Objective`, which then skips the gradient's half of
the work), else from ``f(x)[0]``. Candidate ``k`` is drawn from ``default_rng([seed, k])``, so a
run is reproducible from ``seed`` alone and resumes exactly from ``state["step"]``.

Both compare a candidate's loss with the best loss of earlier steps, so every step must see
the same objective: they are full-batch methods. ``reevaluate=True`` measures the current
point again at every step (two evaluations a try), which keeps the comparison fair when the
objective changes between steps (minibatches).
"""

import math

import numpy as np

from .._validate import flag, integer, positive
from ..errors import DivergenceError
from .base import Optimizer


def loss_only(f, x):
    """``f``'s loss at ``x``, without its gradient where ``f`` can (``f.value_only``)."""
    value = getattr(f, "value_only", None)
    return float(value(x)) if callable(value) else float(f(x)[0])


class _BruteForce(Optimizer):
    """The shared step: measure the best point once, try one candidate, keep the better."""

    full_batch = True
    # Never follows a gradient: a caller may ask (the gradient methods do not have it).
    loss_only = True

    def __init__(self, seed, reevaluate):
        super().__init__()
        self.seed = integer("seed", seed)
        self.reevaluate = flag("reevaluate", reevaluate)

    def step(self, f, x):
        """One try; ``x`` ends at the better of itself and the candidate. Returns the loss at
        the point the step started from."""
        self.check_parameters(x)
        best = self.workspace("best", x)
        start = self._best_loss(f, x, best)
        rng = np.random.default_rng([self.seed, self.state["step"]])
        self.candidate(x, best, rng)  # written into x: the objective evaluates it in place
        tried = self._try(f, x)
        if tried < start:
            best[...] = x
            self.state["best_loss"] = tried
        else:
            x[...] = best
        self.state["step"] += 1
        return start

    def candidate(self, x, best, rng):
        """Write this step's candidate into ``x`` (``best`` holds the best point so far)."""
        raise NotImplementedError

    def _best_loss(self, f, x, best):
        """The loss at ``x``: remembered from the step that found it unless ``x`` changed
        since (or ``reevaluate``), measured and remembered otherwise."""
        known = self.state.get("best_loss")
        if known is not None and not self.reevaluate and np.array_equal(best, x):
            return known
        loss = loss_only(f, x)
        if not math.isfinite(loss):
            raise DivergenceError(
                f"{type(self).__name__}: non-finite loss at the starting point (step "
                f"{self.state['step']}); x was left unchanged"
            )
        best[...] = x
        self.state["best_loss"] = loss
        return loss

    @staticmethod
    def _try(f, x):
        """The candidate's loss; a candidate whose loss is not finite is simply worse."""
        try:
            loss = loss_only(f, x)
        except (FloatingPointError, ValueError):  # the fused kernel refuses NaN scores
            return math.inf
        return loss if math.isfinite(loss) else math.inf


class RandomSearch(_BruteForce):
    """Try a fresh random weight vector ``scale * N(0, I)`` each step; keep the best.

    ``scale`` is the candidates' standard deviation (the lecture's source draws
    ``randn * 0.0001`` for raw 0..255 pixels, about ``0.03`` for [0, 1] ones; accuracy does not
    depend on it, the loss does). The starting ``x`` counts as the first candidate.
    """

    def __init__(self, scale=1e-2, *, seed=0, reevaluate=False):
        super().__init__(seed, reevaluate)
        self.scale = positive("scale", scale)

    def candidate(self, x, best, rng):
        _normal_into(rng, x)
        x *= self.hyper("scale")


class RandomLocalSearch(_BruteForce):
    """Step from the best point by ``lr * N(0, I)`` each step; keep the step if the loss
    drops. ``lr`` is the source's ``step_size`` (schedules work as for any ``lr``)."""

    def __init__(self, lr=1e-3, *, seed=0, reevaluate=False):
        super().__init__(seed, reevaluate)
        self.lr = positive("lr", lr)

    def candidate(self, x, best, rng):
        _normal_into(rng, x)
        x *= self.hyper("lr")
        x += best


def _normal_into(rng, x):
    """Standard normal numbers into ``x`` in its own dtype (float32 drawn as float32)."""
    if x.dtype in (np.float32, np.float64):
        rng.standard_normal(dtype=x.dtype, out=x)
    else:
        x[...] = rng.standard_normal(x.shape)
