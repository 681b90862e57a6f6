"""The two small functions every layer above asks for: the softmax of score rows, and the
check that labels are class indices."""

import numpy as np


def softmax(scores, out=None):
    """Row-wise ``exp(s - max s) / sum_j exp(s_j - max s)`` (the max shift: no overflow).

    ``out`` may be ``scores`` itself (computed in place, as the Hessian does per step).
    """
    scores = np.asarray(scores)
    out = np.subtract(scores, scores.max(axis=-1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)
    return out


def check_labels(labels, n_classes, n_rows=None, what="labels"):
    """``labels`` as an array if it is 1-D integer class indices in ``0..n_classes-1`` (with
    ``n_rows`` entries when given), else a ``TypeError``/``ValueError`` that says which."""
    labels = np.asarray(labels)
    if n_rows is not None and (labels.ndim != 1 or labels.shape[0] != n_rows):
        raise ValueError(
            f"{what} must be 1-D with one entry per row ({n_rows}), got shape {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"{what} must be integers (class indices), got dtype {labels.dtype}")
    if n_classes is not None and labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)][0]
        raise ValueError(
            f"label {bad} is out of range for {n_classes} classes (0..{n_classes - 1})"
        )
    return labels
