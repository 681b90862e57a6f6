"""Classifiers for people who just want one: ``SoftmaxClassifier``, ``SVMClassifier``,
``MLPClassifier``.

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
``history_`` (:class:`gradwise.train.History`), ``preprocessing_`` (the fitted
:class:`gradwise.data.Pipeline`), ``n_features_in_`` and ``input_shape_``.
``save(path)`` writes a model file (:mod:`gradwise.model_file`); :func:`load` reads it back.
"""

import inspect
import math
from pathlib import Path

import numpy as np

from . import nn
from .callbacks import EarlyStopping
from .data.augment import AUGMENTATIONS, augment
from .data.split import stratified_split_indices
from .data.transforms import Pipeline, preprocessing
from .errors import DivergenceError, ModelFileError
from .model_file import fingerprint, load_model, save_model
from .train import SCHEDULE_HELP, predict_scores
from .train import fit as train_fit

#: ``preprocessing`` choices -> arguments of :func:`gradwise.data.preprocessing`. Every choice
#: converts to float32 (uint8 images to ``x / 255``) and flattens to (N, D).
PREPROCESSING = {
    "none": {"scale": True, "center": None},
    "mean": {"scale": True, "center": "pixel"},
    "channel-mean": {"scale": True, "center": "channel"},
    "standardize": {"scale": True, "center": "pixel", "standardize": True},
}

#: The learning rate used when ``lr=None``: what works for mean-subtracted [0, 1] pixels
#: with minibatches of a few hundred rows (momentum 0.9 multiplies SGD's step by about 10),
#: and 1 for L-BFGS, whose line search scales its steps.
DEFAULT_LR = {
    "sgd": 0.1,
    "momentum": 0.02,
    "nesterov": 0.02,
    "adagrad": 0.01,
    "rmsprop": 1e-3,
    "adam": 1e-3,
    "adamw": 1e-3,
    "lbfgs": 1.0,
}


def make_optimizer(name, lr=None, options=None):
    """The optimizer ``name`` (``gradwise.optim.get``) with ``lr`` (``None``: DEFAULT_LR).

    ``lbfgs`` gets a strong Wolfe line search unless ``options`` say otherwise.
    """
    from . import optim

    if not isinstance(name, str):
        raise TypeError(f"optimizer must be a name, got {type(name).__name__}")
    key = name.strip().lower()
    keywords = dict(options or {})
    keywords["lr"] = DEFAULT_LR.get(key, 1e-3) if lr is None else lr
    if key == "lbfgs":
        keywords.setdefault("line_search_fn", "strong_wolfe")
    return optim.get(key, **keywords)


def make_schedule(spec, lr, steps_per_epoch, epochs):
    """A learning-rate schedule ``t -> lr`` (``t`` in steps) from a spec given in epochs.

    ``none``: constant. ``step:E[:G]``: multiply by ``G`` (default 0.5) every ``E`` epochs.
    ``exp:K``: ``lr * exp(-K * epoch)``. ``inv:K``: ``lr / (1 + K * epoch)``.
    ``cosine[:F]``: cosine from ``lr`` to ``F`` (default 0) over the whole run. ``epoch`` is
    ``t / steps_per_epoch`` (fractional), so the decay is smooth across an epoch's steps.
    """
    from .optim import schedule as schedules

    if spec is None or callable(spec):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"schedule must be a string ({SCHEDULE_HELP}) or a callable")
    name, *args = spec.strip().lower().split(":")
    try:
        numbers = [float(a) for a in args]
    except ValueError:
        raise ValueError(f"bad schedule {spec!r}: expected {SCHEDULE_HELP}") from None
    allowed = {"none": 0, "step": 2, "exp": 1, "inv": 1, "cosine": 1}
    required = {"none": 0, "step": 1, "exp": 1, "inv": 1, "cosine": 0}
    if name not in allowed or not required[name] <= len(numbers) <= allowed[name]:
        raise ValueError(f"bad schedule {spec!r}: expected {SCHEDULE_HELP}")
    if name == "none":
        return None
    if name == "step":
        every = numbers[0]
        if every < 1 or every != int(every):
            raise ValueError(f"step decay needs a whole number of epochs >= 1, got {args[0]}")
        gamma = numbers[1] if len(numbers) > 1 else 0.5
        return schedules.StepDecay(lr, int(every) * steps_per_epoch, gamma)
    if name == "exp":
        return schedules.ExponentialDecay(lr, numbers[0] / steps_per_epoch)
    if name == "inv":
        return schedules.InverseTimeDecay(lr, numbers[0] / steps_per_epoch)
    final = numbers[0] if numbers else 0.0
    return schedules.CosineDecay(lr, max(1, epochs * steps_per_epoch), final)


