"""``gradwise compare --optimizers sgd,momentum,...``: optimizers side by side, same budget.

Every optimizer trains the same model on the same data (same validation split, same
preprocessing) from the same initial weights (same seed) for the same number of epochs.
Minibatch methods take one step per minibatch; full-batch methods (``lbfgs``) take one step
of one iteration per epoch on the whole training set (``lbfgs@minibatch``: one step of one
iteration per minibatch, as calling ``torch.optim.LBFGS`` per minibatch does), so each epoch
costs every method about one pass of gradient evaluations (the ``passes`` column counts them
exactly: L-BFGS's line search and its re-evaluation at the start of each step cost extra
passes).

The table comes sorted by the final objective (training data loss + penalty): on CIFAR-10
test accuracy barely separates optimizers, the objective does. ``gap`` is the final
objective minus the lowest objective any run reached at any epoch. The folder ``--out``
receives ``compare.json``, each run's ``<optimizer>/history.json`` and ``curves.png``.
"""

import math
import time
from pathlib import Path

import numpy as np

from ..errors import DivergenceError
from ..optim.registry import make, showcase, spec
from ..storage.atomic import write_json
from ..training.history import History
from ._files import add_overwrite_argument, check_targets
from ._output import output_folder
from .train import (
    add_training_arguments,
    build_classifier,
    load_dataset,
    settings_from,
)


def default_optimizers():
    """The optimizers compared when none are named: the registry's ``"compare"`` showcase."""
    return ",".join(showcase("compare"))


