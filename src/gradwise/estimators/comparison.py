"""Optimizers side by side on the same budget: :func:`compare` and its :class:`Comparison`.

Every optimizer trains a copy of the same classifier (same data, split, preprocessing,
initial weights and epochs). Minibatch methods take one step per minibatch; full-batch
methods (``lbfgs``) take one step of one iteration per epoch on the whole training set
(``lbfgs@minibatch``: one step of one iteration per minibatch, as calling
``torch.optim.LBFGS`` per minibatch does), so each epoch costs every method about one pass
of gradient evaluations (``passes`` counts them exactly).

The rows come sorted by the final objective (training data loss + penalty): on CIFAR-10 test
accuracy barely separates optimizers, the objective does. ``gap`` is the final objective
minus the lowest objective any run reached at any epoch. ``gradwise compare`` is this, with
files written.
"""

import math
import time

import numpy as np

from .. import optim
from .._html import block, line_chart, table
from ..errors import DivergenceError
from ..training.history import History
from .classifier import CLASSIFIER_PARAMS


def parse_label(label):
    """``(optimizer name, full_batch_methods or None)`` of a run label: a registered name,
    optionally ``NAME@full`` or ``NAME@minibatch`` (how a full-batch method trains)."""
    name, _, mode = label.strip().lower().partition("@")
    optim.spec(name)  # raises ValueError naming the known optimizers
    if not mode:
        return name, None
    return name, CLASSIFIER_PARAMS["full_batch_methods"].check(f"{name}@", mode)


def configured(base, label, lr=None):
    """A copy of the classifier ``base`` that trains with run ``label`` at ``lr`` (``None``:
    the optimizer's own), a full-batch method at one iteration a step (the same budget)."""
    name, mode = parse_label(label)
    clf = type(base)(**{**base.get_params(), "optimizer": name, "lr": lr})
    if mode is not None:
        clf.set_params(full_batch_methods=mode)
    if optim.spec(name).is_full_batch and hasattr(optim.make(name, lr), "max_iter"):
        # One iteration of a full-batch method per step: about the same budget of passes
        # over the data as one minibatch step.
        clf.set_params(optimizer_options={**(clf.optimizer_options or {}), "max_iter": 1})
    clf._check_params()
    return clf


class Comparison:
    """What :func:`compare` found: ``rows`` (one dict per run, sorted by final objective:
    ``optimizer`` (the run's label), ``lr``, ``status``, ``objective``, ``best_objective``,
    ``gap``, ``train_acc``, ``val_acc``, ``test_acc``, ``seconds``, ``evaluations``,
    ``passes``, ``epochs``), ``histories`` (label -> :class:`History`), ``classifiers``
    (label -> the trained classifier) and ``best_objective``."""

    def __init__(self, rows, histories, classifiers):
        self.histories, self.classifiers = histories, classifiers
        found = [r["best_objective"] for r in rows if r["best_objective"] is not None]
        self.best_objective = min(found, default=None)
        for r in rows:
            final = r["objective"]
            r["gap"] = None if final is None or self.best_objective is None else (
                final - self.best_objective)  # fmt: skip
        self.rows = sorted(rows, key=_final_objective)

    def table(self):
        """The rows as the text table ``gradwise compare`` prints."""
        header, cells, _ = self._cells()
        # The first column fits every label; the numbers keep their fixed widths.
        widths = [max([10] + [len(c[0]) for c in cells]), 8, 10, 9, 9, 8, 8, 8, 7]
        head = _line(header, widths)
        lines = [head, "-" * len(head)]
        for row, r in zip(cells, self.rows, strict=True):
            lines.append(_line(row, widths) + ("  DIVERGED" if r["status"] == "diverged" else ""))
        return "\n".join(lines)

    __str__ = table

    def __repr__(self):
        best = "-" if self.best_objective is None else f"{self.best_objective:.4f}"
        return f"Comparison(runs={len(self.rows)}, best_objective={best})"

    def _cells(self):
        header = ["optimizer", "lr", "objective", "gap", "train acc", "val acc", "test acc",
                  "seconds", "passes"]  # fmt: skip
        cells = [
            [r["optimizer"], f"{r['lr']:.2g}", _num(r["objective"], ".4f"), _num(r["gap"], ".4f"),
             _num(r["train_acc"], ".4f"), _num(r["val_acc"], ".4f"), _num(r["test_acc"], ".4f"),
             f"{r['seconds']:.2f}", f"{r['passes']:.1f}"]
            for r in self.rows
        ]  # fmt: skip
        return header, cells, range(1, len(header))

    def _repr_html_(self):
        """Jupyter's view: the table (the numbers of :meth:`table`) and the objective of each
        run per epoch, in each optimizer's colour."""
        header, cells, right = self._cells()
        for row, r in zip(cells, self.rows, strict=True):
            if r["status"] == "diverged":
                row[0] += " (diverged)"
        curves = {
            label: (h.column("epoch"), h.column("train_loss"))
            for label, h in self.histories.items()
        }
        colors = {label: _color(label) for label in curves}
        chart = line_chart(curves, title="training objective", xlabel="epoch", ylabel="loss",
                           colors=colors, width=480, height=260)  # fmt: skip
        return block(repr(self), table(header, cells, right=right), chart)


def run_comparison(classifiers, dataset, *, on_start=None):
    """Train each of ``classifiers`` (label -> classifier) on ``dataset``'s training split,
    score it on its test split; a :class:`Comparison`. ``on_start(label)`` is called before
    each run (progress)."""
    classes = np.asarray(dataset.classes)
    y_train, y_test = classes[dataset.y_train], classes[dataset.y_test]
    rows, histories = [], {}
    for label, clf in classifiers.items():
        if on_start is not None:
            on_start(label)
        rows.append(_train_one(label, clf, dataset, y_train, y_test))
        if clf.history_ is not None:
            histories[label] = clf.history_
    return Comparison(rows, histories, dict(classifiers))


def compare(base, dataset, optimizers, *, lrs=None, on_start=None):
    """Train a copy of the classifier ``base`` with each of ``optimizers`` (run labels:
    ``"momentum"``, ``"lbfgs"``, ``"lbfgs@minibatch"``, ...) on ``dataset``; a
    :class:`Comparison`. ``lrs`` maps labels to learning rates (default: each one's own)."""
    lrs = dict(lrs or {})
    unknown = sorted(set(lrs) - set(optimizers))
    if unknown:
        raise ValueError(f"lrs names runs that are not compared: {', '.join(unknown)}")
    classifiers = {label: configured(base, label, lrs.get(label)) for label in optimizers}
    return run_comparison(classifiers, dataset, on_start=on_start)


def _train_one(label, clf, ds, y_names, y_test):
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
        "optimizer": label,
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


def _line(cells, widths):
    """One line of the text table: the label left-aligned, the numbers right-aligned."""
    first, *rest = zip(cells, widths, strict=True)
    return " ".join([first[0].ljust(first[1])] + [c.rjust(w) for c, w in rest])


def _final_objective(row):
    return math.inf if row["objective"] is None else row["objective"]


def _num(value, spec):
    return "-" if value is None else f"{value:{spec}}"


def _color(label):
    """The optimizer's colour for a plain name; a variant (``lbfgs@minibatch``, a label of
    the caller's own) gets a chart colour of its own, to tell the two apart."""
    try:
        return optim.spec(label).color
    except ValueError:
        return None