class _Classifier:
    """What the three classifiers share; subclasses say which model and loss they build."""

    _estimator_type = "classifier"

    # -- scikit-learn's parameter protocol ------------------------------------------------

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return sorted(p.name for p in signature.parameters.values() if p.name != "self")

    def get_params(self, deep=True):
        """The constructor arguments, by name (``deep`` is accepted for scikit-learn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor arguments by name; return ``self``. Checked at the next ``fit``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"{type(self).__name__} has no parameter {name!r}; valid: {', '.join(valid)}"
                )
            setattr(self, name, value)
        return self

    def __sklearn_tags__(self):
        # Only scikit-learn calls this, so importing it here adds no dependency.
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(),
            input_tags=InputTags(),
        )

    def __repr__(self):
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        changed = [
            f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, defaults.get(k))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

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
        self.classes_, y_index = _encode_labels(y, classes, len(X))
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
        optimizer = make_optimizer(self.optimizer, self.lr, self.optimizer_options)
        batch_size = self.batch_size
        steps = 1 if batch_size is None else math.ceil(len(y_fit) / min(batch_size, len(y_fit)))
        schedule = make_schedule(self.schedule, optimizer.lr, steps, self.epochs)
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

    def _check_params(self):
        from ._validate import choice, non_negative, positive

        choice("preprocessing", self.preprocessing, tuple(PREPROCESSING))
        choice("augment", self.augment, AUGMENTATIONS)
        choice("dtype", self.dtype, ("float32", "float64"))
        choice("sampling", self.sampling, ("shuffle", "replacement"))
        non_negative("reg", self.reg)
        if self.lr is not None:
            positive("lr", self.lr)
        for name in ("epochs", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        if self.batch_size is not None and (
            isinstance(self.batch_size, bool)
            or not isinstance(self.batch_size, int | np.integer)
            or self.batch_size < 1
        ):
            raise ValueError(f"batch_size must be an integer >= 1 or None, got {self.batch_size!r}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        if self.early_stopping is not None and (
            not isinstance(self.early_stopping, int) or self.early_stopping < 1
        ):
            raise ValueError(
                "early_stopping must be a patience in epochs >= 1 or None, "
                f"got {self.early_stopping!r}"
            )
        make_optimizer(self.optimizer, self.lr, self.optimizer_options)  # checks name and keywords
        make_schedule(self.schedule, 1.0, steps_per_epoch=1, epochs=1)  # checks the spec

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
        lookup = {c: i for i, c in enumerate(self.classes_.tolist())}
        try:
            return np.array([lookup[v] for v in np.asarray(y).tolist()], dtype=np.int64)
        except KeyError as err:
            raise ValueError(f"label {err.args[0]!r} is not one of the classes") from None

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

    def score(self, X, y):
        """Accuracy: the fraction of rows whose predicted class is ``y``."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    # -- model files ------------------------------------------------------------------------

    def save(self, path, *, training=None):
        """Write a model file (``.npz`` + JSON metadata; see :mod:`gradwise.model_file`)."""
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


