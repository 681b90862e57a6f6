"""Seeded splits: stratified hold-out (train/validation, or train/test) and k-fold indices.

All index arrays are int64 and sorted ascending, so a split keeps the original order of the
examples it selects. The same ``seed`` gives the same split, bit for bit.
"""

import numbers

import numpy as np

from .._validate import in_unit_interval


def stratified_split_indices(labels, fraction, *, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(len(labels))`` into ``(kept, held_out)`` with every class in proportion.

    ``held_out`` has ``round(fraction * N)`` examples. Class ``c`` with ``n_c`` examples
    contributes ``floor(fraction * n_c)`` of them, and the rest are handed out one per class
    to the classes with the largest remainders ``fraction * n_c - floor(fraction * n_c)``
    (ties to the lower class index), so the proportions are as even as integers allow.
    Which examples of a class are held out is drawn with ``np.random.default_rng(seed)``.
    """
    labels = _labels(labels)
    in_unit_interval("fraction", fraction)
    if fraction == 0:
        raise ValueError("fraction must be > 0, got 0")
    classes, inverse = np.unique(labels, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(classes))
    per_class = _allocate(counts, fraction, round(fraction * len(labels)))
    if per_class.sum() == 0:
        raise ValueError(
            f"fraction={fraction} of {len(labels)} examples holds out none; use a larger fraction"
        )
    if per_class.sum() == len(labels):
        raise ValueError(f"fraction={fraction} of {len(labels)} examples leaves none to train on")
    rng = np.random.default_rng(seed)
    held = []
    for c in range(len(classes)):
        members = np.flatnonzero(inverse == c)
        held.append(rng.permutation(members)[: per_class[c]])
    mask = np.zeros(len(labels), bool)
    mask[np.concatenate(held)] = True
    return np.flatnonzero(~mask).astype(np.int64), np.flatnonzero(mask).astype(np.int64)


def train_val_split(X, y, val_fraction=0.1, *, seed=0):
    """Stratified, seeded hold-out: return ``X_train, y_train, X_val, y_val``.

    Uses :func:`stratified_split_indices`; the validation set has ``round(val_fraction * N)``
    examples and every class in proportion.
    """
    y = _labels(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    train, val = stratified_split_indices(y, val_fraction, seed=seed)
    return X[train], y[train], X[val], y[val]


def kfold(n, k, *, shuffle=True, seed=0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` pairs ``(train_indices, val_indices)`` that partition ``range(n)`` into k folds.

    Fold sizes differ by at most one: the first ``n % k`` folds have ``n // k + 1`` examples.
    With ``shuffle`` the examples are permuted by ``np.random.default_rng(seed)`` before being
    cut into folds; without it fold ``i`` is a contiguous block. Each index is in exactly one
    validation fold.
    """
    n = _count("n", n)
    k = _count("k", k)
    if k < 2:
        raise ValueError(f"k must be >= 2, got {k}")
    if k > n:
        raise ValueError(f"k={k} folds need at least {k} examples, got n={n}")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    folds = []
    for i in range(k):
        val = np.sort(order[bounds[i] : bounds[i + 1]])
        train = np.sort(np.concatenate([order[: bounds[i]], order[bounds[i + 1] :]]))
        folds.append((train.astype(np.int64), val.astype(np.int64)))
    return folds


def _allocate(counts, fraction, total):
    exact = fraction * counts
    base = np.floor(exact).astype(np.int64)
    remainder = exact - base
    extra = int(total - base.sum())
    # Stable sort on -remainder: largest remainders first, ties to the lower class index.
    order = np.argsort(-remainder, kind="stable")
    base[order[:extra]] += 1
    return np.minimum(base, counts)


def _labels(labels):
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if len(labels) == 0:
        raise ValueError("labels is empty")
    return labels


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)
