"""Losses ("criteria" in torch7): ``forward(scores, labels) -> float``, ``backward()``.

``scores`` is (N, C) and ``labels`` (N,) integer class indices. ``reduction="mean"`` averages
over the N rows (PyTorch's default), ``"sum"`` adds them (the lecture's ``L = sum_i L_i``).
"""

import numpy as np

from .._validate import choice, non_negative
from .description import Describable
from .functional import check_labels

REDUCTIONS = ("mean", "sum")


class Criterion(Describable, kind="loss"):
    """Base class of losses. Every subclass is registered for model files: one whose
    constructor keeps its arguments under their own names saves and loads as it is
    (:mod:`gradwise.nn.description`). ``smooth`` is False for a loss with kinks (no Hessian
    there: Newton's methods refuse it)."""

    smooth = True

    def __init__(self, reduction="mean"):
        self.reduction = choice("reduction", reduction, REDUCTIONS)

    def __call__(self, scores, labels):
        return self.forward(scores, labels)

    def _scale(self, n):
        return 1.0 / n if self.reduction == "mean" else 1.0


def check_scores_and_labels(scores, labels):
    """Validate at the boundary; return ``(scores, labels)`` as arrays."""
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (N, C), got shape {scores.shape}")
    labels = check_labels(labels, scores.shape[1], n_rows=scores.shape[0])
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or Inf (did training diverge? try a smaller lr)")
    return scores, labels


class SoftmaxCrossEntropy(Criterion):
    """Softmax followed by the negative log-likelihood of the correct class, fused.

    ``p = exp(s - max s) / sum_j exp(s_j - max s)`` and ``L_i = log sum_j exp(s_j) - s_{y_i}``
    (natural log), computed with the max shift so scores of 1e4 do not overflow. The
    gradient is ``(p - onehot(y)) / N`` for ``mean``. Equals torch's ``nn.CrossEntropyLoss``
    and torch7's ``nn.CrossEntropyCriterion``. After ``forward``, ``probabilities`` holds p.
    """

    def forward(self, scores, labels):
        scores, labels = check_scores_and_labels(scores, labels)
        rows = np.arange(len(labels))
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1)
        self.probabilities = exp / total[:, None]
        self._labels, self._rows = labels, rows
        losses = np.log(total) - shifted[rows, labels]
        return float(losses.sum() * self._scale(len(labels)))

    def backward(self):
        grad = self.probabilities.copy()
        grad[self._rows, self._labels] -= 1
        grad *= self._scale(len(self._labels))
        return grad

    def __repr__(self):
        return f"SoftmaxCrossEntropy(reduction={self.reduction!r})"


def check_margin(margin, name="margin"):
    """The hinge losses' margin: a finite number >= 0, as a float."""
    return float(non_negative(name, margin))


def _gradient_dtype(values):
    """Integer scores give a float64 gradient; float scores one of their own dtype."""
    return values.dtype if values.dtype.kind == "f" else np.float64


class Hinge(Criterion, abstract=True):
    """Base of the hinge (SVM) losses: a ``margin`` each score must clear, and kinks where
    a hinge reaches 0."""

    smooth = False

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = check_margin(margin)

    def __repr__(self):
        return f"{type(self).__name__}(margin={self.margin}, reduction={self.reduction!r})"


class MulticlassHinge(Hinge):
    """The multiclass SVM loss (Weston-Watkins):
    ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)``.

    PyTorch's ``F.multi_margin_loss(s, y, margin=margin)`` is the same sum divided by the
    number of classes C, so ``MulticlassHinge()(s, y) == C * multi_margin_loss(s, y)``.
    Subgradient: at a margin of exactly 0 the hinge contributes 0 (as PyTorch).
    """

    def forward(self, scores, labels):
        scores, labels = check_scores_and_labels(scores, labels)
        rows = np.arange(len(labels))
        margins = scores - scores[rows, labels][:, None] + self.margin
        margins[rows, labels] = 0
        np.maximum(margins, 0, out=margins)
        self._active, self._labels, self._rows = margins > 0, labels, rows
        self._dtype = _gradient_dtype(margins)
        return float(margins.sum() * self._scale(len(labels)))

    def backward(self):
        grad = self._active.astype(self._dtype)
        grad[self._rows, self._labels] = -self._active.sum(axis=1)
        grad *= self._scale(len(self._labels))
        return grad