def register(subparsers):
    p = subparsers.add_parser(
        "compare",
        help="train with several optimizers on the same budget and compare them",
        description="Train the same model from the same initial weights with each optimizer "
        "for the same number of epochs; print a table and draw the loss curves.",
    )
    p.add_argument(
        "--optimizers",
        default=None,
        help=f"comma-separated optimizer names (default {default_optimizers()}); "
        "NAME@minibatch runs a full-batch method (lbfgs, ...) on minibatches",
    )
    p.add_argument(
        "--lr",
        default="",
        help="learning rates: one number for all, or NAME=VALUE,... (default: each one's own)",
    )
    add_training_arguments(p, optimizer=False)
    p.add_argument("--out", type=Path, help="output folder (default runs/compare-DATE-TIME)")
    p.add_argument("--log-scale", action="store_true", help="loss axis on a log scale")
    p.add_argument("--quiet", action="store_true", help="print only the table")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def parse_optimizers(text):
    """The runs' labels: optimizer names, each optionally ``NAME@full`` or
    ``NAME@minibatch`` (how a full-batch method trains in that run)."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError("--optimizers names no optimizer")
    if len(set(names)) != len(names):
        raise ValueError(f"--optimizers repeats a name: {text}")
    for label in names:
        run_of(label)  # raises ValueError naming the known optimizers or batch modes
    return names


def run_of(label):
    """``(optimizer name, full_batch_methods or None)`` of a run label (``lbfgs@minibatch``)."""
    from ..estimators import CLASSIFIER_PARAMS  # imported when a command runs, not at --help

    name, _, mode = label.partition("@")
    spec(name)
    if not mode:
        return name, None
    return name, CLASSIFIER_PARAMS["full_batch_methods"].check(f"--optimizers {name}@", mode)


def parse_learning_rates(text, names):
    """``{name: lr or None}`` from ``"0.01"`` or ``"sgd=0.1,adam=1e-3"``."""
    rates = dict.fromkeys(names)
    text = text.strip()
    if not text:
        return rates
    if "=" not in text:
        value = _positive_float(text)
        return dict.fromkeys(names, value)
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep or name not in rates:
            raise ValueError(f"--lr: {part!r} is not NAME=VALUE for one of {', '.join(names)}")
        rates[name] = _positive_float(value)
    return rates


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--lr must be a number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"--lr must be > 0, got {text}")
    return value


def run(args):
    names = parse_optimizers(args.optimizers or default_optimizers())
    rates = parse_learning_rates(args.lr, names)
    settings = settings_from(args)
    # Each optimizer gets its own rate from --lr (parsed above), not the --lr text.
    settings["optimizer"], settings["lr"] = names[0], None
    classifiers = {name: _classifier(settings, name, rates[name]) for name in names}
    out = output_folder(args.out, "compare")
    targets = [out / "compare.json", out / "curves.png"]
    check_targets(targets + [out / name / "history.json" for name in names], args.overwrite)
    ds = load_dataset(settings["data"])
    out.mkdir(parents=True, exist_ok=True)
    y_names = np.asarray(ds.classes)[ds.y_train]
    y_test = np.asarray(ds.classes)[ds.y_test]
    rows, histories = [], {}
    for name, clf in classifiers.items():
        if not args.quiet:
            print(f"{name} ...", flush=True)
        rows.append(_train_one(name, clf, ds, y_names, y_test))
        if clf.history_ is not None:
            histories[name] = clf.history_
            (out / name).mkdir(exist_ok=True)
            clf.history_.save(out / name / "history.json")
    best = min((r["best_objective"] for r in rows if r["best_objective"] is not None), default=None)
    for r in rows:
        final = r["objective"]
        r["gap"] = None if final is None or best is None else final - best
    rows.sort(key=lambda r: math.inf if r["objective"] is None else r["objective"])
    print(format_table(rows))
    report = {"settings": settings, "best_objective": best, "runs": rows}
    write_json(out / "compare.json", report)
    _draw(histories, out / "curves.png", args.log_scale)
    print(f"wrote {out / 'compare.json'}, {out / 'curves.png'}")
    return 0


def _classifier(settings, label, lr):
    name, mode = run_of(label)
    clf = build_classifier(settings, optimizer=name, lr=lr)
    if mode is not None:
        clf.set_params(full_batch_methods=mode)
    if spec(name).is_full_batch and hasattr(make(name, lr), "max_iter"):
        # One iteration of a full-batch method per epoch: about the same budget of passes
        # over the data as one minibatch epoch.
        clf.set_params(optimizer_options={"max_iter": 1})
        clf._check_params()
    return clf


def _train_one(name, clf, ds, y_names, y_test):
    started = time.perf_counter()
    status = "ok"
    try:
        clf.fit(ds.X_train, y_names, classes=ds.classes)
    except DivergenceError:
        status = "diverged"
    seconds = time.perf_counter() - started
    history = clf.history_ if clf.history_ is not None else History()
    last = history.last
    objectives = [r["train_loss"] for r in history.epochs]
    steps = len(history.loss)
    passes = last.get("evaluations", 0) * len(history.epochs) / steps if steps else 0.0
    lr = clf.lr if clf.lr is not None else history.lr[0] if steps else float("nan")
    return {
        "optimizer": name,
        "lr": lr,
        "status": status,
        "objective": last.get("train_loss") if status == "ok" else None,
        "best_objective": min(objectives) if objectives else None,
        "train_acc": last.get("train_acc"),
        "val_acc": last.get("val_acc"),
        "test_acc": clf.score(ds.X_test, y_test) if len(y_test) else None,
        "seconds": seconds,
        "evaluations": last.get("evaluations", 0),
        "passes": passes,
        "epochs": len(history.epochs),
    }


def format_table(rows):
    name = max([10] + [len(r["optimizer"]) for r in rows])  # the column fits every name
    head = (
        f"{'optimizer':<{name}} {'lr':>8} {'objective':>10} {'gap':>9} {'train acc':>9} "
        f"{'val acc':>8} {'test acc':>8} {'seconds':>8} {'passes':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['optimizer']:<{name}} {r['lr']:>8.2g} {_num(r['objective'], 10, '.4f')} "
            f"{_num(r['gap'], 9, '.4f')} {_num(r['train_acc'], 9, '.4f')} "
            f"{_num(r['val_acc'], 8, '.4f')} {_num(r['test_acc'], 8, '.4f')} "
            f"{r['seconds']:>8.2f} {r['passes']:>7.1f}"
            + ("  DIVERGED" if r["status"] == "diverged" else "")
        )
    return "\n".join(lines)


def _num(value, width, spec):
    return f"{'-':>{width}}" if value is None else f"{value:>{width}{spec}}"


def _draw(histories, path, log_scale):
    if not histories:
        return
    try:
        from ..plot import training_curves
    except ImportError as err:
        print(f"(no curves: {err})")
        return
    training_curves(histories, path, log_scale=log_scale)
