"""The :class:`Dataset` every loader returns: a train and a test split, class names, provenance."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._html import block, image, table
from ..errors import DataError


@dataclass(frozen=True)
class Dataset:
    """A labelled train/test pair.

    Images are ``(N, H, W, C)`` uint8 arrays (C = 3 for RGB; 1 for the grayscale ``digits``);
    the synthetic point sets are ``(N, D)`` float32 arrays. Labels are ``(N,)`` int64 indices
    into ``classes``. Arrays that come from the cache are read-only memory maps: transforms
    return new arrays, and ``np.array(ds.X_train)`` makes a writable copy.

    ``source`` says where the data came from (a path, or a packaged/synthetic description) and
    ``cache_path`` is the cache entry the arrays are mapped from (``None`` if not cached).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple
    source: str
    cache_path: Path | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
        for split in ("train", "test"):
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            if y.dtype != np.int64 or y.ndim != 1:
                raise DataError(
                    f"{self.name}: y_{split} must be 1-D int64, got {y.dtype} {y.shape}"
                )
            if len(X) != len(y):
                raise DataError(f"{self.name}: {len(X)} {split} inputs but {len(y)} labels")
            if len(y) and (y.min() < 0 or y.max() >= len(self.classes)):
                raise DataError(f"{self.name}: {split} labels outside 0..{len(self.classes) - 1}")

    @property
    def is_image(self) -> bool:
        """True for ``(N, H, W, C)`` uint8 images, False for feature vectors."""
        return self.X_train.ndim == 4

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple:
        """Shape of one input: ``(H, W, C)`` for images, ``(D,)`` for feature vectors."""
        return tuple(self.X_train.shape[1:])

    def class_counts(self, split: str = "train") -> np.ndarray:
        """Number of examples of each class in ``split`` (``"train"`` or ``"test"``)."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        labels = self.y_train if split == "train" else self.y_test
        return np.bincount(labels, minlength=self.num_classes)

    def _repr_html_(self):
        """Jupyter's view: examples per class and split, and a strip of thumbnails of each
        class's first training images (a few KiB each: thumbnails, never the data)."""
        from .thumbnails import PER_CLASS, class_strips

        train, test = self.class_counts("train"), self.class_counts("test")
        header = ["class", "train", "test"]
        strips = [None] * self.num_classes
        if self.is_image and self.X_train.dtype == np.uint8:
            header.append(f"first {PER_CLASS} training images")
            strips = class_strips(self.X_train, self.y_train, self.num_classes)
        rows = []
        for k, name in enumerate(self.classes):
            row = [name, int(train[k]), int(test[k])]
            if len(header) == 4:
                row.append(image(*strips[k], alt=name) if strips[k] else "")
            rows.append(row)
        rows.append(["total", len(self.y_train), len(self.y_test)] + [""] * (len(header) - 3))
        return block(repr(self), table(header, rows, right=(1, 2)))

    def __repr__(self):
        shape = "x".join(str(s) for s in self.input_shape)
        return (
            f"Dataset({self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"input={shape} {self.X_train.dtype}, classes={self.num_classes})"
        )
