"""Training curves: loss per step (raw and smoothed) and per epoch, and accuracy per epoch.

One picture, two panels: on the left the training loss (each step faint, its exponential
moving average solid, the per-epoch train and validation losses as markers), on the right
train (dashed) and validation (solid) accuracy per epoch. Several runs are overlaid, each
in its own colour (:func:`gradwise.plot.colors_for`: an optimizer's name keeps its colour).

The x-axis is epochs when the history has epoch records (step ``i`` of ``S`` per epoch sits
at ``(i + 1) / S``), otherwise steps.
"""

from dataclasses import dataclass, field

import numpy as np
from matplotlib.ticker import LogFormatter

from .style import colors_for, new_figure, save_figure

#: Keys under which a history dict may keep its list of per-epoch records.
EPOCH_KEYS = ("epochs", "epoch_records", "records", "per_epoch")
EPOCH_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds", "steps")


@dataclass
class Curves:
    """The numbers one run contributes to the picture (all float arrays)."""

    step_loss: np.ndarray
    epoch: np.ndarray = field(default_factory=lambda: np.empty(0))
    train_loss: np.ndarray = field(default_factory=lambda: np.empty(0))
    val_loss: np.ndarray = field(default_factory=lambda: np.empty(0))
    train_acc: np.ndarray = field(default_factory=lambda: np.empty(0))
    val_acc: np.ndarray = field(default_factory=lambda: np.empty(0))
    epoch_end_steps: np.ndarray = field(default_factory=lambda: np.empty(0))

    def step_positions(self):
        """x of each step: in epochs when there are epoch records, else the step number.

        With the step count at the end of each epoch (a record's ``steps``) step ``i`` is
        placed by linear interpolation between epoch ends; without it, epochs are assumed
        to have equally many steps.
        """
        n = len(self.step_loss)
        steps = np.arange(1, n + 1, dtype=float)
        if not (len(self.epoch) and n):
            return steps
        ends = self.epoch_end_steps
        if len(ends) == len(self.epoch) and np.all(np.diff(ends) > 0) and ends[0] > 0:
            x = np.interp(steps, np.r_[0.0, ends], np.r_[0.0, self.epoch])
            # Steps after the last full epoch (a run stopped mid-epoch) go on at the last
            # epoch's pace.
            last = ends[-1] - (ends[-2] if len(ends) > 1 else 0.0)
            after = steps > ends[-1]
            x[after] = self.epoch[-1] + (steps[after] - ends[-1]) / last
            return x
        return steps * float(self.epoch[-1]) / n


def curves_of(history):
    """The :class:`Curves` of a ``History`` (anything with ``to_dict()``) or its dict.

    The dict has ``loss`` (per-step list) and per-epoch records, either as a list of dicts
    under one of :data:`EPOCH_KEYS` or as per-field lists (``train_loss``, ``val_acc``, ...).
    Missing fields (no validation set, say) are left empty; ``None`` values become NaN.
    """
    data = history.to_dict() if hasattr(history, "to_dict") else history
    if not isinstance(data, dict):
        raise TypeError(f"a history must be a History or its dict, got {type(history).__name__}")
    step_loss = _floats(data.get("loss", data.get("step_loss", [])))
    records = next((data[k] for k in EPOCH_KEYS if isinstance(data.get(k), list)), None)
    if records is not None:
        columns = {f: [r.get(f) for r in records] for f in EPOCH_FIELDS}
    else:
        columns = {f: data.get(f, []) for f in EPOCH_FIELDS}
    columns = {f: _floats(v) for f, v in columns.items()}
    # A field that was never measured (no validation set) draws nothing.
    columns = {f: (v if np.isfinite(v).any() else np.empty(0)) for f, v in columns.items()}
    n_epochs = max(len(v) for f, v in columns.items() if f != "seconds")
    if n_epochs and len(columns["epoch"]) != n_epochs:
        columns["epoch"] = np.arange(1, n_epochs + 1, dtype=float)
    if not len(step_loss) and not n_epochs:
        raise ValueError("a history has neither per-step losses nor epoch records to draw")
    return Curves(
        step_loss=step_loss,
        epoch=columns["epoch"],
        train_loss=columns["train_loss"],
        val_loss=columns["val_loss"],
        train_acc=columns["train_acc"],
        val_acc=columns["val_acc"],
        epoch_end_steps=columns["steps"],
    )


