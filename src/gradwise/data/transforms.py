"""Preprocessing: fitted on the training inputs, applied the same way to any other inputs.

Each step maps an ``(N, ...)`` array to a new array (never modifying or aliasing its input):

``ToFloat32``        uint8 images -> float32 ``x / 255`` in [0, 1]; float inputs -> float32.
``MeanSubtraction``  ``x - mu``; ``per="pixel"``: ``mu`` is the mean training image (one value
                     per pixel and channel, shape ``X.shape[1:]``); ``per="channel"``: one value
                     per channel (the last axis), averaged over examples and positions.
``Standardize``      ``(x - mu) / sigma`` with ``mu`` as above and ``sigma`` the population
                     standard deviation (ddof = 0) over the same axes; a ``sigma`` below
                     ``eps`` (a constant pixel) is replaced by 1 so that it stays finite.
``Flatten``          ``(N, H, W, C)`` -> ``(N, H*W*C)``, row-major: feature
                     ``(h * W + w) * C + c`` is pixel ``(h, w)``, channel ``c``.
``BiasTrick``        append a constant column (1 by default) as the *last* feature, so a
                     weight matrix ``W`` of shape ``(D + 1, K)`` holds the bias in ``W[-1]``.

A :class:`Pipeline` chains steps; once fitted it is the ``features`` function:
``features = preprocessing(center="pixel").fit(ds.X_train); X = features(ds.X_train)``.
Statistics are computed in float64 (in chunks, with Chan's pairwise update, so memory stays
bounded) and stored as float32. ``Pipeline.fit`` streams too: the steps before the last one
that learns statistics are applied a chunk at a time as the statistics need them, so fitting
on uint8 images never makes their float copy (the same chunks, so the same numbers, as
fitting on that copy). :mod:`gradwise.data.features` applies a fitted pipeline a minibatch
at a time.

Saving: every step and pipeline round-trips through plain data, with no pickle.
``get_state() -> (config, arrays)`` gives a JSON-serialisable ``config`` and a flat
``{name: ndarray}`` dict (what a ``.npz`` model file stores); ``Pipeline.from_state(config,
arrays)`` rebuilds it. ``to_dict()``/``from_dict()`` give one JSON-serialisable dict with the
arrays inlined as lists (exact: a float32 survives the trip through a JSON number).
"""

import numpy as np

from .._validate import choice, positive

CHUNK_ROWS = 4096
SUB_ROWS = 256  # rows of the input converted at a time into a statistics chunk
_REGISTRY = {}


class Transform:
    """Base class: ``fit(X)`` learns statistics (if any), ``transform(X)``/``__call__`` apply."""

    kind = ""
    array_names = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _REGISTRY[cls.kind] = cls

    def fit(self, X):
        """Learn from the training inputs ``X``; return ``self``."""
        _check_input(X)
        return self

    def transform(self, X):
        """Apply to ``X``; the result never shares memory with ``X``."""
        Y, owned = self._apply(_check_input(X), owned=False)
        return Y if owned else Y.copy()

    __call__ = transform

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    @property
    def fitted(self) -> bool:
        return all(getattr(self, name, None) is not None for name in self.array_names)

    def get_config(self) -> dict:
        """The constructor arguments, JSON-serialisable."""
        return {}

    def get_arrays(self) -> dict:
        """The fitted statistics (empty before ``fit`` or for stateless steps)."""
        return {n: getattr(self, n) for n in self.array_names if getattr(self, n) is not None}

    def set_arrays(self, arrays) -> None:
        for name in self.array_names:
            if name not in arrays:
                raise ValueError(f"{type(self).__name__} state lacks the array {name!r}")
            setattr(self, name, np.asarray(arrays[name], np.float32))

    def get_state(self) -> tuple[dict, dict]:
        return {"type": self.kind, "config": self.get_config()}, self.get_arrays()

    def to_dict(self) -> dict:
        arrays = {name: _array_to_json(a) for name, a in self.get_arrays().items()}
        return {"type": self.kind, "config": self.get_config(), "arrays": arrays}

    @staticmethod
    def from_dict(document):
        """Rebuild any step, or a :class:`Pipeline`, from :meth:`to_dict` output."""
        return transform_from_dict(document)

    def _apply(self, X, owned):
        """Return ``(Y, owned)``: ``owned`` tells whether ``Y`` may be modified in place."""
        raise NotImplementedError

    def _require_fitted(self):
        if not self.fitted:
            raise ValueError(f"{type(self).__name__} is not fitted: call fit(X_train) first")

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class ToFloat32(Transform):
    """uint8 -> float32 in [0, 1] (``x / 255``, correctly rounded); float -> float32 unscaled."""

    kind = "to_float32"

    def _apply(self, X, owned):
        if X.dtype == np.uint8:
            return np.divide(X, np.float32(255), dtype=np.float32), True
        if not np.issubdtype(X.dtype, np.floating):
            raise TypeError(f"ToFloat32 expects uint8 images or float features, got {X.dtype}")
        Y = X.astype(np.float32, copy=False)
        return Y, owned if Y is X else True


