"""Small argument checks shared by every public entry point (errors raised at the boundary)."""

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def positive(name, value):
    """Return ``value`` if it is a real number > 0 (or a schedule callable), else raise."""
    if callable(value):
        return value
    _real(name, value)
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def non_negative(name, value):
    if callable(value):
        return value
    _real(name, value)
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def in_unit_interval(name, value, *, closed_right=False):
    """``value`` in [0, 1) (or [0, 1] with ``closed_right``)."""
    if callable(value):
        return value
    _real(name, value)
    ok = 0 <= value <= 1 if closed_right else 0 <= value < 1
    if not ok:
        interval = "[0, 1]" if closed_right else "[0, 1)"
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


def flag(name, value):
    """``value`` if it is a bool (NumPy's included), else a :class:`TypeError`."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def count(name, value):
    """``value`` as an ``int`` if it is a whole number >= 1 (not a bool), else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def choice(name, value, options):
    if value not in options:
        known = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {known}, got {value!r}")
    return value


def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")


def integer(name, value, low=0):
    """``value`` as an ``int`` if it is a whole number >= ``low`` (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def fraction(name, value):
    """A real number in [0, 1) (a share of rows held out, say)."""
    if callable(value):
        raise TypeError(f"{name} must be a number, got a callable")
    return in_unit_interval(name, value)


def one_of(*options):
    """A check that ``value`` is one of ``options``."""

    def check(name, value):
        return choice(name, value, options)

    check.options = options
    return check


def at_least(low):
    """A check that ``value`` is an integer >= ``low``."""

    def check(name, value):
        return integer(name, value, low)

    return check


def optional(check):
    """``check``, with ``None`` also accepted."""

    def check_or_none(name, value):
        return None if value is None else check(name, value)

    check_or_none.options = getattr(check, "options", None)
    return check_or_none


def anything(name, value):
    return value


@dataclass(frozen=True)
class Param:
    """One constructor parameter of an estimator, declared once: its default, the check its
    value must pass (``check(name, value) -> value``, raising ``TypeError``/``ValueError``)
    and a line of help. Constructors, ``get_params``, ``repr``, validation at ``fit`` and
    the command line's flags are all derived from these declarations (scikit-learn's
    ``_parameter_constraints`` plays the same part there)."""

    default: object
    check: Callable = anything
    help: str = ""


def check_params(params, values):
    """Check each of ``values`` (name -> value) against its :class:`Param` in ``params``."""
    for name, param in params.items():
        param.check(name, values[name])
