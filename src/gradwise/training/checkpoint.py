"""Training checkpoints: everything :func:`gradwise.fit` needs to continue a run exactly.

A checkpoint holds the flat parameter vector ``x``, the optimizer's ``state_dict()`` (its
arrays as ``.npz`` members, its numbers in JSON), the random generator's
``bit_generator.state`` taken at the start of the unfinished epoch (JSON: PCG64's 128-bit
integers are plain JSON integers), the epoch and step reached, the history so far, the
callbacks' own state and the run's configuration, plus any ``extra`` JSON a caller adds
(an estimator's parameters, the command line's settings). It is written atomically (temp
file + rename) in the container of :mod:`gradwise.estimators.model_file`, so a run killed while
writing leaves the previous checkpoint intact.
"""

from dataclasses import dataclass, field

import numpy as np

from ..errors import ModelFileError
from ..storage.archive import pack_tree, read_archive, unpack_tree, write_archive

CHECKPOINT_FORMAT = "gradwise-checkpoint"
FIELDS = (
    "x",
    "optimizer",
    "rng_state",
    "epoch",
    "step",
    "step_in_epoch",
    "evaluations",
    "epoch_loss_sum",
    "history",
    "callbacks",
    "config",
)


@dataclass
class CheckpointState:
    """A loaded checkpoint (see :meth:`gradwise.training.TrainingRun.checkpoint_state`)."""

    x: np.ndarray
    optimizer: dict
    rng_state: dict
    epoch: int
    step: int
    step_in_epoch: int
    evaluations: int
    epoch_loss_sum: float
    history: dict
    callbacks: list
    config: dict
    extra: dict = field(default_factory=dict)


def save_checkpoint(path, state, extra=None):
    """Write ``state`` (a ``TrainingRun.checkpoint_state()`` dict) and ``extra`` to ``path``."""
    missing = [k for k in FIELDS if k not in state]
    if missing:
        raise ValueError(f"checkpoint state lacks {missing}")
    arrays = {}
    tree = pack_tree({k: state[k] for k in FIELDS}, arrays, "state")
    meta = {"state": tree, "extra": extra or {}}
    return write_archive(path, arrays, meta, format=CHECKPOINT_FORMAT, durable=False)


def load_checkpoint(path):
    """Read and check a checkpoint; return a :class:`CheckpointState`."""
    arrays, meta = read_archive(path, format=CHECKPOINT_FORMAT, what="checkpoint")
    tree = meta.get("state")
    if not isinstance(tree, dict) or any(k not in tree for k in FIELDS):
        raise ModelFileError(f"{path}: the checkpoint lacks part of the training state")
    try:
        state = unpack_tree(tree, arrays)
    except ModelFileError as err:
        raise ModelFileError(f"{path}: {err}") from None
    x = state["x"]
    if not isinstance(x, np.ndarray) or x.ndim != 1 or x.dtype.kind != "f":
        raise ModelFileError(f"{path}: the checkpoint's parameter vector is not a float vector")
    if not np.isfinite(x).all():
        raise ModelFileError(
            f"{path}: the checkpoint's weights hold NaN or Inf; it cannot be resumed"
        )
    for key in ("epoch", "step", "step_in_epoch", "evaluations"):
        if not isinstance(state[key], int) or isinstance(state[key], bool) or state[key] < 0:
            raise ModelFileError(f"{path}: the checkpoint's {key} is not a count: {state[key]!r}")
    for key in ("optimizer", "rng_state", "history", "config"):
        if not isinstance(state[key], dict):
            raise ModelFileError(f"{path}: the checkpoint's {key} is not a record")
    if not isinstance(state["callbacks"], list):
        raise ModelFileError(f"{path}: the checkpoint's callback states are not a list")
    extra = meta.get("extra") or {}
    return CheckpointState(**{k: state[k] for k in FIELDS}, extra=extra)