def smooth(values, weight=None):
    """Exponential moving average with bias correction (as TensorBoard draws it).

    ``s_t = weight * s_{t-1} + (1 - weight) * v_t``, divided by ``1 - weight^t`` so the first
    values are not pulled towards zero. ``weight=None`` picks ``1 - 1/w`` with a window ``w``
    of about 2% of the run (at least 1 step, so short runs stay unsmoothed). NaN values are
    skipped (they keep the previous average).
    """
    values = _floats(values)
    if weight is None:
        window = max(1.0, len(values) / 50)
        weight = 1.0 - 1.0 / window
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out = np.empty_like(values)
    average, norm = 0.0, 0.0
    for i, v in enumerate(values):
        if np.isfinite(v):
            average = weight * average + (1 - weight) * v
            norm = weight * norm + (1 - weight)
        out[i] = average / norm if norm > 0 else np.nan
    return out


def training_curves(histories, path, log_scale=False, smoothing=None, title=None, dpi=100):
    """Draw the loss and accuracy curves of one or more runs and write them to ``path``.

    ``histories`` maps a label (an optimizer name, say) to a ``History`` or its dict; a
    single ``History`` or dict is drawn under the label ``"run"``. ``log_scale`` puts the
    loss on a log axis (what separates optimizers late in training). ``smoothing`` is the
    EMA weight of :func:`smooth` (default: about 2% of the run). Returns the path written.
    """
    if hasattr(histories, "to_dict") or (isinstance(histories, dict) and "loss" in histories):
        histories = {"run": histories}
    if not isinstance(histories, dict) or not histories:
        raise ValueError("histories must be a non-empty dict of label -> History (or its dict)")
    runs = {str(label): curves_of(h) for label, h in histories.items()}
    colors = colors_for(runs)
    has_accuracy = any(len(c.train_acc) or len(c.val_acc) for c in runs.values())
    fig = new_figure(11 if has_accuracy else 6, 4.2, dpi=dpi)
    axes = fig.subplots(1, 2 if has_accuracy else 1, squeeze=False)[0]
    for label, c in runs.items():
        _draw_loss(axes[0], label, c, colors[label], smoothing)
        if has_accuracy:
            _draw_accuracy(axes[1], label, c, colors[label])
    in_epochs = any(len(c.epoch) for c in runs.values())
    _finish_loss_axis(axes[0], in_epochs, log_scale)
    if has_accuracy:
        _finish_accuracy_axis(axes[1])
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def _draw_loss(ax, label, c, color, smoothing):
    if len(c.step_loss):
        x = c.step_positions()
        ax.plot(x, c.step_loss, color=color, alpha=0.2, linewidth=0.8)
        ax.plot(x, smooth(c.step_loss, smoothing), color=color, linewidth=1.8, label=label)
        label = None  # one legend entry per run
    if len(c.train_loss):
        ax.plot(c.epoch, c.train_loss, "o", color=color, markersize=4, label=label)
        label = None
    if len(c.val_loss):
        ax.plot(c.epoch, c.val_loss, "s:", color=color, markersize=4, mfc="white", label=label)


def _draw_accuracy(ax, label, c, color):
    if len(c.train_acc):
        ax.plot(c.epoch, c.train_acc, "o:", color=color, markersize=4, linewidth=1.2)
    if len(c.val_acc):
        ax.plot(c.epoch, c.val_acc, "s-", color=color, markersize=4, linewidth=1.8, label=label)


def _finish_loss_axis(ax, in_epochs, log_scale):
    ax.set_xlabel("epoch" if in_epochs else "step")
    ax.set_ylabel("loss")
    ax.set_title(
        "loss: per step (faint), smoothed (line), per epoch train (●) and validation (□)",
        fontsize=9,
    )
    if log_scale:
        ax.set_yscale("log")
        # Plain numbers ("1.8"), not "1.8 x 10^0", on the few decades a loss spans.
        ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
        ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def _finish_accuracy_axis(ax):
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title("accuracy per epoch: train (● dotted), validation (■ solid)", fontsize=9)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def _floats(values):
    """A float array; ``None`` becomes NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)
