"""What a training run did, step by step and epoch by epoch: :class:`History`."""

import json
from pathlib import Path

from .._html import block, line_chart, table
from ..storage.atomic import write_json

EPOCH_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")


class History:
    """What a run did.

    - ``loss``, ``lr``: per step, the minibatch objective at the step's starting point (what
      ``optimizer.step`` returned) and the learning rate the step used (``nan`` for an
      optimizer without ``lr``);
    - ``epochs``: one dict per epoch with ``epoch`` (1-based), ``train_loss``, ``train_acc``,
      ``val_loss``, ``val_acc`` (``None`` without a validation set), ``seconds`` (wall time of
      the epoch, evaluation included), ``steps`` (steps so far) and ``evaluations``
      (objective calls so far: L-BFGS and line searches call it more than once a step);
    - ``stop_reason``: ``"completed"``, ``"early stopping"``, ``"diverged"`` or ``None``
      while running; ``message`` says more when training stopped early.

    ``to_dict()`` / ``from_dict()`` round-trip through JSON; ``save(path)`` / ``load(path)``
    write and read that JSON (atomically).
    """

    def __init__(self, loss=None, lr=None, epochs=None, stop_reason=None, message=""):
        self.loss = [float(v) for v in (loss or [])]
        self.lr = [float(v) for v in (lr or [])]
        self.epochs = [dict(r) for r in (epochs or [])]
        self.stop_reason = stop_reason
        self.message = message

    def column(self, name):
        """One per-epoch field as a list (``history.column("val_acc")``)."""
        return [r.get(name) for r in self.epochs]

    @property
    def last(self):
        """The last epoch record (``{}`` before the first epoch ends)."""
        return dict(self.epochs[-1]) if self.epochs else {}

    def to_dict(self):
        return {
            "loss": list(self.loss),
            "lr": list(self.lr),
            "epochs": [dict(r) for r in self.epochs],
            "stop_reason": self.stop_reason,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict):
            raise TypeError(f"a history is a dict, got {type(data).__name__}")
        epochs = data.get("epochs", [])
        if not isinstance(epochs, list) or not all(isinstance(r, dict) for r in epochs):
            raise ValueError("history 'epochs' must be a list of records (dicts)")
        return cls(
            loss=data.get("loss", []),
            lr=data.get("lr", []),
            epochs=epochs,
            stop_reason=data.get("stop_reason"),
            message=data.get("message", ""),
        )

    def save(self, path):
        """Write ``to_dict()`` as JSON to ``path`` (temp file + rename)."""
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path):
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: no such history file") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not a history JSON file ({err})") from None
        return cls.from_dict(data)

    def _repr_html_(self):
        """Jupyter's view: the loss and accuracy curves (inline SVG) and the epoch table."""
        epochs = self.column("epoch")
        loss = {"train": (epochs, self.column("train_loss"))}
        accuracy = {"train": (epochs, self.column("train_acc"))}
        if any(v is not None for v in self.column("val_loss")):
            loss["val"] = (epochs, self.column("val_loss"))
            accuracy["val"] = (epochs, self.column("val_acc"))
        steps = {"minibatch": (list(range(1, len(self.loss) + 1)), self.loss)}
        fields = [f for f in EPOCH_FIELDS if any(r.get(f) is not None for r in self.epochs)]
        rows = [[_fmt(r.get(f)) if f != "epoch" else r.get(f) for f in fields]
                for r in self.epochs]  # fmt: skip
        return block(
            repr(self),
            line_chart(steps, title="objective per step", xlabel="step", ylabel="loss"),
            line_chart(loss, title="objective per epoch", xlabel="epoch", ylabel="loss"),
            line_chart(accuracy, title="accuracy", xlabel="epoch", ylabel="accuracy"),
            table(fields, rows, right=range(len(fields))),
        )

    def __repr__(self):
        last = self.last
        summary = ", ".join(f"{k}={_fmt(last.get(k))}" for k in EPOCH_FIELDS[1:5] if k in last)
        return f"History(epochs={len(self.epochs)}, steps={len(self.loss)}, {summary})"


def _fmt(value):
    return "None" if value is None else f"{value:.4g}"
