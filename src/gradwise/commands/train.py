"""``gradwise train``: train a classifier on a dataset and write a run folder.

With no flags it trains a linear softmax classifier on the packaged ``cifar10-sample`` (500
train + 100 test real CIFAR-10 images per class). The run folder (``--out``, default
``runs/train-<date>-<time>``) receives

- ``model.npz``: the classifier (:func:`gradwise.estimators.load` reads it);
- ``history.json``: per-step loss and learning rate, per-epoch records;
- ``summary.json``: settings, final objective, train/validation/test accuracy, time;
- ``checkpoint.npz`` (``--resume`` continues from it) and ``log.jsonl`` (one JSON per epoch).

Every setting is checked before any data is read or any file written; a folder that
already holds a run is never overwritten unless ``--overwrite`` is given.
"""

import os
import shutil
import sys
import time
import uuid
from pathlib import Path

import numpy as np

from ..errors import DivergenceError
from ..storage.atomic import write_json
from ..training.history import History
from ._output import output_folder

#: ``gradwise train`` flag -> the classifier parameter it sets. The defaults, checks and help
#: of these flags are the classifiers' own (:data:`gradwise.estimators.CLASSIFIER_PARAMS`);
#: the flags keep their short command-line names.
FLAG_PARAMS = {
    "optimizer": "optimizer",
    "lr": "lr",
    "reg": "reg",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "schedule": "schedule",
    "preprocess": "preprocessing",
    "augment": "augment",
    "val_fraction": "validation_fraction",
    "early_stopping": "early_stopping",
    "seed": "seed",
    "dtype": "dtype",
    "full_batch_methods": "full_batch_methods",
}
#: Where the command departs from the classifiers' defaults, on purpose: it holds out 10% of
#: the training rows to print validation accuracy (the library, like scikit-learn, holds out
#: nothing unless asked). ``--val-fraction 0`` trains on every row.
COMMAND_DEFAULTS = {"val_fraction": 0.1}
#: Help in the command line's own words where it spells a value differently.
FLAG_HELP = {
    "lr": "learning rate (default: the optimizer's own; `gradwise train --optimizer NAME` "
    "prints it)",
    "batch_size": "rows per step, or 'full' for full batch",
}
#: How each flag's text is read (a flag not listed is kept as text).
FLAG_TYPES = {"lr": float, "reg": float, "epochs": int, "val_fraction": float,
              "early_stopping": int, "seed": int}  # fmt: skip


def defaults():
    """Every setting's default: the dataset and model choice, then the classifiers' own."""
    from ..estimators import CLASSIFIER_PARAMS, MLPClassifier

    mlp = MLPClassifier.params
    return {
        "data": "cifar10-sample",
        "model": "linear",
        "hidden": list(mlp["hidden"].default),
        "loss": mlp["loss"].default,
        **{flag: CLASSIFIER_PARAMS[param].default for flag, param in FLAG_PARAMS.items()},
        **COMMAND_DEFAULTS,
    }


RUN_FILES = ("model.npz", "history.json", "summary.json", "checkpoint.npz", "log.jsonl")


def register(subparsers):
    p = subparsers.add_parser(
        "train",
        help="train a classifier and write model, history and summary to a run folder",
        description="Train a linear (or one-hidden-layer) classifier with minibatch SGD or "
        "any gradwise optimizer. With no flags: linear softmax on the packaged cifar10-sample.",
    )
    add_training_arguments(p)
    p.add_argument("--out", type=Path, help="run folder (default runs/train-DATE-TIME)")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=1,
        metavar="EPOCHS",
        help="save a checkpoint every EPOCHS epochs (0: only at the end; default 1)",
    )
    p.add_argument(
        "--checkpoint-every-steps",
        type=int,
        default=0,
        metavar="STEPS",
        help="also save a checkpoint every STEPS steps (default 0: off)",
    )
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    p.set_defaults(func=run)


def add_training_arguments(p, *, optimizer=True):
    """The flags that define a training run (shared with ``gradwise compare``)."""
    from .. import nn
    from ..estimators import CLASSIFIER_PARAMS, MODELS
    from ..optim.registry import help_text

    d = defaults()
    p.add_argument("--data", help=f"dataset name or path (default {d['data']})")
    p.add_argument("--model", help=f"{', '.join(MODELS)} (default {d['model']})")
    p.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        metavar="UNITS",
        help=f"hidden layer sizes for mlp (default {' '.join(map(str, d['hidden']))})",
    )
    p.add_argument("--loss", help=f"{', '.join(nn.LOSSES)} (default {d['loss']})")
    for flag, param in FLAG_PARAMS.items():
        if flag in ("optimizer", "lr") and not optimizer:
            continue
        text = help_text() if flag == "optimizer" else CLASSIFIER_PARAMS[param].help
        text = FLAG_HELP.get(flag, text)
        default = "none" if d[flag] is None else d[flag]
        p.add_argument(
            "--" + flag.replace("_", "-"),
            type=FLAG_TYPES.get(flag),
            help=text if flag == "lr" else f"{text} (default {default})",
        )


