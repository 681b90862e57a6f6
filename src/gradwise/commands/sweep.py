"""``gradwise sweep``: choose a classifier's hyperparameters by random or grid search.

Each searched flag takes a list (``--optimizer sgd,adam``) or a range (``--lr
1e-4:1e-1:log``; ``:int`` for integers); flags not given keep the classifier's default.
Trials are scored on a stratified validation split of the training data (``--val-fraction``)
or by k-fold cross-validation (``--folds``); the best configuration is refit on all the
training data and scored once on the test set.

The output folder (``--out``) receives ``sweep.json`` (what the trials are computed on),
``trials.jsonl`` (one line per finished trial, appended as it completes), ``result.json``
(best configuration, validation and test accuracy, wall time) and ``heatmap.png``
(validation accuracy over learning rate and regularisation strength). Running the same
command again skips the trials already in ``trials.jsonl``.
"""

import json
import math
import sys
import time
from pathlib import Path

from ..estimators import CLASSIFIER_PARAMS, MODELS
from ..selection.executors import EXECUTORS, SHIPPING, get_executor
from ..selection.search import GridSearch, RandomSearch, format_table, stratified_subset
from ..selection.space import Choice, parse_dimension
from ..storage.atomic import write_json
from ._output import output_folder

#: Searchable flags -> estimator parameter, and whether their values are names (a list only).
SEARCHED = {
    "optimizer": ("optimizer", True),
    "lr": ("lr", False),
    "reg": ("reg", False),
    "batch_size": ("batch_size", False),
    "epochs": ("epochs", False),
    "schedule": ("schedule", True),
    "hidden": ("hidden", False),
    "augment": ("augment", True),
}


