"""Search spaces: what a hyperparameter search may try.

* ``"a,b,c"`` or a list: a :class:`Choice` (numbers are parsed as int or float).
* ``"low:high"``: :class:`Uniform`; ``"low:high:log"``: :class:`LogUniform` (uniform in
  ``log``, the right prior for learning rates and regularisation strengths); add ``:int``
  to round samples to integers (batch size, epochs, hidden units).

:func:`random_configs` draws configurations with ``np.random.default_rng(seed)`` (parameters
in sorted name order, trial after trial, so the first 40 trials of a 60-trial search are
the 40 trials of a 40-trial search); :func:`grid_configs` takes every combination.
"""

import itertools
import math
import numbers

import numpy as np


class Choice:
    """One of a fixed list of values (sampled uniformly; a grid takes all of them)."""

    def __init__(self, values):
        values = tuple(native_value(v) for v in values)
        if not values:
            raise ValueError("a choice needs at least one value, got an empty list")
        for value in values:
            if isinstance(value, numbers.Real) and not math.isfinite(value):
                raise ValueError(f"values must be finite numbers, got {value}")
        self.values = values

    def sample(self, rng):
        return self.values[int(rng.integers(len(self.values)))]

    def grid(self, points):
        return list(self.values)

    def __eq__(self, other):
        return isinstance(other, Choice) and self.values == other.values

    def __repr__(self):
        return f"Choice({list(self.values)!r})"

    def __str__(self):
        return ",".join(str(v) for v in self.values)


class Uniform:
    """A real (or, with ``integer``, a rounded) value uniform in ``[low, high]``."""

    log = False

    def __init__(self, low, high, integer=False):
        self.low = _finite("low", low)
        self.high = _finite("high", high)
        if self.low > self.high:
            raise ValueError(f"range low must be <= high, got low={low} > high={high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got low={low}")
        self.integer = bool(integer)
        if self.integer and math.ceil(self.low) > math.floor(self.high):
            raise ValueError(f"integer range {low}:{high} holds no integer")

    def sample(self, rng):
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = float(rng.uniform(self.low, self.high))
        return self._finish(value)

    def grid(self, points):
        space = np.geomspace if self.log else np.linspace
        values = [self._finish(float(v)) for v in space(self.low, self.high, points)]
        return list(dict.fromkeys(values))  # rounding to integers can repeat values

    def _finish(self, value):
        value = min(max(value, self.low), self.high)  # exp(log(x)) can step outside
        if self.integer:
            return int(min(max(round(value), math.ceil(self.low)), math.floor(self.high)))
        return value

    def __eq__(self, other):
        return type(other) is type(self) and (self.low, self.high, self.integer) == (
            other.low,
            other.high,
            other.integer,
        )

    def __repr__(self):
        return f"{type(self).__name__}({self.low!r}, {self.high!r}, integer={self.integer})"

    def __str__(self):
        flags = (":log" if self.log else "") + (":int" if self.integer else "")
        return f"{self.low:g}:{self.high:g}{flags}"


class LogUniform(Uniform):
    """A value whose logarithm is uniform in ``[log low, log high]`` (``low > 0``)."""

    log = True


def parse_dimension(text):
    """A dimension from its command-line form: ``"a,b,c"``, ``"lo:hi"``, ``"lo:hi:log[:int]"``."""
    if not isinstance(text, str):
        raise TypeError(f"a dimension must be given as a string, got {type(text).__name__}")
    text = text.strip()
    if ":" not in text:
        items = [item.strip() for item in text.split(",")]
        if not any(items):
            raise ValueError("empty list of values: give at least one, e.g. 'sgd,adam'")
        if not all(items):
            raise ValueError(f"empty value in the list {text!r}")
        return Choice(_parse_value(item) for item in items)
    parts = [p.strip() for p in text.split(":")]
    flags = set(parts[2:])
    if len(parts) < 2 or not flags <= {"log", "int"} or len(flags) != len(parts) - 2:
        raise ValueError(f"a range is 'low:high' with optional ':log' and ':int', got {text!r}")
    try:
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"range bounds must be numbers, got {text!r}") from None
    kind = LogUniform if "log" in flags else Uniform
    return kind(low, high, integer="int" in flags)


def make_space(space):
    """``{name: dimension}`` from dimensions, strings, lists or single values; checked."""
    if not isinstance(space, dict):
        raise TypeError(f"a search space must be a dict, got {type(space).__name__}")
    if not space:
        raise ValueError("the search space is empty: give at least one parameter to search")
    out = {}
    for name, dim in space.items():
        if not isinstance(name, str):
            raise TypeError(f"parameter names must be strings, got {name!r}")
        try:
            if isinstance(dim, Choice | Uniform):
                out[name] = dim
            elif isinstance(dim, str):
                out[name] = parse_dimension(dim)
            elif isinstance(dim, list | tuple):
                out[name] = Choice(dim)
            else:
                out[name] = Choice([dim])
        except (ValueError, TypeError) as err:
            raise type(err)(f"{name}: {err}") from None
    return dict(sorted(out.items()))


def grid_configs(space, points=5):
    """Every combination of the space's values, ranges as ``points`` values each."""
    space = make_space(space)
    if isinstance(points, bool) or not isinstance(points, numbers.Integral) or points < 1:
        raise ValueError(f"points must be an integer >= 1, got {points!r}")
    names = list(space)
    axes = [space[name].grid(points) for name in names]
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes)]


def random_configs(space, n_trials, seed=0):
    """``n_trials`` configurations drawn with ``np.random.default_rng(seed)``."""
    space = make_space(space)
    if isinstance(n_trials, bool) or not isinstance(n_trials, numbers.Integral) or n_trials < 1:
        raise ValueError(f"n_trials must be an integer >= 1, got {n_trials!r}")
    rng = np.random.default_rng(seed)
    return [{name: dim.sample(rng) for name, dim in space.items()} for _ in range(n_trials)]


def space_text(space):
    return {name: repr(dim) for name, dim in space.items()}


def native_value(value):
    """A NumPy scalar as the Python number it holds; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _finite(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"range {name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"range {name} must be finite, got {value}")
    return float(value)


def _parse_value(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
