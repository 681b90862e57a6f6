"""Training: the loop (:func:`fit`), what a run did (:class:`History`), the callbacks that
watch it and the checkpoints that let it continue."""

from .callbacks import Callback, Checkpoint, EarlyStopping, JSONLogger, PrintEpochs
from .checkpoint import CheckpointState, load_checkpoint, save_checkpoint
from .history import History
from .loop import TrainingRun, evaluate, fit, predict_scores

__all__ = [
    "Callback",
    "Checkpoint",
    "CheckpointState",
    "EarlyStopping",
    "History",
    "JSONLogger",
    "PrintEpochs",
    "TrainingRun",
    "evaluate",
    "fit",
    "load_checkpoint",
    "predict_scores",
    "save_checkpoint",
]