class _Centering(Transform):
    """Shared by the steps that learn a mean (and maybe a scale) per pixel or per channel."""

    def __init__(self, per="pixel"):
        self.per = choice("per", per, ("pixel", "channel"))
        self.mean = None

    def get_config(self):
        return {"per": self.per}

    def _axes(self, X):
        return (0,) if self.per == "pixel" else tuple(range(X.ndim - 1))

    def _check_shape(self, X):
        self._require_fitted()
        expected = self.mean.shape
        got = X.shape[1:] if self.per == "pixel" else X.shape[-1:]
        if got != expected:
            raise ValueError(
                f"{type(self).__name__} was fitted on inputs ending in {expected}, got {X.shape}"
            )

    @staticmethod
    def _float_owned(X, owned):
        if X.dtype == np.float32:
            return X, owned
        return X.astype(np.float32), True


class MeanSubtraction(_Centering):
    """``x - mu`` with ``mu`` the training mean per pixel or per channel (see module docstring)."""

    kind = "mean_subtraction"
    array_names = ("mean",)

    def fit(self, X):
        X = _check_input(X)
        self.mean = _moments(X, self._axes(X))[0].astype(np.float32)
        return self

    def _apply(self, X, owned):
        self._check_shape(X)
        Y, owned = self._float_owned(X, owned)
        if owned:
            np.subtract(Y, self.mean, out=Y)
            return Y, True
        return Y - self.mean, True


class Standardize(_Centering):
    """``(x - mu) / sigma`` per pixel or per channel; ``sigma < eps`` is replaced by 1."""

    kind = "standardize"
    array_names = ("mean", "std")

    def __init__(self, per="pixel", eps=1e-8):
        super().__init__(per)
        self.eps = float(positive("eps", eps))
        self.std = None

    def get_config(self):
        return {"per": self.per, "eps": self.eps}

    def fit(self, X):
        X = _check_input(X)
        mean, var = _moments(X, self._axes(X))
        std = np.sqrt(var)
        self.mean = mean.astype(np.float32)
        self.std = np.where(std < self.eps, 1.0, std).astype(np.float32)
        return self

    def _apply(self, X, owned):
        self._check_shape(X)
        Y, owned = self._float_owned(X, owned)
        if not owned:
            Y = Y.copy()
        np.subtract(Y, self.mean, out=Y)
        np.divide(Y, self.std, out=Y)
        return Y, True


class Flatten(Transform):
    """``(N, d1, d2, ...)`` -> ``(N, d1*d2*...)``, row-major (C order)."""

    kind = "flatten"

    def _apply(self, X, owned):
        Y = X.reshape(len(X), -1)
        return Y, owned if np.shares_memory(X, Y) else True


