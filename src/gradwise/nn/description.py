"""How modules, losses and penalties describe themselves as JSON and are rebuilt from it.

``obj.describe()`` is ``{"type": <class name>, **obj.arguments()}``: the class and the
constructor arguments that make it again (``{"type": "Linear", "in_features": 4,
"out_features": 2}``). ``Base.rebuild(description, dtype)`` makes a fresh object from one;
model files store descriptions and hold no table of types (Keras's ``get_config`` /
``from_config`` play the same part).

There is one registry per kind, each filled by subclassing: a base class starts a kind
(``class Criterion(Describable, kind="loss")``) and every subclass of it is registered
under its class name as Python defines it. So a new loss whose constructor keeps its
arguments under their own names (``self.margin = margin``) saves and loads with no code
beyond its class; a class with other arguments overrides ``arguments`` and
``from_arguments`` (as :class:`~gradwise.nn.Linear` and :class:`~gradwise.nn.Sequential`).

A description read from a file is untrusted: only a registered class of the kind asked
for is built, only from JSON scalars and lists, checked by the class's own constructor,
and every failure is a one-line :class:`~gradwise.errors.ModelFileError`. A file's
sizes are untrusted too: ``rebuild(..., max_parameters=N)`` (a model file passes the number
of parameter values it stores) lets the whole tree hold at most ``N`` parameters, and a
layer reserves its count with :func:`reserve_parameters` before it allocates them, so a
description asking for a 100,000 x 100,000 layer is refused before 74.5 GiB is reserved.
"""

import contextvars
import inspect
import reprlib

import numpy as np

from ..errors import ModelFileError

#: ``[left, total]`` parameters the description being rebuilt may still allocate, or None.
_BUDGET = contextvars.ContextVar("gradwise_parameter_budget", default=None)


def reserve_parameters(count, what):
    """Claim ``count`` parameter values for ``what`` (a layer being rebuilt) from the budget
    of the :meth:`Describable.rebuild` in progress; :class:`ModelFileError` if it is spent.
    Outside a budgeted rebuild (or with none set) it does nothing."""
    budget = _BUDGET.get()
    if budget is None:
        return
    if count > budget[0]:
        left = "" if budget[0] == budget[1] else f", {budget[0]:,} of them left for it"
        raise ModelFileError(
            f"the architecture's {what} needs {count:,} parameters but the file stores "
            f"{budget[1]:,} in all{left} (its layer shapes do not match the stored arrays)"
        )
    budget[0] -= count


class Describable:
    """Base of :class:`Module`, :class:`Criterion` and :class:`Penalty`."""

    def __init_subclass__(cls, kind=None, abstract=False, **kwargs):
        super().__init_subclass__(**kwargs)
        if kind is not None:
            cls.kind, cls.registry = kind, {}
            return
        if abstract:  # a base of other classes (the hinges'), never named by a file
            return
        known = cls.registry.get(cls.__name__)
        # A class defined again (a notebook cell run twice) replaces itself; two different
        # classes under one name would make every file that names it ambiguous.
        if known is not None and _origin(known) != _origin(cls):
            raise TypeError(
                f"a {cls.kind} class named {cls.__name__!r} exists already "
                f"({_origin(known)}): give {_origin(cls)} another name"
            )
        cls.registry[cls.__name__] = cls

    def arguments(self):
        """The constructor arguments that rebuild this object, JSON scalars and lists: by
        default each parameter of ``__init__``, read from the attribute of the same name."""
        name, values = type(self).__name__, {}
        for p in inspect.signature(type(self)).parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or not hasattr(self, p.name):
                raise TypeError(
                    f"cannot describe a {name}: its argument {p.name!r} is not kept as "
                    f"self.{p.name} (override arguments and from_arguments)"
                )
            values[p.name] = getattr(self, p.name)
        return values

    def describe(self):
        """``{"type": class name, **arguments}``: what :meth:`rebuild` makes again."""
        name, registered = type(self).__name__, self.registry.get(type(self).__name__)
        # The same origin: an object of a class defined again since is rebuilt as the new one.
        if registered is None or _origin(registered) != _origin(type(self)):
            raise TypeError(f"cannot save a {name}: it is not a registered {self.kind} class")
        arguments = self.arguments()
        for key, value in arguments.items():
            if not _json_argument(value):
                raise TypeError(
                    f"cannot save a {name}: its argument {key!r} ({type(value).__name__}) "
                    "is not a JSON number, string, boolean, null or list"
                )
        return {"type": name, **arguments}

    @classmethod
    def from_arguments(cls, arguments, dtype):
        """A fresh instance from checked ``arguments``; ``dtype`` is for parameters."""
        return cls(**arguments)

    @classmethod
    def rebuild(cls, description, dtype=np.float32, *, max_parameters=None):
        """A fresh instance of the registered subclass of ``cls`` that ``description``
        (from :meth:`describe`, or an untrusted file) names; a :class:`ModelFileError`
        that says what is wrong otherwise. ``max_parameters``: the most parameter values
        the whole tree may hold (see :func:`reserve_parameters`)."""
        if max_parameters is None:
            return cls._rebuild_one(description, dtype)
        token = _BUDGET.set([int(max_parameters), int(max_parameters)])
        try:
            return cls._rebuild_one(description, dtype)
        finally:
            _BUDGET.reset(token)

    @classmethod
    def _rebuild_one(cls, description, dtype):
        if not isinstance(description, dict) or not isinstance(description.get("type"), str):
            raise ModelFileError(
                f"a {cls.kind} entry must be an object with a 'type', "
                f"got {reprlib.repr(description)}"
            )
        name = description["type"]
        found = cls.registry.get(name)
        if found is None or not issubclass(found, cls):
            known = ", ".join(sorted(n for n, c in cls.registry.items() if issubclass(c, cls)))
            raise ModelFileError(f"unknown {cls.kind} type {name!r} (known: {known})")
        arguments = {k: v for k, v in description.items() if k != "type"}
        for key, value in arguments.items():
            if not _json_argument(value):
                raise ModelFileError(
                    f"{name} {cls.kind} argument {key!r} must be a number, string, boolean, "
                    f"null or list, got {reprlib.repr(value)}"
                )
        try:
            return found.from_arguments(arguments, np.dtype(dtype))
        except ModelFileError:
            raise  # from a layer inside a container: it already says what is wrong
        except RecursionError:
            raise ModelFileError(f"the {cls.kind} descriptions nest too deeply") from None
        # MemoryError too: the sizes come from the file, and a huge one is its fault.
        except (TypeError, ValueError, ArithmeticError, MemoryError) as err:
            raise ModelFileError(
                f"bad {name} {cls.kind} arguments {reprlib.repr(arguments)} ({err})"
            ) from None


def _json_argument(value):
    """A JSON scalar, or a list of JSON values (objects inside: a Sequential's layers)."""
    if isinstance(value, list):
        return all(isinstance(v, dict) or _json_argument(v) for v in value)
    return value is None or isinstance(value, bool | int | float | str)


def _origin(cls):
    return f"{cls.__module__}.{cls.__qualname__}"
