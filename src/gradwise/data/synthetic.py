"""Seeded 2-D point sets: the K-arm spiral (not linearly separable) and Gaussian blobs."""

import numbers

import numpy as np

from .._validate import non_negative
from .dataset import Dataset
from .split import stratified_split_indices


def make_spiral(n_per_class=100, n_classes=3, *, noise=0.2, seed=0):
    """The classic K-arm spiral; return ``X`` ``(K*n, 2)`` float32 and ``y`` ``(K*n,)`` int64.

    Arm ``j`` (j = 0..K-1) has ``n`` points with radius ``r = linspace(0, 1, n)`` and angle
    ``t = linspace(4j, 4(j+1), n) + noise * N(0, 1)`` (radians), placed at
    ``(r sin t, r cos t)``. Points are ordered arm by arm. No linear classifier separates them.
    """
    n = _count("n_per_class", n_per_class, minimum=1)
    k = _count("n_classes", n_classes, minimum=2)
    non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    radius = np.linspace(0.0, 1.0, n)
    X = np.empty((n * k, 2))
    for j in range(k):
        angle = np.linspace(4.0 * j, 4.0 * (j + 1), n) + noise * rng.standard_normal(n)
        X[j * n : (j + 1) * n] = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    return X.astype(np.float32), np.repeat(np.arange(k, dtype=np.int64), n)


def make_blobs(n_per_class=100, n_classes=3, *, std=1.0, spread=10.0, dim=2, seed=0):
    """Isotropic Gaussian clusters; return ``X`` ``(K*n, dim)`` float32 and ``y`` int64.

    Class ``j``'s centre is drawn uniformly from ``[-spread, spread]^dim`` and its points are
    ``centre + std * N(0, I)``, all from ``np.random.default_rng(seed)``. Ordered class by class.
    """
    n = _count("n_per_class", n_per_class, minimum=1)
    k = _count("n_classes", n_classes, minimum=2)
    dim = _count("dim", dim, minimum=1)
    non_negative("std", std)
    non_negative("spread", spread)
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-spread, spread, size=(k, dim))
    X = np.repeat(centres, n, axis=0) + std * rng.standard_normal((n * k, dim))
    return X.astype(np.float32), np.repeat(np.arange(k, dtype=np.int64), n)


def load_synthetic(name, *, test_fraction=0.2, seed=0, **options) -> Dataset:
    """``spiral`` or ``blobs`` as a :class:`Dataset`, split stratified by ``test_fraction``."""
    makers = {"spiral": make_spiral, "blobs": make_blobs}
    X, y = makers[name](seed=seed, **options)
    train, test = stratified_split_indices(y, test_fraction, seed=seed)
    settings = ", ".join(f"{key}={value}" for key, value in sorted(options.items()))
    return Dataset(
        name=name,
        X_train=X[train],
        y_train=y[train],
        X_test=X[test],
        y_test=y[test],
        classes=tuple(f"class {j}" for j in range(int(y.max()) + 1)),
        source=f"synthetic {name} (seed={seed}{', ' + settings if settings else ''})",
    )


def _count(name, value, *, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)