class SoftmaxClassifier(_Classifier):
    """Linear softmax classifier (multinomial logistic regression): ``s = x W + b``,
    ``L = mean_i [-log softmax(s_i)_{y_i}] + reg * sum W^2``.

    Defaults: minibatch SGD with momentum 0.9 (``optimizer="momentum"``, PyTorch's form),
    ``lr=None`` (0.02 for momentum; see ``DEFAULT_LR``), 10 epochs of 256 rows, per-pixel
    mean subtraction, weights drawn from N(0, 1e-3^2). ``optimizer_options`` are further
    keywords of the optimizer; ``schedule`` is a string (``step:E[:G]``, ``exp:K``,
    ``inv:K``, ``cosine``) in epochs or a callable of the step. ``batch_size=None`` trains
    full batch (what ``optimizer="lbfgs"`` wants). ``early_stopping`` is a patience in
    epochs on the validation loss. ``augment="flip"`` trains on every training image and its
    mirror image (:mod:`gradwise.data.augment`; images only, validation rows untouched).
    """

    def __init__(
        self,
        reg=2.5e-4,
        optimizer="momentum",
        lr=None,
        epochs=10,
        batch_size=256,
        schedule=None,
        preprocessing="mean",
        augment=None,
        init="gaussian",
        sampling="shuffle",
        validation_fraction=0.0,
        early_stopping=None,
        optimizer_options=None,
        dtype="float32",
        seed=0,
        verbose=False,
    ):
        self.reg = reg
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.schedule = schedule
        self.preprocessing = preprocessing
        self.augment = augment
        self.init = init
        self.sampling = sampling
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.optimizer_options = optimizer_options
        self.dtype = dtype
        self.seed = seed
        self.verbose = verbose

    def _build_loss(self):
        return nn.SoftmaxCrossEntropy()


class SVMClassifier(_Classifier):
    """Linear multiclass SVM (Weston-Watkins hinge): ``s = x W + b``,
    ``L = mean_i sum_{j != y_i} max(0, s_j - s_{y_i} + margin) + reg * sum W^2``.

    Same parameters and defaults as :class:`SoftmaxClassifier`, plus ``margin``.
    """

    def __init__(
        self,
        margin=1.0,
        reg=2.5e-4,
        optimizer="momentum",
        lr=None,
        epochs=10,
        batch_size=256,
        schedule=None,
        preprocessing="mean",
        augment=None,
        init="gaussian",
        sampling="shuffle",
        validation_fraction=0.0,
        early_stopping=None,
        optimizer_options=None,
        dtype="float32",
        seed=0,
        verbose=False,
    ):
        self.margin = margin
        self.reg = reg
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.schedule = schedule
        self.preprocessing = preprocessing
        self.augment = augment
        self.init = init
        self.sampling = sampling
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.optimizer_options = optimizer_options
        self.dtype = dtype
        self.seed = seed
        self.verbose = verbose

    def _build_loss(self):
        return nn.MulticlassHinge(margin=self.margin)


class MLPClassifier(_Classifier):
    """Fully connected network: ``hidden`` layers of ReLU units, then a linear layer of
    class scores, trained on the softmax (``loss="softmax"``) or hinge (``"svm"``) loss plus
    ``reg * sum W^2`` over every layer's weights.

    Hidden layers start from He's initialisation N(0, 2/fan_in), the output layer from
    Xavier's; layer ``k`` is seeded with ``seed + k``. Other parameters as
    :class:`SoftmaxClassifier`.
    """

    def __init__(
        self,
        hidden=(100,),
        loss="softmax",
        reg=2.5e-4,
        optimizer="momentum",
        lr=None,
        epochs=10,
        batch_size=256,
        schedule=None,
        preprocessing="mean",
        augment=None,
        sampling="shuffle",
        validation_fraction=0.0,
        early_stopping=None,
        optimizer_options=None,
        dtype="float32",
        seed=0,
        verbose=False,
    ):
        self.hidden = hidden
        self.loss = loss
        self.reg = reg
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.schedule = schedule
        self.preprocessing = preprocessing
        self.augment = augment
        self.sampling = sampling
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.optimizer_options = optimizer_options
        self.dtype = dtype
        self.seed = seed
        self.verbose = verbose

    def _check_params(self):
        super()._check_params()
        from ._validate import choice

        choice("loss", self.loss, ("softmax", "svm"))
        sizes = _hidden_sizes(self.hidden)
        if not sizes:
            raise ValueError("hidden must name at least one layer size, e.g. (100,)")

    def _build_loss(self):
        return nn.SoftmaxCrossEntropy() if self.loss == "softmax" else nn.MulticlassHinge()

    def _build_model(self, n_features, n_classes, dtype):
        sizes = [n_features, *_hidden_sizes(self.hidden)]
        layers = []
        for k, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
            layers += [nn.Linear(fan_in, fan_out, init="he", seed=self.seed + k, dtype=dtype)]
            layers += [nn.ReLU()]
        layers.append(
            nn.Linear(
                sizes[-1], n_classes, init="xavier", seed=self.seed + len(sizes) - 1, dtype=dtype
            )
        )
        return nn.Sequential(*layers)