class BiasTrick(Transform):
    """Append a constant column ``value`` as the last feature of ``(N, D)`` inputs."""

    kind = "bias_trick"

    def __init__(self, value=1.0):
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
            raise ValueError(f"value must be a finite number, got {value!r}")
        self.value = float(value)

    def get_config(self):
        return {"value": self.value}

    def _apply(self, X, owned):
        if X.ndim != 2:
            raise ValueError(f"BiasTrick expects (N, D) features (flatten first), got {X.shape}")
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float32
        Y = np.empty((X.shape[0], X.shape[1] + 1), dtype)
        Y[:, :-1] = X
        Y[:, -1] = self.value
        return Y, True


class Pipeline(Transform):
    """Steps applied in order; ``fit`` fits each step on the output of the previous ones."""

    kind = "pipeline"

    def __init__(self, steps=()):
        steps = list(steps)
        for step in steps:
            if not isinstance(step, Transform) or isinstance(step, Pipeline):
                raise TypeError(f"pipeline steps must be transforms, got {step!r}")
        self.steps = steps

    @property
    def fitted(self):
        return all(step.fitted for step in self.steps)

    def fit(self, X):
        """Fit each step on the previous steps' output, made chunk by chunk (see the module
        docstring); the steps after the last one with statistics have nothing to learn."""
        X = _check_input(X)
        learning = [i for i, step in enumerate(self.steps) if step.array_names]
        for step in self.steps[: learning[-1] + 1] if learning else ():
            step.fit(X)
            X = _Applied(step, X)
        return self

    def fit_transform(self, X):
        return self._run(X, fit=True)

    def transform(self, X):
        return self._run(X, fit=False)

    __call__ = transform

    def _run(self, X, *, fit, output=True):
        X = _check_input(X)
        owned = False
        for i, step in enumerate(self.steps):
            if fit:
                step.fit(X)
            if not output and i == len(self.steps) - 1:
                return None  # Fitting alone need not compute the last step's output.
            X, owned = step._apply(X, owned)
        return X if owned else X.copy()

    def get_config(self):
        return {"steps": [{"type": s.kind, "config": s.get_config()} for s in self.steps]}

    def get_arrays(self):
        return {
            f"{i}.{name}": array
            for i, step in enumerate(self.steps)
            for name, array in step.get_arrays().items()
        }

    def get_state(self):
        """``(config, arrays)``: JSON-serialisable config and ``{"<step>.<name>": ndarray}``."""
        return {"type": self.kind, "config": self.get_config()}, self.get_arrays()

    @classmethod
    def from_state(cls, config, arrays):
        """Rebuild a fitted pipeline from :meth:`get_state` output."""
        if config.get("type") != cls.kind:
            raise ValueError(f"not a pipeline state: type {config.get('type')!r}")
        steps = []
        for i, spec in enumerate(config["config"]["steps"]):
            step = _build(spec)
            prefix = f"{i}."
            own = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            if step.array_names:
                step.set_arrays(own)
            steps.append(step)
        return cls(steps)

    def to_dict(self):
        return {"type": self.kind, "steps": [step.to_dict() for step in self.steps]}

    def __repr__(self):
        return f"Pipeline([{', '.join(repr(s) for s in self.steps)}])"

    def __len__(self):
        return len(self.steps)


def preprocessing(*, scale=True, center="pixel", standardize=False, flatten=True, bias_trick=False):
    """An unfitted :class:`Pipeline` of the usual steps, in the usual order.

    ``scale``: :class:`ToFloat32` first (uint8 -> [0, 1]). ``center``: ``"pixel"``,
    ``"channel"`` or ``None`` (no centring). ``standardize``: divide by the standard deviation
    too (per ``center``'s axis; needs ``center``). ``flatten``: :class:`Flatten`.
    ``bias_trick``: :class:`BiasTrick` last (needs ``flatten``).
    """
    choice("center", center, (None, "pixel", "channel"))
    if standardize and center is None:
        raise ValueError("standardize=True needs center='pixel' or center='channel'")
    if bias_trick and not flatten:
        raise ValueError("bias_trick=True needs flatten=True (it appends a feature column)")
    steps = [ToFloat32()] if scale else []
    if center is not None:
        steps.append(Standardize(per=center) if standardize else MeanSubtraction(per=center))
    if flatten:
        steps.append(Flatten())
    if bias_trick:
        steps.append(BiasTrick())
    return Pipeline(steps)


