"""What gradwise's classifiers share: one table of parameters, ``fit``, prediction and
model files.

They follow scikit-learn's estimator interface (``fit`` returns ``self``; ``predict``,
``predict_proba``, ``decision_function``, ``score``; every constructor argument is a
parameter of ``get_params`` / ``set_params`` and is only stored by ``__init__``), so they work
inside ``cross_val_score`` and ``GridSearchCV``; gradwise itself never imports
scikit-learn (``__sklearn_tags__`` imports it only when scikit-learn asks).

``fit(X, y)`` takes images ``(N, H, W, C)`` (uint8 or float) or feature rows ``(N, D)``,
fits the preprocessing on them (see ``preprocessing`` below), builds the model, and trains
it with :func:`gradwise.fit`. The objective is the mean data loss plus ``reg * sum W^2``
(:class:`gradwise.nn.L2` on the weights; PyTorch's ``weight_decay = 2 * reg``).

A fitted classifier has ``model`` (the :mod:`gradwise.nn` module), ``classes_``,
``history_`` (:class:`gradwise.training.History`), ``preprocessing_`` (the fitted
:class:`gradwise.data.Pipeline`), ``n_features_in_`` and ``input_shape_``.
``save(path)`` writes a model file (:mod:`gradwise.estimators.model_file`);
:func:`gradwise.estimators.load` reads it back.
"""

import math
import numbers

import numpy as np

from .. import nn, optim
from .._memory import default_memory_limit, human_bytes
from .._validate import (
    Param,
    at_least,
    flag,
    fraction,
    non_negative,
    one_of,
    optional,
    positive,
)
from ..data.augment import AUGMENTATIONS, augment
from ..data.split import stratified_split_indices
from ..data.transforms import preprocessing
from ..errors import DivergenceError
from ..nn.functional import softmax
from ..nn.linear import INITS
from ..optim.schedule import SCHEDULE_HELP, from_spec
from ..training.callbacks import EarlyStopping
from ..training.loop import SAMPLINGS, predict_scores
from ..training.loop import fit as train_fit
from .base import BaseEstimator
from .model_file import fingerprint, save_model

#: ``preprocessing`` choices -> arguments of :func:`gradwise.data.preprocessing`. Every choice
#: converts to float32 (uint8 images to ``x / 255``) and flattens to (N, D).
PREPROCESSING = {
    "none": {"scale": True, "center": None},
    "mean": {"scale": True, "center": "pixel"},
    "channel-mean": {"scale": True, "center": "channel"},
    "standardize": {"scale": True, "center": "pixel", "standardize": True},
}


def optimizer_name(name, value):
    """A registered optimizer name (:mod:`gradwise.optim.registry`)."""
    optim.spec(value)
    return value


def schedule_spec(name, value):
    """A schedule string (``SCHEDULE_HELP``) in epochs, a callable of the step, or ``None``."""
    if value is not None and not callable(value):
        from_spec(value, 1.0, steps_per_epoch=1, epochs=1)
    return value


def options_dict(name, value):
    if value is not None and not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict of keywords or None, got {type(value).__name__}")
    return value


#: How a full-batch method (L-BFGS, ...) may train: on every row at each step, or on
#: minibatches like any other optimizer (the lecture: "does not transfer very well").
FULL_BATCH_METHODS = ("full", "minibatch")

#: The classifiers' parameters, declared once: the defaults of the constructors, of
#: ``gradwise train`` and ``gradwise sweep``, and the checks ``fit`` runs.
CLASSIFIER_PARAMS = {
    "reg": Param(2.5e-4, non_negative, "L2 strength lam in lam*sum W^2"),
    "optimizer": Param("momentum", optimizer_name, "optimizer name"),
    "lr": Param(None, optional(positive), "learning rate (None: the optimizer's training rate)"),
    "epochs": Param(10, at_least(0), "passes over the training data"),
    "batch_size": Param(256, optional(at_least(1)), "rows per step (None: full batch)"),
    "schedule": Param("cosine", schedule_spec, f"learning-rate schedule: {SCHEDULE_HELP}"),
    "preprocessing": Param("mean", one_of(*PREPROCESSING), ", ".join(PREPROCESSING)),
    "augment": Param(None, one_of(*AUGMENTATIONS),
                     "none, or flip: add each training image's mirror image"),
    "init": Param("gaussian", one_of(*INITS), "initial weights: " + ", ".join(INITS)),
    "sampling": Param("shuffle", one_of(*SAMPLINGS), "minibatch order: " + ", ".join(SAMPLINGS)),
    "full_batch_methods": Param("full", one_of(*FULL_BATCH_METHODS),
                                "how full-batch methods (lbfgs, ...) train: 'full' batch, or "
                                "'minibatch'es of batch_size as in PyTorch"),
    "validation_fraction": Param(0.0, fraction, "training rows held out for validation"),
    "early_stopping": Param(None, optional(at_least(1)), "patience in epochs without gain"),
    "optimizer_options": Param(None, options_dict, "further keywords of the optimizer"),
    "dtype": Param("float32", one_of("float32", "float64"), "float32 or float64"),
    "seed": Param(0, at_least(0), "seed of initial weights, split and order"),
    "verbose": Param(False, flag, "show a progress bar"),
}  # fmt: skip