def settings_from(args, base=None):
    """The run's settings: the flags given, else ``base`` (a resumed run's), else defaults."""
    settings = {**defaults(), **(base or {})}
    for key in settings:
        value = getattr(args, key, None)
        if value is not None:
            settings[key] = value
    if isinstance(settings["batch_size"], str):
        settings["batch_size"] = parse_batch_size(settings["batch_size"])
    if settings["augment"] == "none":
        settings["augment"] = None
    return settings


def parse_batch_size(text):
    if text.strip().lower() in ("full", "none", "all"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"--batch-size must be a number of rows or 'full', got {text!r}") from None
    if value < 1:
        raise ValueError(f"--batch-size must be >= 1, got {value}")
    return value


def build_classifier(settings, optimizer=None, lr=None):
    """The classifier the settings describe, every setting checked by the classifier's own
    declared checks and named by its flag (a ``ValueError`` like ``--lr must be > 0``)."""
    from .. import nn
    from .._validate import choice
    from ..estimators import MODELS, classifier_class

    settings = dict(settings)
    if optimizer is not None:
        settings["optimizer"] = optimizer
    if lr is not None:
        settings["lr"] = lr
    cls = classifier_class(
        choice("--model", settings["model"], MODELS),
        choice("--loss", settings["loss"], tuple(nn.LOSSES)),
    )
    params = {}
    for flag, name in FLAG_PARAMS.items():
        if name in cls.params:
            params[name] = cls.params[name].check("--" + flag.replace("_", "-"), settings[flag])
    if "hidden" in cls.params:
        params["hidden"] = tuple(settings["hidden"])
        params["loss"] = settings["loss"]
    clf = cls(**params)
    clf._check_params()
    return clf


def load_dataset(name):
    from ..data import load

    return load(name)


def check_out_folder(out, *, overwrite=False, resume=False):
    """Refuse to overwrite a run unless asked (``out`` comes from :func:`output_folder`)."""
    if resume:
        if not (out / "checkpoint.npz").is_file():
            raise ValueError(f"--resume: {out} holds no checkpoint.npz to continue from")
        return
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if existing and not overwrite:
        raise ValueError(
            f"{out} already holds a run ({', '.join(existing)}); "
            "choose another --out, or pass --overwrite or --resume"
        )


def run(args):
    for name in ("checkpoint_every", "checkpoint_every_steps"):
        if getattr(args, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(args, name)}")
    if args.resume and args.out is None:
        raise ValueError("--resume needs --out: the run folder to continue")
    out = output_folder(args.out, "train")
    from ..training.checkpoint import load_checkpoint

    resume_state = None
    if args.resume:
        check_out_folder(out, resume=True)
        resume_state = load_checkpoint(out / "checkpoint.npz")
        saved = resume_state.extra.get("settings")
        if not isinstance(saved, dict):
            raise ValueError(f"{out}/checkpoint.npz was not written by gradwise train")
        settings = _resumed_settings(args, saved)
        clf = build_classifier(settings)
    else:
        settings = settings_from(args)
        clf = build_classifier(settings)  # every setting is checked before the folder
        check_out_folder(out, overwrite=args.overwrite)
    ds = load_dataset(settings["data"])
    clf.check_size(ds.X_train.shape[1:], len(ds.classes))  # a dense BFGS matrix, say
    out.mkdir(parents=True, exist_ok=True)
    replacing = args.overwrite and not args.resume and _holds_run(out)
    if not replacing:
        return _report(*_train(args, out, out, clf, ds, settings, resume_state), out)
    # The old run stays whole until the new one is complete: the new one is made in a
    # sibling folder and only then takes the old one's place (a diverged run is written
    # too, as without --overwrite).
    work = out.parent / f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    work.mkdir()
    try:
        summary, error = _train(args, work, out, clf, ds, settings, resume_state)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _replace_run(work, out)
    return _report(summary, error, out)


def _holds_run(folder):
    return any((folder / name).exists() for name in RUN_FILES)


