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
from .random_search import RandomLocalSearch, RandomSearch
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

    @property
    def is_loss_only(self):
        """True for a method that never follows a gradient (the class's ``loss_only``: the
        brute-force searches), which ``minimize``'s gradient tests do not describe."""
        cls = getattr(self.factory, "func", self.factory)
        return bool(getattr(cls, "loss_only", False))

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


def names():
    """The known optimizer names, sorted."""
    return sorted(_SPECS)


def showcase(group):
    """The names in one group of default runs (``"race"``, ``"compare"``), in the order they
    were registered: the lecture's order, SGD first."""
    return [n for n, s in _SPECS.items() if group in s.showcase]


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
_SURFACES = ("long-valley", "saddle", "beale", "rosenbrock", "himmelblau")
_FIRST = ("race", "compare")
_BUILT_IN = [
    # name, factory, training lr, colour, showcase, summary, lr on each of _SURFACES
    ("sgd", SGD, 0.1, "#D55E00", _FIRST,  # vermillion
     "plain (stochastic) gradient descent", (0.03, 0.01, 0.01, 1e-3, 0.01)),
    ("momentum", partial(SGD, momentum=0.9), 0.02, "#009E73", _FIRST,  # bluish green
     "SGD with momentum 0.9 (the lecture's first choice)", (0.01, 0.01, 0.003, 1e-3, 0.003)),
    ("nesterov", partial(SGD, momentum=0.9, nesterov=True), 0.02, "#CC79A7", _FIRST,  # purple
     "SGD with Nesterov momentum 0.9", (0.01, 0.01, 0.003, 1e-3, 0.003)),
    ("adagrad", Adagrad, 0.01, "#0072B2", _FIRST,  # blue
     "AdaGrad", (0.3, 0.05, 0.1, 0.5, 1.0)),
    ("rmsprop", RMSprop, 1e-3, "#000000", _FIRST,  # black
     "RMSProp", (0.05, 0.01, 0.03, 3e-3, 0.05)),
    ("adam", Adam, 1e-3, "#E69F00", _FIRST,  # orange
     "Adam", (0.1, 0.02, 0.1, 0.1, 0.1)),
    ("adamw", AdamW, 1e-3, "#56B4E9", (),  # sky blue
     "Adam with decoupled weight decay", (0.1, 0.02, 0.1, 0.1, 0.1)),
    ("lbfgs", LBFGS, 1.0, "#8C6D31", ("compare",),  # dark ochre
     "limited-memory BFGS with a strong Wolfe line search (full batch)", ()),
    ("bfgs", BFGS, 1.0, "#7F7F7F", (),  # grey
     "BFGS with a dense inverse-Hessian (full batch; small models)", ()),
    ("newton", Newton, 1.0, "#5A3D8C", (),  # dark violet
     "Newton's method (full batch; solver='cg' for large models)", ()),
    ("random-search", RandomSearch, None, "#B8860B", (),  # dark goldenrod
     "keep the best of random weight vectors (loss only; full batch)", ()),
    ("random-local-search", RandomLocalSearch, 1e-3, "#2F4F4F", (),  # dark slate grey
     "keep a random step from the best point if the loss drops (loss only; full batch)", ()),
]  # fmt: skip
#: Default options when the classifiers and the command line train (``get`` keeps PyTorch's
#: defaults: ``torch.optim.LBFGS`` has no line search unless asked).
_OPTIONS = {"lbfgs": {"line_search_fn": "strong_wolfe"}}
for _name, _factory, _lr, _color, _showcase, _summary, _lrs in _BUILT_IN:
    register(_name, _factory, lr=_lr, options=_OPTIONS.get(_name), color=_color,
             showcase=_showcase, summary=_summary,
             surface_lrs=dict(zip(_SURFACES, _lrs, strict=False)))  # fmt: skip
