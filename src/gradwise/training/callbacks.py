"""Callbacks :func:`gradwise.fit` calls during training: logging, checkpoints, early stopping.

A callback may define ``on_train_begin(run)``, ``on_step_end(run)``,
``on_epoch_end(run, record)`` and ``on_train_end(run)``; ``run`` is the
:class:`gradwise.training.TrainingRun` (model, flat vector ``x``, optimizer, history, epoch,
step) and ``record`` the epoch's record in the history. Setting ``run.stop_training = True``
(and ``run.stop_reason``) ends training after the current step. ``state_dict()`` /
``load_state_dict()`` carry a callback's own state through checkpoints (JSON-able values and
NumPy arrays), so that a resumed run stops where an uninterrupted one would.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np

from .._validate import non_negative
from .checkpoint import save_checkpoint


class Callback:
    """Does nothing; subclasses override what they need."""

    def on_train_begin(self, run):
        pass

    def on_step_end(self, run):
        pass

    def on_epoch_end(self, run, record):
        pass

    def on_train_end(self, run):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class JSONLogger(Callback):
    """Append one JSON object per line to ``path``: every epoch record, and every
    ``every_steps`` steps a ``{"step", "epoch", "loss", "lr"}`` line (0: no step lines).

    Lines are flushed as they are written, so ``tail -f`` follows a run. A resumed run
    appends to the same file.
    """

    def __init__(self, path, every_steps=0):
        self.path = Path(path)
        self.every_steps = int(non_negative("every_steps", every_steps))
        self._file = None

    def on_train_begin(self, run):
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed at train end)
        self._write({"event": "start", "epoch": run.epoch, "step": run.step, **run.config})

    def on_step_end(self, run):
        if self.every_steps and run.step % self.every_steps == 0:
            self._write(
                {
                    "event": "step",
                    "step": run.step,
                    "epoch": run.epoch + 1,
                    "loss": run.history.loss[-1],
                    "lr": run.history.lr[-1],
                }
            )

    def on_epoch_end(self, run, record):
        self._write({"event": "epoch", **record})

    def on_train_end(self, run):
        if self._file is None:
            return
        self._write(
            {
                "event": "end",
                "stop_reason": run.history.stop_reason or run.stop_reason,
                "message": run.history.message,
                "epoch": run.epoch,
                "step": run.step,
            }
        )
        self._file.close()
        self._file = None

    def _write(self, obj):
        self._file.write(json.dumps(obj, allow_nan=True) + "\n")
        self._file.flush()


class Checkpoint(Callback):
    """Save the run to ``path`` every ``every_epochs`` epochs and every ``every_steps`` steps
    (0 turns either off), and once more when training ends (also after a divergence: the
    weights are then the last ones whose loss was finite). ``extra`` (JSON) is stored too.

    Each save replaces the file atomically; ``fit(..., resume=path)`` continues from it.
    """

    def __init__(self, path, every_epochs=1, every_steps=0, extra=None):
        self.path = Path(path)
        self.every_epochs = int(non_negative("every_epochs", every_epochs))
        self.every_steps = int(non_negative("every_steps", every_steps))
        self.extra = extra or {}
        self.saves = 0

    def on_step_end(self, run):
        if self.every_steps and run.step % self.every_steps == 0:
            self.save(run)

    def on_epoch_end(self, run, record):
        if self.every_epochs and run.epoch % self.every_epochs == 0:
            self.save(run)

    def on_train_end(self, run):
        self.save(run)

    def save(self, run):
        save_checkpoint(self.path, run.checkpoint_state(), self.extra)
        self.saves += 1


class EarlyStopping(Callback):
    """Stop when the validation loss has not improved for ``patience`` epochs.

    An epoch improves when ``val_loss < best - min_delta``. With ``restore_best=True`` the
    weights of the best epoch are put back when training stops (early or not). Needs
    ``fit(..., val=...)``.
    """

    def __init__(self, patience=5, min_delta=0.0, restore_best=True, monitor="val_loss"):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be an integer >= 1, got {patience!r}")
        self.patience = patience
        self.min_delta = float(non_negative("min_delta", min_delta))
        self.restore_best = bool(restore_best)
        self.monitor = monitor
        self.best = math.inf
        self.best_epoch = 0
        self.wait = 0
        self.best_x = None

    def on_epoch_end(self, run, record):
        value = record.get(self.monitor)
        if value is None:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}: pass val=(X_val, y_val)")
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = float(value), record["epoch"], 0
            if self.restore_best:
                if self.best_x is None:
                    self.best_x = np.empty_like(run.x)
                np.copyto(self.best_x, run.x)
            return
        self.wait += 1
        if self.wait >= self.patience:
            run.stop_training = True
            run.stop_reason = "early stopping"
            run.history.message = (
                f"{self.monitor} did not improve for {self.patience} epochs; "
                f"best {self.best:.6g} at epoch {self.best_epoch}"
            )

    def on_train_end(self, run):
        diverged = run.stop_reason == "diverged"
        if self.restore_best and self.best_x is not None and not diverged:
            np.copyto(run.x, self.best_x)

    def state_dict(self):
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "best_x": self.best_x,
        }

    def load_state_dict(self, state):
        self.best = float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        self.wait = int(state["wait"])
        best_x = state.get("best_x")
        self.best_x = None if best_x is None else np.array(best_x, copy=True)


class PrintEpochs(Callback):
    """One line per epoch on ``stream`` (stdout by default): what logs and CI show."""

    def __init__(self, stream=None):
        self.stream = stream

    def on_epoch_end(self, run, record):
        parts = [f"epoch {record['epoch']:>3}", f"loss {record['train_loss']:.4f}"]
        if record.get("train_acc") is not None:
            parts.append(f"train acc {record['train_acc']:.4f}")
        if record.get("val_loss") is not None:
            parts.append(f"val loss {record['val_loss']:.4f}")
            parts.append(f"val acc {record['val_acc']:.4f}")
        parts.append(f"{record['seconds']:.2f}s")
        stream = self.stream or sys.stdout
        print("  ".join(parts), file=stream, flush=True)
