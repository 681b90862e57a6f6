"""Choosing hyperparameters on validation data: search spaces, grid and random search.

The course's data-driven paradigm: hyperparameters are chosen on validation data, never on
test data. A search evaluates each configuration on a stratified validation split (or by
k-fold cross-validation) of the training data it is given, refits the best configuration
on all of that data (train + validation) and leaves the test set to be scored once, by
the caller, with :meth:`Search.score`.

Search spaces map parameter names to dimensions::

    space = {"optimizer": "sgd,adam", "lr": "1e-4:1e-1:log", "reg": "1e-5:1e-1:log",
             "batch_size": [64, 256], "hidden": "32:512:log:int"}

* ``"a,b,c"`` or a list: a :class:`Choice` (numbers are parsed as int or float).
* ``"low:high"``: :class:`Uniform`; ``"low:high:log"``: :class:`LogUniform` (uniform in
  ``log``, the right prior for learning rates and regularisation strengths); add ``:int``
  to round samples to integers (batch size, epochs, hidden units).

:class:`RandomSearch` draws ``n_trials`` configurations with ``np.random.default_rng(seed)``
(parameters in sorted name order, trial after trial, so the first 40 trials of a 60-trial
search are the 40 trials of a 40-trial search). :class:`GridSearch` takes every
combination, ranges becoming ``points`` evenly (or log-evenly) spaced values.

Resumable: with ``out``, each finished trial is appended to ``out/trials.jsonl`` (one
complete JSON line, flushed and fsync'ed) the moment it completes; fitting the same search
again reads it and runs only the trials not there yet, so a search killed mid-way loses
at most the trials in flight. ``out/sweep.json`` records what the trials were computed on
(estimator, base parameters, space, validation scheme, a SHA-256 of the data); a different
search in the same folder is refused. A configuration whose fit raises (a diverging
optimizer's :class:`~gradwise.DivergenceError`, say) or whose score is not finite is
recorded as ``"failed"`` with its message, and the search goes on.

Any estimator with ``get_params``, ``set_params``, ``fit`` and ``score`` can be searched
(the gradwise classifiers, :class:`~gradwise.knn.KNNClassifier`, scikit-learn's). Each
trial fits a fresh copy, ``type(estimator)(**estimator.get_params())`` with the trial's
parameters set, so the estimator's own ``seed`` makes every trial reproducible.
"""

import hashlib
import itertools
import json
import math
import numbers
import os
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

from ._validate import in_unit_interval
from .data import kfold, stratified_split_indices
from .errors import DivergenceError, GradwiseError
from .executors import get_executor

TRIALS_FILE = "trials.jsonl"
MANIFEST_FILE = "sweep.json"
MANIFEST_FORMAT = 1

# -- search spaces ---------------------------------------------------------------------------


class Choice:
    """One of a fixed list of values (sampled uniformly; a grid takes all of them)."""

    def __init__(self, values):
        values = tuple(_native(v) for v in values)
        if not values:
            raise ValueError("a choice needs at least one value, got an empty list")
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


# -- validation ------------------------------------------------------------------------------


def validation_splits(y, folds=None, val_fraction=0.2, seed=0):
    """``[(train_indices, val_indices), ...]``: one stratified split, or ``folds`` folds."""
    y = np.asarray(y)
    if folds is None:
        in_unit_interval("val_fraction", val_fraction)
        return [stratified_split_indices(y, val_fraction, seed=seed)]
    return kfold(len(y), folds, seed=seed)


def stratified_subset(X, y, size, seed=0):
    """``(X, y)`` whole, or a stratified, seeded subset of ``size`` rows (``None``: all)."""
    if size is None or size >= len(y):
        return X, y
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 2:
        raise ValueError(f"a subset needs an integer size >= 2, got {size!r}")
    _, subset = stratified_split_indices(np.asarray(y), size / len(y), seed=seed)
    return X[subset], y[subset]