def _replace_run(work, out):
    """Put the run files made in ``work`` in place of ``out``'s, then remove ``work``.
    Files in ``out`` that no run writes (a plot, notes) are left alone."""
    try:
        for name in RUN_FILES:
            if (work / name).exists():
                os.replace(work / name, out / name)
            else:
                (out / name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _train(args, work, out, clf, ds, settings, resume_state):
    """Train into ``work`` (``out`` itself, or its sibling while ``out``'s run is replaced)."""
    from ..training.callbacks import Checkpoint, JSONLogger, PrintEpochs

    callbacks = [
        Checkpoint(
            work / "checkpoint.npz",
            every_epochs=args.checkpoint_every,
            every_steps=args.checkpoint_every_steps,
            extra={"settings": settings},
        ),
        JSONLogger(work / "log.jsonl"),
    ]
    interactive = sys.stderr.isatty()
    if not args.quiet and not interactive:
        callbacks.append(PrintEpochs())
    clf.verbose = interactive and not args.quiet
    if not args.quiet:
        print(f"training {describe(settings, clf)} on {ds!r} -> {out}", flush=True)
    started = time.perf_counter()
    y_names = np.asarray(ds.classes)[ds.y_train]
    error = None
    try:
        clf.fit(ds.X_train, y_names, classes=ds.classes, callbacks=callbacks, resume=resume_state)
    except DivergenceError as err:
        error = err
    seconds = time.perf_counter() - started
    return write_run(work, clf, ds, settings, seconds), error


def _report(summary, error, out):
    if error is not None:
        raise DivergenceError(f"{error} (the run up to there is in {out})") from error
    print_summary(summary, out)
    return 0


def _resumed_settings(args, saved):
    given = {k: getattr(args, k) for k in defaults() if getattr(args, k, None) is not None}
    if "batch_size" in given:
        given["batch_size"] = parse_batch_size(given["batch_size"])
    for key, value in given.items():
        if key != "epochs" and value != saved.get(key):
            raise ValueError(
                f"--resume continues the saved run, which has {key}={saved.get(key)!r}; "
                f"drop --{key.replace('_', '-')} (only --epochs may change)"
            )
    settings = dict(saved)
    settings.update(given)
    return settings


def describe(settings, clf):
    from ..optim.registry import make, spec

    model = (
        f"mlp {'x'.join(str(h) for h in settings['hidden'])}"
        if settings["model"] == "mlp"
        else "linear"
    )
    optimizer = make(clf.optimizer, clf.lr, clf.optimizer_options)
    lr = getattr(optimizer, "lr", None)
    full_batch = spec(clf.optimizer).is_full_batch
    lr_text = f"lr {lr:g}" if isinstance(lr, int | float) else "its own step sizes"
    scheduled = clf.schedule not in (None, "none") and not full_batch
    schedule = f", {clf.schedule} schedule" if scheduled else ""
    batch = "full" if clf.trains_full_batch() else clf.batch_size
    return (
        f"{model} {settings['loss']} / {settings['optimizer']} ({lr_text}{schedule}, "
        f"batch {batch}, {settings['epochs']} epochs)"
    )


def write_run(out, clf, ds, settings, seconds):
    """Write model.npz, history.json and summary.json; return the summary."""
    history = clf.history_ if clf.history_ is not None else History()
    y_test_names = np.asarray(ds.classes)[ds.y_test]
    test_acc = clf.score(ds.X_test, y_test_names) if len(ds.y_test) else None
    last = history.last
    summary = {
        "data": settings["data"],
        "settings": settings,
        "initial_lr": history.lr[0] if history.lr else None,
        "epochs_run": len(history.epochs),
        "steps": len(history.loss),
        "final_objective": last.get("train_loss"),
        "train_acc": last.get("train_acc"),
        "val_acc": last.get("val_acc"),
        "test_acc": test_acc,
        "n_train": int(len(ds.y_train)),
        "n_test": int(len(ds.y_test)),
        "seconds": seconds,
        "stop_reason": history.stop_reason,
        "message": history.message,
        "model_file": "model.npz",
    }
    clf.save(out / "model.npz", training={"data": settings["data"], "settings": settings})
    history.save(out / "history.json")
    write_json(out / "summary.json", summary)
    return summary


def print_summary(summary, out):
    parts = [f"{summary['epochs_run']} epochs in {summary['seconds']:.1f}s"]
    if summary["final_objective"] is not None:
        parts.append(f"objective {summary['final_objective']:.4f}")
    for key in ("train_acc", "val_acc", "test_acc"):
        if summary[key] is not None:
            parts.append(f"{key.replace('_acc', '')} acc {summary[key]:.4f}")
    if summary["stop_reason"] == "early stopping":
        parts.append(f"early stopping: {summary['message']}")
    print(", ".join(parts))
    print(f"wrote {out / 'model.npz'}, {out / 'history.json'}, {out / 'summary.json'}")