class OneVsAllHinge(Hinge):
    """One binary SVM per class (one-vs-all, also called one-vs-rest):
    ``L_i = sum_j max(0, margin - t_ij s_j)`` with ``t_ij = +1`` if ``j == y_i`` else ``-1``.

    The margin is measured from a score of zero, not between two scores: the correct class's
    score should be at least ``+margin`` and every other class's at most ``-margin`` (the
    linear-classifier demo's one-vs-all loss, margin 1). Summed over the rows, with
    ``0.5 ||w_j||^2`` per class, it is scikit-learn's
    ``LinearSVC(multi_class="ovr", loss="hinge")``. Subgradient:
    ``dL_i/ds_j = -t_ij`` where the hinge is positive, 0 where it is 0 or below (as PyTorch).
    """

    def forward(self, scores, labels):
        scores, labels = check_scores_and_labels(scores, labels)
        rows = np.arange(len(labels))
        hinges = scores + self.margin  # margin - (-1) s_j for the other classes
        hinges[rows, labels] = self.margin - scores[rows, labels]
        np.maximum(hinges, 0, out=hinges)
        self._active, self._labels, self._rows = hinges > 0, labels, rows
        self._dtype = _gradient_dtype(hinges)
        return float(hinges.sum() * self._scale(len(labels)))

    def backward(self):
        grad = self._active.astype(self._dtype)
        correct = grad[self._rows, self._labels]
        grad[self._rows, self._labels] = 0 - correct  # 0 - x, not -x: no -0.0 entries
        grad *= self._scale(len(self._labels))
        return grad


class CrammerSingerHinge(Hinge):
    """The structured (Crammer-Singer) multiclass SVM loss: only the highest-scoring wrong
    class counts, ``L_i = max(0, margin + max_{j != y_i} s_j - s_{y_i})``.

    Summed over the rows, with ``0.5 ||W||^2``, it is scikit-learn's
    ``LinearSVC(multi_class="crammer_singer")``. Subgradient: where ``L_i > 0``, ``+1`` for
    the wrong class of highest score (the first one if several tie, as ``torch.max``) and
    ``-1`` for ``y_i``; 0 where ``L_i`` is 0 (as PyTorch). With one class there is no wrong
    class and ``L_i = 0``.
    """

    def forward(self, scores, labels):
        scores, labels = check_scores_and_labels(scores, labels)
        rows = np.arange(len(labels))
        margins = scores - scores[rows, labels][:, None] + self.margin
        margins[rows, labels] = -np.inf  # the correct class is not a rival of itself
        rival = margins.argmax(axis=1)
        losses = np.maximum(margins[rows, rival], 0)
        self._active, self._rival, self._labels, self._rows = losses > 0, rival, labels, rows
        self._shape, self._dtype = margins.shape, _gradient_dtype(margins)
        return float(losses.sum() * self._scale(len(labels)))

    def backward(self):
        grad = np.zeros(self._shape, dtype=self._dtype)
        active = self._active.astype(self._dtype) * self._scale(len(self._labels))
        grad[self._rows, self._rival] += active
        grad[self._rows, self._labels] -= active
        return grad


#: Losses by the names the classifiers and the command line use (``--loss softmax``). A new
#: loss is registered with one line here, or with :func:`register_loss` from elsewhere.
LOSSES = {
    "softmax": SoftmaxCrossEntropy,
    "svm": MulticlassHinge,
    "one-vs-all": OneVsAllHinge,
    "crammer-singer": CrammerSingerHinge,
}

#: The names in :data:`LOSSES` of the hinge (SVM) losses, which take a ``margin``: what a
#: linear SVM (``SVMClassifier(loss=...)``, ``--model svm``) trains on.
HINGE_LOSSES = tuple(name for name, loss in LOSSES.items() if issubclass(loss, Hinge))


def register_loss(name, factory):
    """Make ``loss_named(name, **kw)`` (and ``--loss name``) build ``factory(**kw)``."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"loss name must be a non-empty string, got {name!r}")
    LOSSES[name.strip().lower()] = factory


def loss_named(name, **keywords):
    """The loss registered as ``name`` (``ValueError`` listing the known names if none)."""
    return choice("loss", name, tuple(LOSSES)) and LOSSES[name](**keywords)