CLASSIFIERS = {c.__name__: c for c in (SoftmaxClassifier, SVMClassifier, MLPClassifier)}


def load(path):
    """A fitted classifier from a model file written by ``save``, or from a run folder of
    ``gradwise train`` (its ``model.npz``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.npz"
    saved = load_model(path)
    spec = saved.estimator
    if not isinstance(spec, dict) or spec.get("class") not in CLASSIFIERS:
        raise ModelFileError(f"{path}: does not hold a gradwise classifier")
    cls = CLASSIFIERS[spec["class"]]
    params = spec.get("params") or {}
    unknown = sorted(set(params) - set(cls._param_names()))
    if unknown:
        raise ModelFileError(f"{path}: unknown {cls.__name__} parameters {unknown}")
    clf = cls(**params)
    prep = saved.preprocessing
    try:
        clf.preprocessing_ = Pipeline.from_state(prep["pipeline"], prep["arrays"])
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: its preprocessing cannot be rebuilt ({err})") from None
    labels = spec.get("class_labels", saved.classes)
    if not isinstance(labels, list) or len(labels) != len(saved.classes):
        raise ModelFileError(f"{path}: its class labels do not match its classes")
    clf.classes_ = np.asarray(labels)
    clf.model = saved.model
    clf.loss_ = saved.loss
    clf.penalty_ = saved.penalty
    clf.input_shape_ = saved.input_shape
    clf.n_features_in_ = _first_width(saved.model)
    clf.data_fingerprint_ = saved.data_fingerprint
    clf.history_ = None
    clf.training_ = saved.training
    if clf.input_shape_ is None:
        raise ModelFileError(f"{path}: lacks the input shape a classifier needs")
    return clf


def softmax(scores):
    """Row-wise softmax with the max shift (no overflow), in float64."""
    scores = np.asarray(scores, dtype=np.float64)
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def _first_width(model):
    from .model_file import input_width

    return input_width(model)


def _check_inputs(X):
    X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(f"X must be (N, D) features or (N, H, W, C) images, got shape {X.shape}")
    if len(X) == 0:
        raise ValueError("X has no rows")
    if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)):
        raise TypeError(f"X must be numeric, got dtype {X.dtype}")
    return X


def _encode_labels(y, classes, n):
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y must be 1-D with one label per row of X ({n}), got shape {y.shape}")
    if classes is None:
        classes, index = np.unique(y, return_inverse=True)
    else:
        classes = np.asarray(classes)
        if len(set(classes.tolist())) != len(classes):
            raise ValueError("classes must not repeat")
        lookup = {c: i for i, c in enumerate(classes.tolist())}
        try:
            index = np.array([lookup[v] for v in y.tolist()], dtype=np.int64)
        except KeyError as err:
            raise ValueError(f"label {err.args[0]!r} is not one of the classes") from None
    if len(classes) < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {len(classes)}")
    return classes, np.asarray(index, dtype=np.int64).reshape(-1)


def _hidden_sizes(hidden):
    if isinstance(hidden, int | np.integer) and not isinstance(hidden, bool):
        hidden = (hidden,)
    try:
        sizes = [int(h) for h in hidden]
    except (TypeError, ValueError):
        raise ValueError(f"hidden must be layer sizes like (100,), got {hidden!r}") from None
    if any(h < 1 for h in sizes):
        raise ValueError(f"hidden layer sizes must be >= 1, got {hidden!r}")
    return sizes


def _same(a, b):
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return False


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