def register(subparsers):
    p = subparsers.add_parser(
        "sweep",
        help="choose hyperparameters by random or grid search on validation data",
        description="Random or grid search over a classifier's hyperparameters, scored on a "
        "stratified validation split or by k-fold cross-validation; the best configuration "
        "is refit on all training data and scored once on the test set. Re-running the "
        "same command resumes: finished trials are skipped.",
    )
    p.add_argument("--data", default="cifar10-sample", help="dataset name or path")
    p.add_argument(
        "--model",
        default="linear",
        choices=MODELS,
        help="linear (softmax), svm (linear multiclass SVM) or mlp (default linear)",
    )
    p.add_argument("--optimizer", help="optimizer names, e.g. sgd,adam")
    p.add_argument("--lr", help="learning rate: list or range, e.g. 1e-4:1e-1:log")
    p.add_argument("--reg", help="L2 strength: list or range, e.g. 1e-5:1e-1:log")
    p.add_argument("--batch-size", help="rows per step: list or range, e.g. 64,256")
    p.add_argument("--epochs", help="epochs: list or range, e.g. 5:20:int")
    p.add_argument("--schedule", help="learning-rate schedules, e.g. none,cosine")
    p.add_argument("--hidden", help="mlp hidden units: list or range, e.g. 32:512:log:int")
    preprocess = CLASSIFIER_PARAMS["preprocessing"]
    p.add_argument(
        "--preprocess",
        default=preprocess.default,
        help=f"{preprocess.help} (default {preprocess.default})",
    )
    p.add_argument("--augment", help="training-set augmentations, e.g. none,flip")
    p.add_argument(
        "--search", choices=("random", "grid"), default="random", help="(default random)"
    )
    p.add_argument("--trials", type=int, default=20, help="random search trials (default 20)")
    p.add_argument(
        "--grid-points", type=int, default=5, help="values per range in a grid (default 5)"
    )
    p.add_argument("--folds", type=int, help="k-fold cross-validation with this many folds")
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="stratified validation fraction when --folds is not given (default 0.1)",
    )
    p.add_argument(
        "--train-size", type=int, help="use a stratified subset of this many training rows"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of configurations, splits, weights")
    p.add_argument("--executor", choices=EXECUTORS, default="local", help="(default local)")
    p.add_argument(
        "--address",
        help="Ray cluster: auto, HOST:PORT or ray://HOST:10001 (Ray Client, for a driver "
        "outside the cluster); default: start a private instance",
    )
    p.add_argument(
        "--ship",
        choices=SHIPPING,
        help="how gradwise reaches a Ray cluster's nodes: py_modules (upload this gradwise, "
        "the default), pip (install this version and NumPy's from the package index) or none",
    )
    p.add_argument(
        "--workers",
        type=int,
        help="parallel trials (default: every core; on a Ray cluster, as many as it takes)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        help="Ray: seconds a trial may run; one that runs past it is recorded as failed",
    )
    p.add_argument("--top", type=int, default=20, help="rows of the ranked table (default 20)")
    p.add_argument("--out", type=Path, help="output folder (default runs/sweep-DATE-TIME)")
    p.set_defaults(func=run)


def run(args):
    started = time.perf_counter()
    space = search_space(args)
    estimator = build_estimator(args)
    check_values(estimator, space)
    executor = get_executor(
        args.executor,
        workers=args.workers,
        address=args.address,
        ship=args.ship,
        time_limit=args.time_limit,
    )
    for name in ("trials", "grid_points", "top"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    out = output_folder(args.out, "sweep")
    common = dict(
        folds=args.folds,
        val_fraction=args.val_fraction,
        seed=args.seed,
        out=out,
        executor=executor,
        on_trial=_progress_printer(args),
    )
    if args.search == "grid":
        search = GridSearch(estimator, space, points=args.grid_points, **common)
    else:
        search = RandomSearch(estimator, space, n_trials=args.trials, **common)

    executor.check()  # fail in seconds on a Ray address that does not answer

    from ..data import load

    ds = load(args.data)
    try:
        X, y = stratified_subset(ds.X_train, ds.y_train, args.train_size, args.seed)
    except ValueError as err:
        raise ValueError(f"--train-size: {err}") from None
    scheme = f"{args.folds}-fold CV" if args.folds else f"{args.val_fraction:g} validation split"
    print(
        f"sweep: {len(search.configs())} {args.search} trials of {type(estimator).__name__} "
        f"on {len(y)} training rows ({scheme}), executor {executor.name} -> {out}",
        flush=True,
    )
    search.fit(X, y)
    if search.n_skipped_:
        print(f"(skipped {search.n_skipped_} trials already in {out / 'trials.jsonl'})")
    test_score = search.score(ds.X_test, ds.y_test)
    seconds = time.perf_counter() - started
    print(format_table(search.ranked_, top=args.top))
    print(
        f"best: trial {search.best_trial_['trial']} {_params_text(search.best_params_)}: "
        f"val acc {search.best_score_:.4f}; refit on {len(y)} rows, "
        f"test acc {test_score:.4f} ({len(ds.y_test)} test rows); {seconds:.1f} s"
    )
    result = {
        "data": str(args.data),
        "estimator": type(estimator).__name__,
        "base_params": _plain_params(estimator.get_params()),
        "best_trial": search.best_trial_["trial"],
        "best_params": search.best_params_,
        "val_score": search.best_score_,
        "test_score": test_score,
        "n_train": int(len(y)),
        "n_test": int(len(ds.y_test)),
        "n_trials": len(search.trials_),
        "n_failed": sum(r["status"] != "ok" for r in search.trials_),
        "n_skipped": search.n_skipped_,
        "seconds": seconds,
        "command": "gradwise " + " ".join(sys.argv[1:]),
    }
    write_json(out / "result.json", result, indent=2, sort_keys=True, make_parents=True)
    written = [out / "trials.jsonl", out / "result.json"]
    from ..plot.heatmap import heatmap

    names = [param for param, names_only in SEARCHED.values() if names_only]
    picture = heatmap(search.trials_, out / "heatmap.png", panel_names=names)
    if picture is not None:
        written.append(picture)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def search_space(args):
    """``{parameter: dimension}`` from the searched flags that were given."""
    space = {}
    for flag, (param, names_only) in SEARCHED.items():
        text = getattr(args, flag)
        if text is None:
            continue
        try:
            if names_only:
                items = [item.strip() for item in text.split(",")]
                if not all(items):
                    raise ValueError(f"empty name in {text!r}")
                space[param] = Choice(items)
            else:
                space[param] = parse_dimension(text)
        except ValueError as err:
            raise ValueError(f"--{flag.replace('_', '-')}: {err}") from None
    if not space:
        flags = ", ".join("--" + f.replace("_", "-") for f in SEARCHED)
        raise ValueError(f"nothing to search: give at least one of {flags}")
    if "hidden" in space and args.model != "mlp":
        raise ValueError("--hidden is only searched with --model mlp")
    return space


#: A sweep's stricter floor for a parameter the classifier allows lower: a trial of 0
#: epochs is never trained, so it would score its initial weights.
SWEEP_AT_LEAST = {"epochs": 1}


def check_values(estimator, space):
    """Refuse, before any trial runs or any file is written, a searched value that no trial
    could use: each value of a list and both ends of a range (``--reg -1``, ``--batch-size
    0``, ``--lr 0:1``, ``--epochs 0``, an unknown ``--optimizer adamax``) is checked by the
    estimator's declared parameter check, and a listed name also by a whole trial's checks
    (instead of recording every trial that draws it as failed)."""
    params = type(estimator).params
    for flag, (param, names_only) in SEARCHED.items():
        if param not in space:
            continue
        name = "--" + flag.replace("_", "-")
        for value in dimension_values(space[param]):
            try:
                if names_only:  # a whole trial's checks, which also see the other settings
                    trial = type(estimator)(**{**estimator.get_params(), param: value})
                    trial._check_params()
                    continue
                params[param].check(name, value)
                low = SWEEP_AT_LEAST.get(param)
                if low is not None and value < low:
                    raise ValueError(f"{name} must be >= {low} in a sweep, got {value!r}")
            except (TypeError, ValueError) as err:
                message = str(err)
                raise ValueError(message if name in message else f"{name}: {message}") from None


def dimension_values(dimension):
    """The values that stand for ``dimension`` in the checks: a list's values, a range's
    two ends (as the integers an ``:int`` range rounds to)."""
    if isinstance(dimension, Choice):
        return list(dimension.values)
    if dimension.integer:
        return [math.ceil(dimension.low), math.floor(dimension.high)]
    return [dimension.low, dimension.high]


def build_estimator(args):
    """The classifier every trial starts from (its defaults, ``--preprocess``, ``--seed``)."""
    from ..estimators import classifier_class

    return classifier_class(args.model)(preprocessing=args.preprocess, seed=args.seed)


def _progress_printer(args):
    count = [0]

    def report(record):
        count[0] += 1
        status = (
            f"val acc {record['val_score']:.4f}"
            if record["status"] == "ok"
            else f"failed ({record['error']})"
        )
        print(
            f"[{count[0]}] trial {record['trial']}: {_params_text(record['params'])}: "
            f"{status} ({record['seconds']:.1f} s)",
            flush=True,
        )

    return report


def _params_text(params):
    return " ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )


def _plain_params(params):
    return json.loads(json.dumps(params, default=repr))