def evaluate_config(shared, params):
    """Fit a fresh copy of the estimator with ``params`` on each split; a trial's record.

    Runs in a worker. Never raises for a bad configuration: the error becomes the record's
    ``"failed"`` status and message.
    """
    estimator, X, y, splits = shared["estimator"], shared["X"], shared["y"], shared["splits"]
    start = time.perf_counter()
    scores = []
    try:
        for train, val in splits:
            model = fresh_copy(estimator, params)
            model.fit(X[train], y[train])
            score = float(model.score(X[val], y[val]))
            if not math.isfinite(score):
                raise DivergenceError(f"validation score is {score}")
            scores.append(score)
    except Exception as err:  # any error of a configuration fails that trial only
        return {
            "status": "failed",
            "val_score": None,
            "val_std": None,
            "fold_scores": scores,
            "seconds": time.perf_counter() - start,
            "error": f"{type(err).__name__}: {err}",
        }
    return {
        "status": "ok",
        "val_score": float(np.mean(scores)),
        "val_std": float(np.std(scores)),
        "fold_scores": scores,
        "seconds": time.perf_counter() - start,
        "error": None,
    }


def fresh_copy(estimator, params=None):
    """An unfitted ``type(estimator)`` with the same parameters, then ``params`` set."""
    model = type(estimator)(**estimator.get_params(deep=False))
    if params:
        model.set_params(**params)
    return model


# -- the trial log ---------------------------------------------------------------------------