def transform_from_dict(document) -> Transform:
    """Rebuild a step or a :class:`Pipeline` from ``to_dict()`` output."""
    if not isinstance(document, dict) or "type" not in document:
        raise ValueError("a transform document is a dict with a 'type' key")
    if document["type"] == Pipeline.kind:
        return Pipeline([transform_from_dict(step) for step in document["steps"]])
    step = _build(document)
    if step.array_names:
        step.set_arrays({k: _array_from_json(v) for k, v in document.get("arrays", {}).items()})
    return step


def _build(spec):
    kind = spec.get("type")
    if kind not in _REGISTRY or kind == Pipeline.kind:
        raise ValueError(f"unknown transform type {kind!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[kind](**spec.get("config", {}))


class _Applied:
    """``step(X)`` made ``CHUNK_ROWS`` rows at a time, as fitting reads it (``X[a:b]``)."""

    def __init__(self, step, X):
        self.step, self.X = step, X
        first = self[:1]
        self.shape = (len(X), *first.shape[1:])
        self.ndim, self.dtype = first.ndim, first.dtype

    def __len__(self):
        return len(self.X)

    def __getitem__(self, key):
        return self.step._apply(_check_input(self.X[key]), owned=False)[0]


def _check_input(X):
    if isinstance(X, _Applied):
        return X
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(f"inputs must be (N, ...) with N examples, got shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)):
        raise TypeError(f"inputs must be numeric, got {X.dtype}")
    return X


def _moments(X, axes):
    """Mean and population variance over ``axes`` (which include 0), in float64.

    Rows are processed ``CHUNK_ROWS`` at a time and merged with Chan et al.'s update
    ``M2 = M2_a + M2_b + delta^2 * n_a n_b / n``, so no float64 copy of all of ``X`` is made.
    """
    count, mean, m2 = 0, None, None
    per_row = int(np.prod([X.shape[a] for a in axes if a != 0], dtype=np.int64))
    buffer = None
    for start in range(0, len(X), CHUNK_ROWS):
        stop = min(len(X), start + CHUNK_ROWS)
        if buffer is None:
            buffer = np.empty((stop - start, *X.shape[1:]), np.float64)
        chunk = buffer[: stop - start]
        # Filled a few rows at a time and then worked on in place: this float64 chunk is
        # the only copy (what an earlier step makes, e.g. float32 x / 255, stays small).
        for sub in range(start, stop, SUB_ROWS):
            chunk[sub - start : sub - start + SUB_ROWS] = X[sub : min(stop, sub + SUB_ROWS)]
        n = chunk.shape[0] * per_row
        chunk_mean = chunk.mean(axis=axes)
        np.subtract(chunk, chunk_mean, out=chunk)
        chunk_m2 = np.square(chunk, out=chunk).sum(axis=axes)
        if mean is None:
            count, mean, m2 = n, chunk_mean, chunk_m2
            continue
        delta = chunk_mean - mean
        total = count + n
        mean = mean + delta * (n / total)
        m2 = m2 + chunk_m2 + delta**2 * (count * n / total)
        count = total
    if mean is None:
        raise ValueError("cannot fit on zero examples")
    return mean, m2 / count


def _array_to_json(array):
    array = np.asarray(array)
    return {"dtype": str(array.dtype), "shape": list(array.shape), "data": array.ravel().tolist()}


def _array_from_json(document):
    return np.asarray(document["data"], dtype=document["dtype"]).reshape(document["shape"])
