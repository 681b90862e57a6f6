"""View 3: the linear classifier training on images while the page watches.

Training is gradwise's own (:class:`~gradwise.estimators.SoftmaxClassifier` or
:class:`~gradwise.estimators.SVMClassifier` with its hinge, as ``gradwise train --loss``
picks them) in a
thread of its own, so the page stays live; a callback sends the minibatch loss a few
times a second and, at the end of every epoch, the epoch's record (training and test loss
and accuracy) and the class templates (:func:`gradwise.plot.template_images`). The test
split is the validation data, so the curves show both. A test image's explanation uses
the weights of the last finished epoch: its scores, the softmax probabilities, the hinge
margins and its loss under every loss in ``gw.nn.LOSSES``.
"""

import copy
import threading
import time

import numpy as np

from .. import nn, optim
from ..estimators.catalog import classifier_class, classifier_loss
from ..nn.functional import softmax
from ..plot.templates import template_images
from ..training.callbacks import Callback
from . import limits
from .imaging import png_data_url, strip
from .messages import finite_or_none

#: Trainings running at once over every tab (a tab's own is one of them).
_SLOTS = threading.BoundedSemaphore(limits.MAX_TRAININGS)

#: The page's starting point: the command line's defaults, with a few epochs.
DEFAULT_EPOCHS = 5


def linear_classifier(loss, **params):
    """The linear classifier ``gradwise train --loss LOSS`` trains, with ``params``."""
    keywords = dict(params)
    if classifier_loss("linear", loss) is not None:
        keywords["loss"] = classifier_loss("linear", loss)
    return classifier_class("linear", loss)(**keywords)


def training_losses():
    """The losses a classifier can train with: each name of ``gw.nn.LOSSES`` whose
    linear classifier builds that very loss."""
    found = []
    for name, factory in nn.LOSSES.items():
        built = linear_classifier(name)._build_loss()
        if isinstance(factory, type) and isinstance(built, factory):
            found.append(name)
    return tuple(found)


def training_optimizers():
    """The optimizers offered: the minibatch ones (a full-batch method's curvature model
    of a 3,000-feature classifier is not a page's to allocate)."""
    return tuple(n for n in optim.names() if not optim.spec(n).is_full_batch)


class Trainer:
    """The state of view 3 for one tab: at most one training, and its last epoch."""

    def __init__(self, dataset, send):
        self.dataset, self.send = dataset, send
        self._thread = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._snapshot = None  # (model, preprocessing) after the last finished epoch

    def info(self):
        ds = self.dataset
        return {
            "type": "train.info",
            "dataset": ds.name,
            "classes": list(ds.classes),
            "n_train": int(len(ds.y_train)),
            "n_test": int(len(ds.y_test)),
            "image_shape": list(ds.X_train.shape[1:]),
            "running": self.running,
        }

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def start(self, loss, params):
        """Train a classifier (``params``: its parameters, checked) in a thread."""
        if self.running:
            raise ValueError("a training is running in this tab: stop it first")
        clf = linear_classifier(loss, **params, verbose=False)
        clf.check_params()
        if not _SLOTS.acquire(blocking=False):
            raise ValueError(
                f"{limits.MAX_TRAININGS} trainings are running in other tabs; try again soon"
            )
        self._stop.clear()
        self._thread = threading.Thread(target=self._train, args=(clf, loss), daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()

    def join(self, timeout=None):
        if self._thread is not None:
            self._thread.join(timeout)

    def _train(self, clf, loss):
        ds = self.dataset
        stream = _Stream(self, clf, loss)
        try:
            clf.fit(ds.X_train, ds.y_train, classes=np.arange(len(ds.classes)),
                    validation_data=(ds.X_test, ds.y_test), callbacks=[stream])  # fmt: skip
            history = clf.history_
            self.send({"type": "train.done", "stop_reason": history.stop_reason,
                       "message": history.message, "steps": len(history.loss)})  # fmt: skip
        except (ValueError, TypeError, FloatingPointError) as err:
            self.send({"type": "error", "about": "train.start", "message": str(err)})
            self.send({"type": "train.done", "stop_reason": "failed", "message": str(err)})
        finally:
            _SLOTS.release()

    def remember(self, model, preprocessing):
        with self._lock:
            self._snapshot = (copy.deepcopy(model), preprocessing)

    def explain(self, index):
        """Test image ``index``: its pixels, scores, probabilities, margins and losses."""
        with self._lock:
            snapshot = self._snapshot
        if snapshot is None:
            raise ValueError("train for at least one epoch first: the weights explain it")
        model, preprocessing = snapshot
        ds = self.dataset
        image, label = ds.X_test[index : index + 1], int(ds.y_test[index])
        features = preprocessing.transform(image).astype(model.weight.dtype, copy=False)
        scores = model.forward(features).astype(np.float64)
        labels = np.array([label])
        # The hinge terms max(0, s_j - s_y + 1) of the multiclass SVM, one per class (the
        # table the lecture's worked example shows); 0 for the label's own class.
        margins = np.maximum(0.0, scores[0] - scores[0, label] + 1.0)
        margins[label] = 0.0
        return {
            "type": "train.explain",
            "index": int(index),
            "image": png_data_url(ds.X_test[index]),
            "label": label,
            "predicted": int(np.argmax(scores[0])),
            "scores": scores[0].tolist(),
            "probabilities": softmax(scores)[0].tolist(),
            "margins": margins.tolist(),
            "losses": {name: finite_or_none(nn.loss_named(name)(scores, labels))
                       for name in nn.LOSSES},  # fmt: skip
        }


class _Stream(Callback):
    """Sends the run to the page: the step loss a few times a second, every epoch's end."""

    def __init__(self, trainer, clf, loss):
        self.trainer, self.clf, self.loss = trainer, clf, loss
        self._last = 0.0

    def on_train_begin(self, run):
        self.trainer.send({"type": "train.started", "loss": self.loss,
                           "optimizer": self.clf.optimizer, "epochs": self.clf.epochs,
                           "steps_per_epoch": _steps_per_epoch(run)})  # fmt: skip

    def on_step_end(self, run):
        if self.trainer._stop.is_set():
            run.stop_training, run.stop_reason = True, "stopped from the page"
            return
        now = time.monotonic()
        if now - self._last >= 1.0 / limits.STEP_UPDATES_PER_SECOND:
            self._last = now
            self.trainer.send({"type": "train.step", "step": run.step, "epoch": run.epoch,
                               "loss": finite_or_none(run.history.loss[-1])})  # fmt: skip

    def on_epoch_end(self, run, record):
        self.trainer.remember(run.model, self.clf.preprocessing_)
        images = template_images(run.model.weight, self.clf.input_shape_)
        self.trainer.send({
            "type": "train.epoch",
            "record": {k: (finite_or_none(v) if isinstance(v, float) else v)
                       for k, v in record.items()},
            "step": run.step,
            "templates": png_data_url(strip(images)),
            "template_width": int(images.shape[2]),
        })  # fmt: skip


def _steps_per_epoch(run):
    rows = run.config["batch_size"] or run.config["n_train"]
    return -(-run.config["n_train"] // min(rows, run.config["n_train"]))
