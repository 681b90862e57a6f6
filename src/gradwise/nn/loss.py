"""Losses ("criteria" in torch7): ``forward(scores, labels) -> float``, ``backward()``.

``scores`` is (N, C) and ``labels`` (N,) integer class indices. ``reduction="mean"`` averages
over the N rows (PyTorch's default), ``"sum"`` adds them (the lecture's ``L = sum_i L_i``).
"""

import numpy as np

from .._validate import choice, non_negative

REDUCTIONS = ("mean", "sum")


class Criterion:
    def __init__(self, reduction="mean"):
        self.reduction = choice("reduction", reduction, REDUCTIONS)

    def __call__(self, scores, labels):
        return self.forward(scores, labels)

    def _scale(self, n):
        return 1.0 / n if self.reduction == "mean" else 1.0


def check_scores_and_labels(scores, labels):
    """Validate at the boundary; return ``(scores, labels)`` as arrays."""
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (N, C), got shape {scores.shape}")
    if labels.ndim != 1 or labels.shape[0] != scores.shape[0]:
        raise ValueError(
            f"labels must be 1-D with one entry per row of scores ({scores.shape[0]}), "
            f"got shape {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers (class indices), got dtype {labels.dtype}")
    n_classes = scores.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)][0]
        raise ValueError(
            f"label {bad} is out of range for {n_classes} classes (0..{n_classes - 1})"
        )
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


class MulticlassHinge(Criterion):
    """The multiclass SVM loss ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)``.

    PyTorch's ``F.multi_margin_loss(s, y, margin=margin)`` is the same sum divided by the
    number of classes C, so ``MulticlassHinge()(s, y) == C * multi_margin_loss(s, y)``.
    Subgradient: at a margin of exactly 0 the hinge contributes 0 (as PyTorch).
    """

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = float(non_negative("margin", margin))

    def forward(self, scores, labels):
        scores, labels = check_scores_and_labels(scores, labels)
        rows = np.arange(len(labels))
        margins = scores - scores[rows, labels][:, None] + self.margin
        margins[rows, labels] = 0
        np.maximum(margins, 0, out=margins)
        self._active, self._labels, self._rows = margins > 0, labels, rows
        self._dtype = margins.dtype if margins.dtype.kind == "f" else np.float64
        return float(margins.sum() * self._scale(len(labels)))

    def backward(self):
        grad = self._active.astype(self._dtype)
        grad[self._rows, self._labels] = -self._active.sum(axis=1)
        grad *= self._scale(len(self._labels))
        return grad

    def __repr__(self):
        return f"MulticlassHinge(margin={self.margin}, reduction={self.reduction!r})"
