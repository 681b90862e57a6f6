"""Small argument checks shared by every public entry point (errors raised at the boundary)."""

import numbers

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
