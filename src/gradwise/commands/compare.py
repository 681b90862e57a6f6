"""``gradwise compare --optimizers sgd,momentum,...``: optimizers side by side, same budget.

The runs, the budget and the table are :func:`gradwise.estimators.comparison.compare`'s
(one home for each); this command parses the flags, checks everything before reading data,
prints the table and writes the folder ``--out``: ``compare.json``, each run's
``<optimizer>/history.json`` and ``curves.png``.
"""

import math
from pathlib import Path

from ..optim.registry import showcase
from ..storage.atomic import write_json
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
    from ..estimators.comparison import parse_label

    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError("--optimizers names no optimizer")
    if len(set(names)) != len(names):
        raise ValueError(f"--optimizers repeats a name: {text}")
    for label in names:
        parse_label(label)  # raises ValueError naming the known optimizers or batch modes
    return names


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
    from ..estimators.comparison import configured, run_comparison

    names = parse_optimizers(args.optimizers or default_optimizers())
    rates = parse_learning_rates(args.lr, names)
    settings = settings_from(args)
    # Each optimizer gets its own rate from --lr (parsed above), not the --lr text.
    settings["optimizer"], settings["lr"] = names[0].partition("@")[0], None
    base = build_classifier(settings)
    classifiers = {name: configured(base, name, rates[name]) for name in names}
    out = output_folder(args.out, "compare")
    targets = [out / "compare.json", out / "curves.png"]
    check_targets(targets + [out / name / "history.json" for name in names], args.overwrite)
    ds = load_dataset(settings["data"])
    out.mkdir(parents=True, exist_ok=True)
    progress = None if args.quiet else (lambda name: print(f"{name} ...", flush=True))
    result = run_comparison(classifiers, ds, on_start=progress)
    for name, history in result.histories.items():
        (out / name).mkdir(exist_ok=True)
        history.save(out / name / "history.json")
    print(result.table())
    report = {"settings": settings, "best_objective": result.best_objective, "runs": result.rows}
    write_json(out / "compare.json", report)
    _draw(result.histories, out / "curves.png", args.log_scale)
    print(f"wrote {out / 'compare.json'}, {out / 'curves.png'}")
    return 0


def _draw(histories, path, log_scale):
    if not histories:
        return
    try:
        from ..plot import training_curves
    except ImportError as err:
        print(f"(no curves: {err})")
        return
    training_curves(histories, path, log_scale=log_scale)
