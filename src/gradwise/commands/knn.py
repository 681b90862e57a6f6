"""``gradwise knn``: choose k of a k-nearest-neighbour classifier by cross-validation.

The training data are cut into ``--folds`` folds; for each fold, a
:class:`~gradwise.estimators.KNNClassifier` memorises the other folds and classifies this one for
every candidate k at once (one distance computation per fold). The k with the best mean
validation accuracy (ties: the smaller k) is then used on all the training data and scored
once on the test set. Prints the accuracy of every k and writes a plot of accuracy vs k
(each fold a dot, the mean with its standard deviation as error bars) and ``result.json``.
"""

import sys
import time
from pathlib import Path

import numpy as np

from ..estimators.knn import METRICS, KNNClassifier
from ..selection.search import stratified_subset
from ..storage.atomic import write_json
from ._files import add_overwrite_argument, check_targets
from ._output import output_folder


def register(subparsers):
    p = subparsers.add_parser(
        "knn",
        help="k-nearest neighbours: choose k by cross-validation, plot accuracy vs k",
        description="Cross-validate a k-nearest-neighbour classifier over several k, pick the "
        "best k on validation folds, then score it once on the test set.",
    )
    p.add_argument("--data", default="cifar10-sample", help="dataset name or path")
    p.add_argument("--k", default="1,3,5,10,20,50,100", help="candidate k, comma-separated")
    p.add_argument("--metric", choices=METRICS, default="l2", help="distance (default l2)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--train-size", type=int, help="use a stratified subset of the training rows")
    p.add_argument("--test-size", type=int, help="use a stratified subset of the test rows")
    p.add_argument("--seed", type=int, default=0, help="seed of the folds and subsets (0)")
    p.add_argument("--out", type=Path, help="output folder (default runs/knn-DATE-TIME)")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def run(args):
    started = time.perf_counter()
    ks = parse_ks(args.k)
    if args.folds < 2:
        raise ValueError(f"--folds must be >= 2, got {args.folds}")
    out = output_folder(args.out, "knn")
    check_targets([out / "knn.png", out / "result.json"], args.overwrite)

    from ..data import kfold, load

    ds = load(args.data)
    X, y = _subset(ds.X_train, ds.y_train, args.train_size, args.seed, "--train-size")
    X_test, y_test = _subset(ds.X_test, ds.y_test, args.test_size, args.seed, "--test-size")
    folds = kfold(len(y), args.folds, seed=args.seed)
    smallest = min(len(train) for train, _ in folds)
    if max(ks) > smallest:
        raise ValueError(f"k={max(ks)} is more than the {smallest} training rows of a fold")
    print(
        f"knn: {args.metric} distance, k in {ks}, {args.folds}-fold CV on {len(y)} training "
        f"rows of {args.data}",
        flush=True,
    )
    accuracy = cross_validate(X, y, folds, ks, args.metric)
    mean, std = accuracy.mean(axis=0), accuracy.std(axis=0)
    best = int(np.argmax(mean))  # first maximum: the smallest of equally good k
    print(format_accuracy(ks, accuracy))
    model = KNNClassifier(k=ks[best], metric=args.metric).fit(X, y)
    test_score = model.score(X_test, y_test)
    seconds = time.perf_counter() - started
    print(
        f"best k={ks[best]} (val acc {mean[best]:.4f} +- {std[best]:.4f}); on all {len(y)} "
        f"training rows: test acc {test_score:.4f} ({len(y_test)} test rows); {seconds:.1f} s"
    )
    from ..plot.knn import plot_accuracy  # matplotlib: only when drawing

    picture = plot_accuracy(ks, accuracy, out / "knn.png", title=f"{args.data}, {args.metric}")
    write_json(
        out / "result.json",
        {
            "data": str(args.data),
            "metric": args.metric,
            "k": ks,
            "fold_accuracy": accuracy.tolist(),
            "mean_accuracy": mean.tolist(),
            "best_k": ks[best],
            "val_score": float(mean[best]),
            "test_score": test_score,
            "n_train": int(len(y)),
            "n_test": int(len(y_test)),
            "seconds": seconds,
            "command": "gradwise " + " ".join(sys.argv[1:]),
        },
        indent=2,
        sort_keys=True,
        make_parents=True,
    )
    print(f"wrote {picture}, {out / 'result.json'}")
    return 0


def parse_ks(text):
    """Sorted unique candidate k from ``"1,3,5"``; each an integer >= 1."""
    try:
        ks = sorted({int(item) for item in text.split(",")})
    except ValueError:
        raise ValueError(f"--k must be integers separated by commas, got {text!r}") from None
    if not ks or ks[0] < 1:
        raise ValueError(f"--k values must be >= 1, got {text!r}")
    return ks


def cross_validate(X, y, folds, ks, metric):
    """``accuracy[fold, j]``: validation accuracy of ``k = ks[j]`` on each fold."""
    accuracy = np.empty((len(folds), len(ks)))
    for f, (train, val) in enumerate(folds):
        model = KNNClassifier(k=1, metric=metric).fit(X[train], y[train])
        predictions = model.predict_each_k(X[val], ks)
        accuracy[f] = [np.mean(predictions[k] == y[val]) for k in ks]
        print(f"  fold {f + 1}/{len(folds)} done", flush=True)
    return accuracy


def format_accuracy(ks, accuracy):
    """A text table: k, mean and std of validation accuracy, and each fold's."""
    header = "k     mean    std     " + "  ".join(f"fold{f + 1}" for f in range(len(accuracy)))
    rows = [header]
    for j, k in enumerate(ks):
        folds = "  ".join(f"{a:.3f}" for a in accuracy[:, j])
        rows.append(f"{k:<5} {accuracy[:, j].mean():.4f}  {accuracy[:, j].std():.4f}  {folds}")
    return "\n".join(rows)


def _subset(X, y, size, seed, flag):
    try:
        return stratified_subset(X, y, size, seed)
    except ValueError as err:
        raise ValueError(f"{flag}: {err}") from None
