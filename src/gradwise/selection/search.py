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
recorded as ``"failed"`` with its message, and the search goes on; so is a trial whose
worker process dies (killed, out of memory, a Ray node that cannot import gradwise). If
every trial fails, :meth:`Search.fit` ends with one line naming the first error.

Any estimator with ``get_params``, ``set_params``, ``fit`` and ``score`` can be searched
(the gradwise classifiers, :class:`~gradwise.estimators.KNNClassifier`, scikit-learn's). Each
trial fits a fresh copy, ``type(estimator)(**estimator.get_params())`` with the trial's
parameters set, so the estimator's own ``seed`` makes every trial reproducible.
"""

import contextlib
import hashlib
import json
import math
import numbers
import time
from pathlib import Path

import numpy as np

from .._html import block, table
from .._validate import in_unit_interval
from ..data import kfold, stratified_split_indices
from ..errors import DivergenceError, GradwiseError
from ..storage.atomic import write_json
from ..training.loop import EVAL_ROWS
from .executors import TaskLost, get_executor
from .space import grid_configs, make_space, native_value, random_configs, space_text
from .trial_log import TRIALS_FILE, TrialLog

MANIFEST_FILE = "sweep.json"
MANIFEST_FORMAT = 1

# -- search spaces ---------------------------------------------------------------------------


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


def refit_config(shared, params):
    """A fresh copy of the estimator with ``params``, fitted on all the rows (a task: the
    largest fit of a search runs where the trials ran, not on the driver)."""
    return fresh_copy(shared["estimator"], params).fit(shared["X"], shared["y"])


#: Bytes a NumPy float64 takes: the preprocessing's working copies are float64 at most.
WORK_ITEMSIZE = 8

#: What a fit allocates whatever its data (minibatch buffers, first-call caches): 64 MiB.
FIT_ALLOWANCE = 64 * 2**20


def fit_memory(estimator, X, n_rows, n_classes):
    """Bytes a fit of ``estimator`` on ``n_rows`` rows of ``X`` is estimated to need at most:
    what Ray is asked to reserve for a trial (and for the refit) on a node.

    ``n_rows x 2 x row bytes + float bytes + model state + 64 MiB``: the rows
    are copied twice in their own dtype (the trial's split, then the estimator's own
    train/validation split). Float rows: uint8 images a classifier trains on by minibatches
    stay uint8 and are converted a block at a time, so at most one evaluation block
    (``training.loop.EVAL_ROWS`` rows, in the classifier's dtype) is float at once; other
    inputs (and full-batch training) are made into floats whole, twice, float64 at most
    (the preprocessing's output and one temporary of it). The model's state is the
    estimator's ``state_nbytes(input_shape, n_classes)`` where it has one (the parameters,
    their gradients and the optimizer's buffers); :data:`FIT_ALLOWANCE` covers what a fit
    allocates whatever its size. The data shared by every trial is not counted: Ray keeps
    it once per node in its object store, which it sizes apart.
    """
    n_features = math.prod(X.shape[1:])
    full_batch = getattr(estimator, "trains_full_batch", None)
    streamed = X.dtype == np.uint8 and callable(full_batch) and not full_batch()
    if streamed:  # one block of the classifier's own float dtype
        floats = min(n_rows, EVAL_ROWS) * n_features * np.dtype(estimator.dtype).itemsize
    else:
        floats = 2 * n_rows * n_features * WORK_ITEMSIZE
    rows = n_rows * 2 * n_features * X.itemsize + floats
    state = getattr(estimator, "state_nbytes", None)
    model = state(tuple(X.shape[1:]), n_classes) if callable(state) else 0
    return int(rows + model + FIT_ALLOWANCE)


def lost_trial(lost):
    """The record of a trial whose worker died before it finished (``lost``: a TaskLost)."""
    return {
        "status": "failed",
        "val_score": None,
        "val_std": None,
        "fold_scores": [],
        "seconds": 0.0,
        "error": f"{type(lost).__name__}: {lost}",
    }


def fresh_copy(estimator, params=None):
    """An unfitted ``type(estimator)`` with the same parameters, then ``params`` set."""
    model = type(estimator)(**estimator.get_params(deep=False))
    if params:
        model.set_params(**params)
    return model


# -- the trial log ---------------------------------------------------------------------------


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
        :mod:`gradwise.selection.executors`. Each task asks for :func:`fit_memory` bytes,
        and each record gets the executor's ``node`` and ``attempts`` for its trial.
    refit : bool
        Refit the best configuration on all the data given to :meth:`fit`, as one more task
        of the executor (on a Ray cluster, the largest fit runs there, not on the driver).
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
        if todo or self.refit:
            executor.check()  # a Ray address that does not answer fails before a file is written
        if manifest is not None and not (self.out / MANIFEST_FILE).exists():
            write_json(
                self.out / MANIFEST_FILE, manifest, indent=2, sort_keys=True, make_parents=True
            )
        shared = {"estimator": self.estimator, "X": X, "y": y, "splits": splits}
        with executor if todo or self.refit else contextlib.nullcontext():
            if todo:
                self._run_trials(executor, shared, configs, todo, done, log)
            self.trials_ = [done[i] for i in range(len(configs))]
            self.ranked_ = rank(self.trials_)
            best = self.ranked_[0]
            if best["status"] != "ok":
                raise GradwiseError(f"every trial failed; the first error was: {best['error']}")
            self.best_trial_ = best
            self.best_params_ = dict(best["params"])
            self.best_score_ = best["val_score"]
            if self.refit:
                self.best_estimator_ = self._refit(executor, shared, self.best_params_)
        return self

    def _run_trials(self, executor, shared, configs, todo, done, log):
        rows = max(len(train) + len(val) for train, val in shared["splits"])
        memory = fit_memory(self.estimator, shared["X"], rows, _n_classes(shared["y"]))
        ran_on = getattr(executor, "ran_on", {})
        for i, result in executor.run(evaluate_config, shared, todo, label="trial", memory=memory):
            if isinstance(result, TaskLost):  # its worker died: that trial failed
                result = lost_trial(result)
            record = {"trial": i, "params": configs[i], **result, **ran_on.get(i, {})}
            done[i] = record
            if log:
                log.append(record)
            if self.on_trial:
                self.on_trial(record)

    def _refit(self, executor, shared, params):
        """The best configuration fitted on all the rows, by the executor like a trial."""
        memory = fit_memory(self.estimator, shared["X"], len(shared["y"]), _n_classes(shared["y"]))
        tasks = [("best", params)]
        for _, fitted in executor.run(refit_config, shared, tasks, label="refit", memory=memory):
            if isinstance(fitted, TaskLost):
                raise GradwiseError(f"the refit of the best configuration was lost: {fitted}")
            return fitted
        raise GradwiseError("the executor returned no refit")  # a custom executor's fault

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

    def _repr_html_(self):
        """Jupyter's view of a fitted search: the ranked table, the numbers of :meth:`table`."""
        if not hasattr(self, "ranked_"):
            return None  # not fitted: Jupyter falls back to the plain repr
        return block(f"{self.kind}: best {self.best_score_:.4f}",
                     table(*ranked_cells(self.ranked_)))  # fmt: skip

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
        return {"kind": self.kind, "space": space_text(self.space), "points": self.points}


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
        return {"kind": self.kind, "space": space_text(self.space)}


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
    header, lines = ranked_cells(ranked, top)
    widths = [max([len(h)] + [len(c[i]) for c in lines]) for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    out += [
        "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        for cells in lines
    ]
    return "\n".join(out)


def ranked_cells(ranked, top=None):
    """``(header, rows)`` of :func:`format_table`, every cell a string (the HTML view's too)."""
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
    return header, lines


def data_fingerprint(X, y):
    """Shapes, dtypes and SHA-256 digests of ``X`` and ``y`` (to recognise the same data)."""
    return {
        "X": {"shape": list(X.shape), "dtype": str(X.dtype), "sha256": _digest(X)},
        "y": {"shape": list(y.shape), "dtype": str(y.dtype), "sha256": _digest(y)},
    }


def _finished(records, configs):
    """``{trial: record}`` of logged records that belong to this search's configurations."""
    done = {}
    for record in records:
        i = record.get("trial")
        if isinstance(i, int) and 0 <= i < len(configs) and i not in done:
            if record.get("params") == configs[i] and record.get("status") in ("ok", "failed"):
                done[i] = record
    return done


def _n_classes(y):
    return len(np.unique(y))


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


def _jsonable(params):
    return {name: _plain(value) for name, value in params.items()}


def _plain(value):
    """``value`` as JSON data that is the same from one run to the next."""
    value = native_value(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    text = repr(value)
    # A default repr holds a memory address, different in every process: keep the type only.
    return f"{type(value).__module__}.{type(value).__qualname__}" if " at 0x" in text else text


def _cell(value):
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _shorten(text, width):
    text = str(text)
    return text if len(text) <= width else text[: width - 3] + "..."