class TrialLog:
    """``trials.jsonl``: one JSON object per finished trial, appended as each completes."""

    def __init__(self, path):
        self.path = Path(path)

    def read(self):
        """The records written so far (a torn last line, from a kill mid-write, is skipped)."""
        if not self.path.exists():
            return []
        records = []
        with open(self.path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    warnings.warn(
                        f"{self.path}:{number}: unreadable line skipped", RuntimeWarning, 2
                    )
                    continue
                records.append(record)
        return records

    def append(self, record):
        """Append ``record`` as one line, on disk before this returns.

        If a kill tore the last line (no newline at the end), the record starts a new line,
        so the torn fragment stays the only unreadable line.
        """
        line = (json.dumps(record, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab+") as f:
            if f.tell() > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    line = b"\n" + line
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


# -- searches --------------------------------------------------------------------------------


class Search:
    """Evaluate configurations on validation data, keep a resumable log, refit the best.

    Parameters
    ----------
    estimator
        Anything with ``get_params``, ``set_params``, ``fit`` and ``score`` (higher is better).
    folds : int or None
        k-fold cross-validation with ``folds`` folds; ``None`` scores on one stratified
        validation split of ``val_fraction`` of the data.
    seed : int
        Seeds the configurations drawn (random search) and the splits.
    out : path or None
        Folder for ``trials.jsonl`` and ``sweep.json``; ``None`` keeps nothing on disk.
    executor : str or executor
        ``"local"`` (process pool, every core), ``"ray"``, ``"serial"`` or an instance from
        :mod:`gradwise.executors`.
    refit : bool
        Refit the best configuration on all the data given to :meth:`fit`.
    on_trial : callable or None
        Called with each record as its trial completes (progress reports).

    After :meth:`fit`: ``trials_`` (records in trial order), ``ranked_`` (best first),
    ``best_params_``, ``best_score_``, ``best_trial_``, ``best_estimator_`` and
    ``n_skipped_`` (trials read back from the log instead of run).
    """

    kind = "search"

    def __init__(
        self,
        estimator,
        *,
        folds=None,
        val_fraction=0.2,
        seed=0,
        out=None,
        executor="local",
        refit=True,
        on_trial=None,
    ):
        for method in ("get_params", "set_params", "fit", "score"):
            if not callable(getattr(estimator, method, None)):
                raise TypeError(f"{type(estimator).__name__} has no {method}(): not an estimator")
        if folds is not None and (
            isinstance(folds, bool) or not isinstance(folds, numbers.Integral) or folds < 2
        ):
            raise ValueError(f"folds must be an integer >= 2 (or None), got {folds!r}")
        if folds is None:
            in_unit_interval("val_fraction", val_fraction)
            if val_fraction == 0:
                raise ValueError("val_fraction must be > 0, got 0")
        self.estimator = estimator
        self.folds = folds
        self.val_fraction = val_fraction
        self.seed = seed
        self.out = None if out is None else Path(out)
        self.executor = executor
        self.refit = refit
        self.on_trial = on_trial

    def configs(self):
        """The configurations to evaluate, in trial order."""
        raise NotImplementedError

    def describe_space(self):
        """The search's settings as JSON-able data (written to ``sweep.json``)."""
        raise NotImplementedError

    def fit(self, X, y):
        """Run the trials not yet in the log, rank them, refit the best on ``(X, y)``."""
        X, y = _check_data(X, y)
        configs = self.configs()
        splits = validation_splits(y, self.folds, self.val_fraction, self.seed)
        executor = self._executor()
        log, manifest = None, None
        if self.out is not None:
            manifest = self._manifest(X, y)
            self._check_folder(manifest)
            log = TrialLog(self.out / TRIALS_FILE)
        done = _finished(log.read() if log else [], configs)
        self.n_skipped_ = len(done)
        todo = [(i, params) for i, params in enumerate(configs) if i not in done]
        if todo:
            executor.check()  # a Ray address that does not answer fails before a file is written
        if manifest is not None and not (self.out / MANIFEST_FILE).exists():
            write_json_atomic(self.out / MANIFEST_FILE, manifest)
        if todo:
            shared = {"estimator": self.estimator, "X": X, "y": y, "splits": splits}
            with executor:
                for i, result in executor.run(evaluate_config, shared, todo):
                    record = {"trial": i, "params": configs[i], **result}
                    done[i] = record
                    if log:
                        log.append(record)
                    if self.on_trial:
                        self.on_trial(record)
        self.trials_ = [done[i] for i in range(len(configs))]
        self.ranked_ = rank(self.trials_)
        best = self.ranked_[0]
        if best["status"] != "ok":
            raise GradwiseError(f"every trial failed; the first error was: {best['error']}")
        self.best_trial_ = best
        self.best_params_ = dict(best["params"])
        self.best_score_ = best["val_score"]
        if self.refit:
            self.best_estimator_ = fresh_copy(self.estimator, self.best_params_).fit(X, y)
        return self

    def score(self, X, y):
        """The refitted best estimator's score on ``(X, y)``: call it once, on the test set."""
        if not hasattr(self, "best_estimator_"):
            raise ValueError("call fit(X, y) with refit=True before score()")
        return float(self.best_estimator_.score(X, y))

    def table(self, top=None):
        """The ranked trials as a text table (best first; ``top`` rows at most)."""
        if not hasattr(self, "ranked_"):
            raise ValueError("call fit(X, y) before table()")
        return format_table(self.ranked_, top=top)

    # -- internals --

    def _executor(self):
        if isinstance(self.executor, str):
            return get_executor(self.executor)
        if not all(callable(getattr(self.executor, m, None)) for m in ("run", "check")):
            raise TypeError(f"executor must be a name or an executor, got {self.executor!r}")
        return self.executor

    def _manifest(self, X, y):
        return {
            "format": MANIFEST_FORMAT,
            "estimator": f"{type(self.estimator).__module__}.{type(self.estimator).__qualname__}",
            "base_params": _jsonable(self.estimator.get_params(deep=False)),
            "search": self.describe_space(),
            "validation": {
                "folds": self.folds,
                "val_fraction": self.val_fraction,
                "seed": self.seed,
            },
            "data": data_fingerprint(X, y),
        }

    def _check_folder(self, manifest):
        """Refuse a folder whose ``sweep.json`` describes a different search."""
        path = self.out / MANIFEST_FILE
        if self.out.exists() and not self.out.is_dir():
            raise GradwiseError(f"{self.out} is a file, not a folder")
        if not path.exists():
            return
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise GradwiseError(f"{path} is unreadable ({err}); use another folder") from err
        changed = sorted(
            k for k in set(manifest) | set(previous) if manifest.get(k) != previous.get(k)
        )
        if changed:
            raise GradwiseError(
                f"{self.out} holds a different sweep (its {', '.join(changed)} differ); "
                "use another output folder, or delete it to start over"
            )


class GridSearch(Search):
    """Every combination of ``space``; a range contributes ``points`` values."""

    kind = "grid"

    def __init__(self, estimator, space, *, points=5, **kwargs):
        super().__init__(estimator, **kwargs)
        self.space = make_space(space)
        check_param_names(estimator, self.space)
        self.points = points
        grid_configs(self.space, points)  # check points now, at the boundary

    def configs(self):
        return grid_configs(self.space, self.points)

    def describe_space(self):
        return {"kind": self.kind, "space": _space_text(self.space), "points": self.points}


class RandomSearch(Search):
    """``n_trials`` configurations drawn from ``space`` with ``np.random.default_rng(seed)``."""

    kind = "random"

    def __init__(self, estimator, space, n_trials=20, **kwargs):
        super().__init__(estimator, **kwargs)
        self.space = make_space(space)
        check_param_names(estimator, self.space)
        random_configs(self.space, n_trials, self.seed)  # check n_trials now
        self.n_trials = n_trials

    def configs(self):
        return random_configs(self.space, self.n_trials, self.seed)

    def describe_space(self):
        # n_trials is left out: a longer search with the same seed extends a shorter one.
        return {"kind": self.kind, "space": _space_text(self.space)}


def check_param_names(estimator, space):
    """Raise ValueError naming any parameter of ``space`` the estimator does not have."""
    known = set(estimator.get_params(deep=False))
    unknown = sorted(set(space) - known)
    if unknown:
        raise ValueError(
            f"{type(estimator).__name__} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(sorted(known))}"
        )


def rank(records):
    """Best first: finished trials by validation score (ties: earlier trial), failed last."""
    return sorted(
        records, key=lambda r: (r["status"] != "ok", -(r["val_score"] or 0.0), r["trial"])
    )


def format_table(ranked, top=None):
    """A text table of ranked records: rank, trial, validation score, parameters, time.

    Parameters with one value in every record are left out of the columns (they are the
    same for all trials); ``+-`` is the standard deviation over folds (``-`` for one split).
    """
    rows = ranked if top is None else ranked[:top]
    names = sorted({name for r in ranked for name in r["params"]})
    if len(ranked) > 1:
        names = [n for n in names if len({_cell(r["params"].get(n)) for r in ranked}) > 1]
    header = ["rank", "trial", "val acc", "+-"] + names + ["seconds", "status"]
    lines = []
    for place, r in enumerate(rows, 1):
        ok = r["status"] == "ok"
        spread = ok and len(r.get("fold_scores") or ()) > 1
        cells = [
            str(place),
            str(r["trial"]),
            f"{r['val_score']:.4f}" if ok else "-",
            f"{r['val_std']:.4f}" if spread else "-",
            *(_cell(r["params"].get(n)) for n in names),
            f"{r['seconds']:.1f}",
            "ok" if ok else f"failed: {_shorten(r['error'], 60)}",
        ]
        lines.append(cells)
    widths = [max([len(h)] + [len(c[i]) for c in lines]) for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    out += [
        "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        for cells in lines
    ]
    return "\n".join(out)


def data_fingerprint(X, y):
    """Shapes, dtypes and SHA-256 digests of ``X`` and ``y`` (to recognise the same data)."""
    return {
        "X": {"shape": list(X.shape), "dtype": str(X.dtype), "sha256": _digest(X)},
        "y": {"shape": list(y.shape), "dtype": str(y.dtype), "sha256": _digest(y)},
    }


def write_json_atomic(path, data):
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _finished(records, configs):
    """``{trial: record}`` of logged records that belong to this search's configurations."""
    done = {}
    for record in records:
        i = record.get("trial")
        if isinstance(i, int) and 0 <= i < len(configs) and i not in done:
            if record.get("params") == configs[i] and record.get("status") in ("ok", "failed"):
                done[i] = record
    return done


def _check_data(X, y):
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim < 1 or len(X) == 0:
        raise ValueError(f"X must be a non-empty array, got shape {X.shape}")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must be 1-D with {len(X)} labels, got shape {y.shape}")
    return X, y


def _digest(array):
    h = hashlib.sha256()
    flat = np.ascontiguousarray(array).reshape(-1)
    step = max(1, (64 << 20) // max(1, flat.itemsize))
    for start in range(0, len(flat), step):
        h.update(flat[start : start + step].tobytes())
    return h.hexdigest()


def _space_text(space):
    return {name: repr(dim) for name, dim in space.items()}


def _jsonable(params):
    return {name: _plain(value) for name, value in params.items()}


def _plain(value):
    """``value`` as JSON data that is the same from one run to the next."""
    value = _native(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    text = repr(value)
    # A default repr holds a memory address, different in every process: keep the type only.
    return f"{type(value).__module__}.{type(value).__qualname__}" if " at 0x" in text else text


def _native(value):
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


def _cell(value):
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _shorten(text, width):
    text = str(text)
    return text if len(text) <= width else text[: width - 3] + "..."
