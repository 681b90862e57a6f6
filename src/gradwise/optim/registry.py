"""Optimizers by name, each with what its callers need to know about it.

``get("adam", lr=1e-3)`` builds an optimizer exactly as its class would (PyTorch's
defaults); :func:`make` builds it as the classifiers and the command line start it (their
learning rate and default options); :func:`spec` answers every other question a caller has
about a name: is it a full-batch method, which colour do the pictures give it, which
learning rate does it race with on a 2-D surface. Nothing else in gradwise keeps a list of
optimizer names: the classifiers, ``gradwise train/compare/sweep/landscape``, ``minimize``
and every help text ask here, so a name added with :func:`register` works wherever a
built-in name does.
"""

from dataclasses import dataclass, field
from functools import partial

from .adagrad import Adagrad
from .adam import Adam, AdamW
from .bfgs import BFGS
from .lbfgs import LBFGS
from .newton import Newton
from .rmsprop import RMSprop
from .sgd import SGD


@dataclass(frozen=True)
class OptimizerSpec:
    """What a name means.

    - ``factory(**keywords)`` builds the optimizer;
    - ``lr``: the learning rate the classifiers and ``gradwise train`` start from (``None``:
      the factory's own default);
    - ``options``: further keywords they pass unless told otherwise (a line search, say);
    - ``full_batch``: the method wants the whole training set at every step (``None``: ask
      the class's ``full_batch``); it then trains full batch wherever it is named;
    - ``color``: its colour in every picture (``None``: one chosen from its name);
    - ``surface_lrs``: surface name -> learning rate of a race on that 2-D surface;
    - ``showcase``: the groups of default runs it takes part in (``"race"``: the optimizer
      races of ``gradwise landscape``; ``"compare"``: ``gradwise compare``);
    - ``summary``: one line for help texts.
    """

    name: str
    factory: object
    lr: float | None = None
    options: dict = field(default_factory=dict)
    full_batch: bool | None = None
    color: str | None = None
    surface_lrs: dict = field(default_factory=dict)
    showcase: tuple = ()
    summary: str = ""

    @property
    def is_full_batch(self):
        if self.full_batch is not None:
            return self.full_batch
        cls = getattr(self.factory, "func", self.factory)  # a functools.partial's class
        return bool(getattr(cls, "full_batch", False))

    def build(self, **keywords):
        return self.factory(**keywords)


_SPECS = {}


