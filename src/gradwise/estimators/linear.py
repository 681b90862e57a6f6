"""The linear classifiers of the lecture: the score function ``s = x W + b`` trained on the
softmax or a multiclass SVM (hinge) loss."""

from .. import nn
from .._validate import Param, one_of, positive
from .classifier import CLASSIFIER_PARAMS, Classifier


class SoftmaxClassifier(Classifier):
    """Linear softmax classifier (multinomial logistic regression): ``s = x W + b``,
    ``L = mean_i [-log softmax(s_i)_{y_i}] + reg * sum W^2``.

    Defaults (:data:`~gradwise.estimators.classifier.CLASSIFIER_PARAMS`): minibatch SGD with
    momentum 0.9 (``optimizer="momentum"``, PyTorch's form), ``lr=None`` (the optimizer's
    training learning rate, :func:`gradwise.optim.registry.make`: 0.02 for momentum), 10
    epochs of 256 rows with a cosine learning-rate schedule, per-pixel mean subtraction,
    weights drawn from N(0, 1e-3^2). ``optimizer_options`` are further keywords of the
    optimizer; ``schedule`` is a string (``step:E[:G]``, ``exp:K``, ``inv:K``, ``cosine``,
    ``none``) in epochs or a callable of the step. A full-batch optimizer (``lbfgs``,
    ``bfgs``, ``newton``) trains on all rows at every step, without a schedule.
    ``early_stopping`` is a patience in epochs on the validation loss. ``augment="flip"``
    mirrors each training image of a minibatch with probability 1/2, ``"crop:4"`` shifts it
    after zero padding, ``"mirror-copies"`` trains on every image and its mirror image
    (:mod:`gradwise.data.augment`; images only, validation rows untouched).
    """

    def _build_loss(self):
        return nn.SoftmaxCrossEntropy()


class SVMClassifier(Classifier):
    """Linear multiclass SVM: ``s = x W + b``, ``L = mean_i L_i + reg * sum W^2`` with the
    hinge loss ``loss`` (:data:`gradwise.nn.HINGE_LOSSES`):

    - ``"svm"`` (Weston-Watkins, the default):
      ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)``;
    - ``"one-vs-all"``: ``L_i = sum_j max(0, margin - t_ij s_j)``, ``t_ij = +1`` if
      ``j == y_i`` else ``-1``;
    - ``"crammer-singer"`` (structured SVM):
      ``L_i = max(0, margin + max_{j != y_i} s_j - s_{y_i})``.

    Same parameters and defaults as :class:`SoftmaxClassifier`, plus ``loss`` and ``margin``.
    """

    params = {
        "loss": Param("svm", one_of(*nn.HINGE_LOSSES), "hinge loss: " + ", ".join(nn.HINGE_LOSSES)),
        "margin": Param(1.0, positive, "the hinge's margin Delta"),
        **CLASSIFIER_PARAMS,
    }

    def _build_loss(self):
        return nn.loss_named(self.loss, margin=self.margin)
