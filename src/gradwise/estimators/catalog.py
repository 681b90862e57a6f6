"""Which classifiers there are, by the names the command line and model files use, and
:func:`load`, which rebuilds a saved one."""

from pathlib import Path

import numpy as np

from .. import nn
from ..data.transforms import Pipeline
from ..errors import ModelFileError
from .linear import SoftmaxClassifier, SVMClassifier
from .mlp import MLPClassifier
from .model_file import input_width, load_model

#: The classifiers a model file can hold, by class name.
CLASSIFIERS = {c.__name__: c for c in (SoftmaxClassifier, SVMClassifier, MLPClassifier)}

#: ``--model`` names: a linear model (its loss chosen by ``--loss``), the linear SVM, an MLP.
MODELS = ("linear", "svm", "mlp")


def classifier_class(model, loss="softmax"):
    """The classifier class of ``--model MODEL --loss LOSS``: ``linear`` with ``softmax`` is
    :class:`SoftmaxClassifier`, ``svm`` (or ``linear`` with a hinge loss: ``svm``,
    ``one-vs-all``, ``crammer-singer``) :class:`SVMClassifier`, ``mlp``
    :class:`MLPClassifier` (which takes any loss)."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    if loss not in nn.LOSSES:
        raise ValueError(f"loss must be one of {', '.join(nn.LOSSES)}, got {loss!r}")
    if model == "mlp":
        return MLPClassifier
    if model == "svm" or loss in nn.HINGE_LOSSES:
        return SVMClassifier
    return SoftmaxClassifier


def classifier_loss(model, loss="softmax"):
    """The ``loss`` parameter of the classifier of ``--model MODEL --loss LOSS`` (None for
    one that has none): the loss itself, except that ``--model svm`` with a loss that is no
    hinge (the command line's default, softmax) keeps the SVM's own Weston-Watkins hinge."""
    cls = classifier_class(model, loss)
    if "loss" not in cls.params:
        return None
    if cls is SVMClassifier and loss not in nn.HINGE_LOSSES:
        return cls.params["loss"].default
    return loss


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
    clf.n_features_in_ = input_width(saved.model)
    clf.data_fingerprint_ = saved.data_fingerprint
    clf.history_ = None
    clf.training_ = saved.training
    if clf.input_shape_ is None:
        raise ModelFileError(f"{path}: lacks the input shape a classifier needs")
    return clf
