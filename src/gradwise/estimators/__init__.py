"""Estimators with scikit-learn's interface: the linear softmax and SVM classifiers, an MLP,
the kNN baseline; model files and :func:`load`.

    from gradwise.estimators import SoftmaxClassifier
    clf = SoftmaxClassifier(epochs=10).fit(X_train, y_train)
    clf.score(X_test, y_test); clf.save("model.npz")
"""

from .base import BaseEstimator
from .catalog import CLASSIFIERS, MODELS, classifier_class, classifier_loss, load
from .classifier import CLASSIFIER_PARAMS, PREPROCESSING, Classifier
from .knn import KNNClassifier
from .linear import SoftmaxClassifier, SVMClassifier
from .mlp import MLPClassifier

__all__ = [
    "CLASSIFIERS",
    "CLASSIFIER_PARAMS",
    "MODELS",
    "PREPROCESSING",
    "BaseEstimator",
    "Classifier",
    "KNNClassifier",
    "MLPClassifier",
    "SVMClassifier",
    "SoftmaxClassifier",
    "classifier_class",
    "classifier_loss",
    "load",
]
