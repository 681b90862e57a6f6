"""What every gradwise estimator shares: scikit-learn's parameter protocol, derived from one
table of declared parameters.

A subclass lists its constructor parameters once, in ``params`` (name -> :class:`Param`: the
default, the check and a line of help). From that table come the constructor (keyword
arguments, each only stored, as scikit-learn requires), ``get_params`` / ``set_params``,
a ``repr`` that shows what differs from the defaults, ``check_params`` (run by ``fit``) and
the command line's flags and defaults. ``inspect.signature(cls)`` shows the real
parameters, so scikit-learn's ``clone``, ``GridSearchCV`` and ``cross_val_score`` work.
"""

import inspect

from .._validate import Param, check_params


class BaseEstimator:
    """Base class: subclasses set ``params`` (a dict of :class:`~gradwise._validate.Param`)."""

    params: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:
            cls.__init__ = _constructor(cls)

    @classmethod
    def _param_names(cls):
        return sorted(cls.params)

    @classmethod
    def defaults(cls):
        """The default of every parameter, by name."""
        return {name: param.default for name, param in cls.params.items()}

    def get_params(self, deep=True):
        """The constructor arguments, by name (``deep`` is accepted for scikit-learn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor arguments by name; return ``self``. Checked at the next ``fit``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"{type(self).__name__} has no parameter {name!r}; valid: {', '.join(valid)}"
                )
            setattr(self, name, value)
        return self

    def check_params(self):
        """Check every parameter against its declaration (raises ``TypeError``/``ValueError``)."""
        check_params(self.params, self.get_params())

    def __repr__(self):
        defaults = self.defaults()
        changed = [
            f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, defaults.get(k))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"


def _constructor(cls):
    """An ``__init__`` that takes ``cls.params`` (positionally in their declared order, or by
    name) and stores them."""
    params = cls.params

    def __init__(self, *args, **kwargs):
        if len(args) > len(params):
            raise TypeError(f"{cls.__name__} takes at most {len(params)} positional arguments")
        for name, value in zip(params, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{cls.__name__} got two values for {name!r}")
            kwargs[name] = value
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            valid = ", ".join(sorted(params))
            raise TypeError(f"{cls.__name__} got unknown parameters {unknown}; valid: {valid}")
        for name, param in params.items():
            setattr(self, name, kwargs.get(name, param.default))

    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=param.default)
            for name, param in params.items()
        ]
    )
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__doc__ = "Parameters (name=default): " + ", ".join(
        f"{name}={param.default!r}" for name, param in params.items()
    )
    return __init__


def _same(a, b):
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return False


__all__ = ["BaseEstimator", "Param"]