class Classifier(BaseEstimator):
    """What the classifiers share; subclasses say which model and loss they build
    (``_build_model``, ``_build_loss``) and may add parameters to :attr:`params`."""

    params = CLASSIFIER_PARAMS

    _estimator_type = "classifier"

    def __sklearn_tags__(self):
        # Only scikit-learn calls this, so importing it here adds no dependency.
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(),
            input_tags=InputTags(),
        )

    # -- training ---------------------------------------------------------------------------

    def fit(self, X, y, *, classes=None, validation_data=None, callbacks=(), resume=None):
        """Train on images or features ``X`` and labels ``y``; return ``self``.

        ``classes`` fixes the label order (default: the sorted unique labels of ``y``).
        ``validation_data=(X_val, y_val)`` (else a stratified ``validation_fraction`` of the
        training rows) adds validation loss/accuracy to the history and enables
        ``early_stopping``. ``callbacks`` and ``resume`` go to :func:`gradwise.fit`. If
        training diverges, the classifier keeps the last good weights and the history, and
        :class:`~gradwise.DivergenceError` is raised.
        """
        self._check_params()
        X = _check_inputs(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(
                f"y must be 1-D with one label per row of X ({len(X)}), got shape {y.shape}"
            )
        check_labels("y", y)
        if classes is not None:
            check_labels("classes", np.asarray(classes))
        self.classes_ = np.unique(y) if classes is None else _distinct(classes)
        if len(self.classes_) < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {len(self.classes_)}")
        y_index = encode_labels(y, self.classes_)
        if validation_data is None and self.validation_fraction:
            keep, held = stratified_split_indices(y_index, self.validation_fraction, seed=self.seed)
            validation = (X[held], y_index[held])
            X_fit, y_fit = X[keep], y_index[keep]
        else:
            X_fit, y_fit = X, y_index
            validation = None
            if validation_data is not None:
                X_val, y_val = validation_data
                validation = (_check_inputs(X_val), self._encode(y_val))
        self.input_shape_ = tuple(int(s) for s in X.shape[1:])
        self.check_size(self.input_shape_, len(self.classes_))
        self.data_fingerprint_ = fingerprint(X_fit, y_fit)
        X_fit, y_fit = augment(X_fit, y_fit, self.augment)
        self.preprocessing_ = preprocessing(**PREPROCESSING[self.preprocessing])
        features = self.preprocessing_.fit_transform(X_fit)
        self.n_features_in_ = int(features.shape[1])
        dtype = np.dtype(self.dtype)
        features = features.astype(dtype, copy=False)
        val = None
        if validation is not None:
            X_val, y_val = validation
            if tuple(X_val.shape[1:]) != self.input_shape_ or len(X_val) != len(y_val):
                raise ValueError(
                    f"validation inputs must be {len(y_val)} rows of shape {self.input_shape_}, "
                    f"got {X_val.shape}"
                )
            val = (self.preprocessing_.transform(X_val).astype(dtype, copy=False), y_val)
        elif self.early_stopping:
            raise ValueError(
                "early_stopping needs validation rows: set validation_fraction > 0 "
                "or pass validation_data"
            )
        self.model = self._build_model(self.n_features_in_, len(self.classes_), dtype)
        nn.flatten(self.model)
        self.loss_ = self._build_loss()
        self.penalty_ = nn.L2(self.reg) if self.reg else None
        optimizer = optim.make(self.optimizer, self.lr, self.optimizer_options)
        batch_size = None if self.trains_full_batch() else self.batch_size
        steps = 1 if batch_size is None else math.ceil(len(y_fit) / min(batch_size, len(y_fit)))
        # A full-batch method's line search sets its step length, on minibatches too.
        full_batch = optim.spec(self.optimizer).is_full_batch
        schedule = None if full_batch else self._schedule(optimizer, steps)
        callbacks = list(callbacks)
        if self.early_stopping:
            callbacks.insert(0, EarlyStopping(patience=self.early_stopping))
        self.optimizer_ = optimizer
        try:
            self.history_ = train_fit(
                self.model,
                self.loss_,
                (features, y_fit),
                optimizer,
                penalty=self.penalty_,
                epochs=self.epochs,
                batch_size=batch_size,
                schedule=schedule,
                sampling=self.sampling,
                seed=self.seed,
                callbacks=callbacks,
                val=val,
                resume=resume,
                progress=self.verbose,
            )
        except DivergenceError as err:
            self.history_ = getattr(err, "history", None)
            raise
        return self

    def trains_full_batch(self):
        """True when every step sees every training row: ``batch_size=None``, or a
        full-batch method (L-BFGS, ...) unless ``full_batch_methods="minibatch"``."""
        method = optim.spec(self.optimizer).is_full_batch
        return self.batch_size is None or (method and self.full_batch_methods == "full")

    def _check_params(self):
        self.check_params()
        # The keywords must suit the optimizer: building it once checks them.
        optim.make(self.optimizer, self.lr, self.optimizer_options)

    def check_size(self, input_shape, n_classes):
        """Refuse, before any work, an optimizer whose memory would not hold the model this
        classifier builds for inputs of ``input_shape`` and ``n_classes`` classes (a dense
        BFGS or Newton matrix; :meth:`gradwise.optim.Optimizer.check_size`)."""
        sizes = self._layer_sizes(math.prod(input_shape), n_classes)
        layers = zip(sizes[:-1], sizes[1:], strict=True)
        n_parameters = sum((fan_in + 1) * fan_out for fan_in, fan_out in layers)
        # The parameters, their gradients and up to three optimizer buffers (Adam's amsgrad).
        needed = 5 * n_parameters * np.dtype(self.dtype).itemsize
        if needed > default_memory_limit():
            raise ValueError(
                f"{type(self).__name__} with layers {'x'.join(map(str, sizes))} has "
                f"{n_parameters:,} parameters ({human_bytes(needed)} with their gradients and "
                f"optimizer state), over the {human_bytes(default_memory_limit())} memory budget"
            )
        optimizer = optim.make(self.optimizer, self.lr, self.optimizer_options)
        check = getattr(optimizer, "check_size", None)
        if check is not None:
            check(n_parameters, np.dtype(self.dtype))

    def _layer_sizes(self, n_features, n_classes):
        """Widths of the model's layers, input first (a linear model: two)."""
        return [n_features, n_classes]

    def _schedule(self, optimizer, steps_per_epoch):
        if self.schedule is None or callable(self.schedule):
            return self.schedule
        if not hasattr(optimizer, "lr"):
            raise ValueError(f"{self.optimizer} has no learning rate to schedule: schedule='none'")
        return from_spec(self.schedule, optimizer.lr, steps_per_epoch, self.epochs)

    def _build_loss(self):
        raise NotImplementedError

    def _build_model(self, n_features, n_classes, dtype):
        return nn.Linear(n_features, n_classes, init=self.init, seed=self.seed, dtype=dtype)

    # -- prediction -------------------------------------------------------------------------

    def _check_fitted(self):
        if getattr(self, "model", None) is None or not hasattr(self, "classes_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call fit(X, y) first")

    def _features(self, X):
        self._check_fitted()
        X = _check_inputs(X)
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"{type(self).__name__} was fitted on inputs of shape {self.input_shape_}, "
                f"got {tuple(X.shape[1:])}"
            )
        return self.preprocessing_.transform(X).astype(self._dtype(), copy=False)

    def _dtype(self):
        return nn.flatten(self.model)[0].dtype

    def _encode(self, y):
        return encode_labels(y, self.classes_)

    def decision_function(self, X):
        """Class scores ``X W + b`` (after preprocessing), shape (N, n_classes), float64."""
        features = self._features(X)
        return predict_scores(self.model, features).astype(np.float64)

    def predict_proba(self, X):
        """Softmax of the scores: ``exp(s_k - max s) / sum_j exp(s_j - max s)`` per row.

        For the softmax and MLP classifiers these are the model's probabilities; for the SVM
        they are only the scores squashed into [0, 1] (the hinge loss is not a likelihood).
        """
        return softmax(self.decision_function(X))

    def predict(self, X):
        """The class of highest score for each row."""
        scores = self.decision_function(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def explain(self, x, label=None, *, margin=1.0):
        """The lecture's worked example for one input ``x`` (an image or a feature row): a
        :class:`gradwise.nn.Explanation` of its scores for class ``label`` (default: the
        predicted one). ``gradwise explain`` prints the same object."""
        scores = self.decision_function(np.asarray(x)[None])[0]
        return nn.explain_scores(scores, self.classes_, label, margin=margin)

    def score(self, X, y):
        """Accuracy: the fraction of rows whose predicted class is ``y``."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    # -- model files ------------------------------------------------------------------------

    def save(self, path, *, training=None):
        """Write a model file (``.npz`` + JSON metadata; :mod:`.model_file`)."""
        self._check_fitted()
        config, arrays = self.preprocessing_.get_state()
        training = dict(training or {})
        if getattr(self, "history_", None) is not None:
            training.setdefault("epochs_run", len(self.history_.epochs))
            training.setdefault("stop_reason", self.history_.stop_reason)
        return save_model(
            path,
            self.model,
            classes=[str(c) for c in self.classes_],
            loss=self.loss_,
            penalty=self.penalty_,
            input_shape=self.input_shape_,
            preprocessing={"pipeline": config, "arrays": arrays},
            training=training,
            data_fingerprint=getattr(self, "data_fingerprint_", None),
            estimator={
                "class": type(self).__name__,
                "params": _json_params(self.get_params()),
                "class_labels": self.classes_.tolist(),
            },
        )


def _check_inputs(X):
    X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(f"X must be (N, D) features or (N, H, W, C) images, got shape {X.shape}")
    if len(X) == 0:
        raise ValueError("X has no rows")
    if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)):
        raise TypeError(f"X must be numeric, got dtype {X.dtype}")
    return X


def check_labels(name, labels):
    """``labels`` (an array) must be all numbers or all strings, none missing: ``None`` or
    NaN cannot be sorted into classes nor told apart, so they are refused by name."""
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError(f"{name} holds a NaN or infinite label; every label must be a class")
    if labels.dtype.kind != "O":
        return
    kinds = set()
    for label in labels.tolist():
        if isinstance(label, str):
            kinds.add("strings")
        elif isinstance(label, numbers.Real) and not isinstance(label, bool):
            if label != label:  # NaN
                raise ValueError(f"{name} holds a NaN label; every label must be a class")
            kinds.add("numbers")
        else:
            raise TypeError(
                f"{name} must hold numbers or strings, got the label {label!r} "
                f"({type(label).__name__})"
            )
    if len(kinds) > 1:
        raise TypeError(f"{name} mixes numbers and strings; use one kind of label")


def encode_labels(y, classes):
    """The index in ``classes`` of every label of ``y`` (``ValueError`` naming the first
    label that is not one of them)."""
    lookup = {c: i for i, c in enumerate(np.asarray(classes).tolist())}
    try:
        return np.array([lookup[v] for v in np.asarray(y).tolist()], dtype=np.int64)
    except KeyError as err:
        raise ValueError(f"label {err.args[0]!r} is not one of the classes") from None
    except TypeError as err:  # an unhashable label
        raise TypeError(f"labels must be numbers or strings ({err})") from None


def _distinct(classes):
    classes = np.asarray(classes)
    if len(set(classes.tolist())) != len(classes):
        raise ValueError("classes must not repeat")
    return classes


def _json_params(params):
    """Parameters as JSON values; a callable schedule is recorded by its repr only."""
    out = {}
    for name, value in params.items():
        if isinstance(value, tuple):
            value = list(value)
        if callable(value):
            value = None
        if isinstance(value, np.generic):
            value = value.item()
        out[name] = value
    return out
