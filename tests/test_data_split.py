"""Stratified hold-out splits and k-fold indices."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradwise.data import kfold, stratified_split_indices, train_val_split


def labels_with_counts(counts, seed=0):
    y = np.repeat(np.arange(len(counts)), counts)
    return np.random.default_rng(seed).permutation(y)


def test_stratified_split_keeps_class_proportions():
    y = labels_with_counts([100, 50, 30])
    kept, held = stratified_split_indices(y, 0.2, seed=0)
    assert np.bincount(y[held]).tolist() == [20, 10, 6]
    assert np.bincount(y[kept]).tolist() == [80, 40, 24]


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 1000),
)
def test_split_partitions_and_balances(counts, fraction, seed):
    y = labels_with_counts(counts, seed)
    total = round(fraction * len(y))
    if total == 0 or total == len(y):
        with pytest.raises(ValueError):
            stratified_split_indices(y, fraction, seed=seed)
        return
    kept, held = stratified_split_indices(y, fraction, seed=seed)
    assert len(held) == total
    assert np.array_equal(np.sort(np.concatenate([kept, held])), np.arange(len(y)))
    assert np.all(np.diff(kept) > 0) and np.all(np.diff(held) > 0)
    per_class = np.bincount(y[held], minlength=len(counts))
    assert np.all(np.abs(per_class - fraction * np.array(counts)) < 1.0 + 1e-9)


def test_split_is_seeded():
    y = labels_with_counts([40, 40])
    a = stratified_split_indices(y, 0.25, seed=3)[1]
    b = stratified_split_indices(y, 0.25, seed=3)[1]
    c = stratified_split_indices(y, 0.25, seed=4)[1]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_train_val_split_returns_arrays():
    X = np.arange(60).reshape(30, 2)
    y = labels_with_counts([10, 20])
    X_train, y_train, X_val, y_val = train_val_split(X, y, 0.1, seed=1)
    assert len(X_val) == 3 and len(X_train) == 27
    assert np.bincount(y_val).tolist() == [1, 2]
    np.testing.assert_array_equal(X_val[:, 0] // 2, np.sort(X_val[:, 0] // 2))
    with pytest.raises(ValueError, match="30 labels"):
        train_val_split(X[:5], y)


def test_split_argument_errors():
    with pytest.raises(ValueError, match="in \\[0, 1\\)"):
        stratified_split_indices([0, 1], 1.5)
    with pytest.raises(ValueError, match="holds out none"):
        stratified_split_indices([0, 1, 0, 1], 0.01)
    with pytest.raises(ValueError, match="1-D"):
        stratified_split_indices(np.zeros((2, 2)), 0.5)


@pytest.mark.parametrize("n, k", [(10, 3), (9, 3), (5, 5), (101, 7)])
def test_kfold_partitions_with_near_equal_folds(n, k):
    folds = kfold(n, k, seed=2)
    assert len(folds) == k
    sizes = [len(val) for _, val in folds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    every_val = np.concatenate([val for _, val in folds])
    assert np.array_equal(np.sort(every_val), np.arange(n))
    for train, val in folds:
        assert train.dtype == np.int64
        assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
        assert not np.intersect1d(train, val).size


def test_kfold_shuffle_and_seed():
    assert np.array_equal(kfold(10, 2, shuffle=False)[0][1], np.arange(5))
    assert np.array_equal(kfold(10, 2, seed=1)[0][1], kfold(10, 2, seed=1)[0][1])
    assert not np.array_equal(kfold(100, 2, seed=1)[0][1], kfold(100, 2, seed=2)[0][1])
    with pytest.raises(ValueError, match="k must be >= 2"):
        kfold(10, 1)
    with pytest.raises(ValueError, match="at least 4 examples"):
        kfold(3, 4)
    with pytest.raises(TypeError, match="integer"):
        kfold(10.0, 2)