def register(name, factory, *, lr=None, options=None, full_batch=None, color=None,
             surface_lrs=None, showcase=(), summary=""):  # fmt: skip
    """Make ``get(name, **kw)`` call ``factory(**kw)``, with what callers need to know.

    Only ``name`` and ``factory`` are required; the other keywords are those of
    :class:`OptimizerSpec`. Registering a name again replaces it.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"optimizer name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory must be callable, got {type(factory).__name__}")
    if lr is not None and not (isinstance(lr, int | float) and lr > 0):
        raise ValueError(f"lr must be a number > 0 or None, got {lr!r}")
    key = name.strip().lower()
    _SPECS[key] = OptimizerSpec(
        name=key,
        factory=factory,
        lr=lr,
        options=dict(options or {}),
        full_batch=full_batch,
        color=color,
        surface_lrs=dict(surface_lrs or {}),
        showcase=tuple(showcase),
        summary=summary,
    )
    return _SPECS[key]


def unregister(name):
    """Forget ``name`` (a name registered by a test or a plug-in)."""
    _SPECS.pop(_key(name), None)


def names(showcase=None):
    """The known optimizer names, sorted (only those of one ``showcase`` group if given)."""
    return sorted(n for n, s in _SPECS.items() if showcase is None or showcase in s.showcase)


def spec(name):
    """The :class:`OptimizerSpec` of ``name`` (case-insensitive); ``ValueError`` listing the
    known names if there is none."""
    found = _SPECS.get(_key(name))
    if found is None:
        raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(names())}")
    return found


def get(name, **keywords):
    """A new optimizer ``name`` built with ``keywords`` (the class's own defaults otherwise)."""
    return spec(name).build(**keywords)


def make(name, lr=None, options=None):
    """Optimizer ``name`` as the classifiers and the command line start it: ``lr`` (``None``:
    the name's training learning rate, else its factory's default) and ``options`` over the
    name's default options."""
    found = spec(name)
    keywords = {**found.options, **(options or {})}
    lr = found.lr if lr is None else lr
    if lr is not None:
        keywords["lr"] = lr
    return found.build(**keywords)


def help_text():
    """The names for a ``--optimizer`` help line: ``sgd, momentum, ...; full batch: lbfgs``."""
    stochastic = [n for n in names() if not spec(n).is_full_batch]
    full = [n for n in names() if spec(n).is_full_batch]
    return ", ".join(stochastic) + (f"; full batch: {', '.join(full)}" if full else "")


def _key(name):
    if not isinstance(name, str):
        raise TypeError(f"optimizer name must be a string, got {type(name).__name__}")
    return name.strip().lower()


# -- the built-in names -------------------------------------------------------------------
# Training learning rates: what works for mean-subtracted [0, 1] pixels with minibatches of
# a few hundred rows (momentum 0.9 multiplies SGD's step by about 10); 1 for the full-batch
# methods, whose line searches scale their steps. Colours: Okabe-Ito's colour-blind-safe
# palette, and three distinct dark tones beyond it. Surface learning rates: chosen so the
# classic behaviours show in a few hundred steps (docs/pictures.md).
_FIRST = ("race", "compare")
register(
    "sgd",
    SGD,
    lr=0.1,
    color="#D55E00",  # vermillion
    showcase=_FIRST,
    summary="plain (stochastic) gradient descent",
    surface_lrs={
        "long-valley": 0.03,
        "saddle": 0.01,
        "beale": 0.01,
        "rosenbrock": 1e-3,
        "himmelblau": 0.01,
    },
)
register(
    "momentum",
    partial(SGD, momentum=0.9),
    lr=0.02,
    color="#009E73",  # bluish green
    showcase=_FIRST,
    summary="SGD with momentum 0.9 (the lecture's first choice)",
    surface_lrs={
        "long-valley": 0.01,
        "saddle": 0.01,
        "beale": 0.003,
        "rosenbrock": 1e-3,
        "himmelblau": 0.003,
    },
)
register(
    "nesterov",
    partial(SGD, momentum=0.9, nesterov=True),
    lr=0.02,
    color="#CC79A7",
    showcase=_FIRST,
    summary="SGD with Nesterov momentum 0.9",  # purple
    surface_lrs={
        "long-valley": 0.01,
        "saddle": 0.01,
        "beale": 0.003,
        "rosenbrock": 1e-3,
        "himmelblau": 0.003,
    },
)
register(
    "adagrad",
    Adagrad,
    lr=0.01,
    color="#0072B2",
    showcase=_FIRST,  # blue
    summary="AdaGrad",
    surface_lrs={
        "long-valley": 0.3,
        "saddle": 0.05,
        "beale": 0.1,
        "rosenbrock": 0.5,
        "himmelblau": 1.0,
    },
)
register(
    "rmsprop",
    RMSprop,
    lr=1e-3,
    color="#000000",
    showcase=_FIRST,  # black
    summary="RMSProp",
    surface_lrs={
        "long-valley": 0.05,
        "saddle": 0.01,
        "beale": 0.03,
        "rosenbrock": 3e-3,
        "himmelblau": 0.05,
    },
)
register(
    "adam",
    Adam,
    lr=1e-3,
    color="#E69F00",
    showcase=_FIRST,
    summary="Adam",  # orange
    surface_lrs={
        "long-valley": 0.1,
        "saddle": 0.02,
        "beale": 0.1,
        "rosenbrock": 0.1,
        "himmelblau": 0.1,
    },
)
register(
    "adamw",
    AdamW,
    lr=1e-3,
    color="#56B4E9",  # sky blue
    summary="Adam with decoupled weight decay",
    surface_lrs={
        "long-valley": 0.1,
        "saddle": 0.02,
        "beale": 0.1,
        "rosenbrock": 0.1,
        "himmelblau": 0.1,
    },
)
register(
    "lbfgs",
    LBFGS,
    lr=1.0,
    options={"line_search_fn": "strong_wolfe"},
    color="#8C6D31",
    showcase=("compare",),  # dark ochre
    summary="limited-memory BFGS with a strong Wolfe line search (full batch)",
)
register(
    "bfgs",
    BFGS,
    lr=1.0,
    color="#7F7F7F",  # grey
    summary="BFGS with a dense inverse-Hessian (full batch; small models)",
)
register(
    "newton",
    Newton,
    lr=1.0,
    color="#5A3D8C",  # dark violet
    summary="Newton's method (full batch; solver='cg' for large models)",
)
