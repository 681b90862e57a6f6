"""Training-set augmentation: more training rows made from the ones given.

``"flip"`` adds the left-right mirror image of every training image: what torchvision's
``RandomHorizontalFlip`` gives in expectation, made deterministic (each image once as it is
and once mirrored, every epoch). CIFAR-10's classes look the same in a mirror, so the
mirrored images are as real as the originals; a linear classifier trained on both learns
templates that are close to left-right symmetric. Augmentation applies to training rows
only, never to validation or test rows.
"""

import numpy as np

from .._validate import choice

#: Names accepted by :func:`augment` (``None`` and ``"none"`` both mean no augmentation).
AUGMENTATIONS = (None, "none", "flip")


def mirror(images):
    """Images ``(N, H, W, C)`` mirrored left to right: column ``w`` becomes ``W - 1 - w``."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"mirroring needs images (N, H, W, C), got an array of shape {images.shape}"
        )
    return images[:, :, ::-1, :]


def augment(X, y, how):
    """``(X, y)`` with the augmented rows appended (the originals first, in order).

    ``how``: ``None`` or ``"none"`` returns ``X, y`` unchanged; ``"flip"`` appends
    :func:`mirror` ``(X)`` with the same labels, doubling the rows.
    """
    choice("augment", how, AUGMENTATIONS)
    if how in (None, "none"):
        return X, y
    return np.concatenate([X, mirror(X)]), np.concatenate([y, y])
