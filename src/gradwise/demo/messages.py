"""Reading what a page sends: one JSON object per message, every field checked and bounded.

Each check raises ``ValueError`` or ``TypeError`` with one line naming the field, which the
server sends back to the page as an ``error`` message; the tab's state is left as it was.
The checks are those of :mod:`gradwise._validate`, with the bounds of :mod:`.limits`.
"""

import json
import math
import numbers

from .._validate import _real, choice, integer
from .limits import MAX_MESSAGE_BYTES


class MessageError(ValueError):
    """A message that is not a JSON object of the expected shape."""


def parse(text):
    """A message's text -> a dict with a string ``type``; NaN and Infinity are refused."""
    if not isinstance(text, str):
        raise MessageError("a message must be JSON text")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise MessageError(f"a message must be at most {MAX_MESSAGE_BYTES} bytes")
    try:
        message = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as err:
        raise MessageError(f"a message must be JSON: {str(err).splitlines()[0]}") from None
    if not isinstance(message, dict):
        raise MessageError(f"a message must be a JSON object, got {type(message).__name__}")
    if not isinstance(message.get("type"), str):
        raise MessageError("a message needs a string field 'type'")
    return message


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number a message may hold")


def required(message, name):
    if name not in message:
        raise MessageError(f"{message['type']}: the field {name!r} is missing")
    return message[name]


def number(name, value, low, high):
    """A finite real number (not a bool) in ``[low, high]``, as a float."""
    _real(name, value)
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {value:g}")
    return float(value)


def whole(name, value, low, high):
    """A whole number (not a bool) in ``[low, high]``, as an int."""
    value = integer(name, value, low)
    if value > high:
        raise ValueError(f"{name} must be an integer <= {high}, got {value}")
    return value


def name_in(name, value, options):
    """One of ``options`` (names: surfaces, losses, optimizers, ...)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a name, got {type(value).__name__}")
    return choice(name, value, tuple(options))


def point(name, value, extent):
    """Two numbers ``[x, y]``, each in ``[-extent, extent]``; ``extent`` may be per axis
    as ``((x0, x1), (y0, y1))``."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise TypeError(f"{name} must be two numbers [x, y], got {_shown(value)}")
    (x0, x1), (y0, y1) = extent if isinstance(extent, tuple) else ((-extent, extent),) * 2
    return number(f"{name} x", value[0], x0, x1), number(f"{name} y", value[1], y0, y1)


def numbers_list(name, value, length, bound):
    """A list of exactly ``length`` finite numbers, each in ``[-bound, bound]``."""
    if not isinstance(value, list) or len(value) != length:
        raise TypeError(f"{name} must be a list of {length} numbers, got {_shown(value)}")
    return [number(f"{name}[{i}]", v, -bound, bound) for i, v in enumerate(value)]


def options_dict(name, value, max_keys, bound):
    """Keyword options of an optimizer: at most ``max_keys`` names, each a number in
    ``[-bound, bound]`` or a bool. Whether the optimizer takes them is for its class to say."""
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be an object of option names and values")
    if len(value) > max_keys:
        raise ValueError(f"{name} may set at most {max_keys} options, got {len(value)}")
    checked = {}
    for key, option in value.items():
        if not key.isidentifier() or key.startswith("_") or key == "lr":
            raise ValueError(f"{name}: {key[:40]!r} is not an option name (lr is set apart)")
        if isinstance(option, bool):
            checked[key] = option
        elif isinstance(option, numbers.Real):
            checked[key] = number(f"{name} {key}", option, -bound, bound)
        else:
            raise TypeError(f"{name} {key} must be a number or true/false")
    return checked


def _shown(value):
    text = json.dumps(value) if _jsonable(value) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _jsonable(value):
    try:
        json.dumps(value, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


def finite_or_none(value):
    """A float for JSON: NaN and infinities (a diverged path) become ``None``."""
    value = float(value)
    return value if math.isfinite(value) else None
