"""Training-set augmentation: the training images changed at random, a minibatch at a time.

Names (:func:`parse_augment` reads them; ``None`` and ``"none"`` mean no augmentation):

``"flip"``           each image of a minibatch is mirrored left to right with probability 1/2
                     (torchvision's ``RandomHorizontalFlip``), drawn anew every epoch;
``"crop:P"``         each image is padded with ``P`` black (zero) pixels on every side and a
                     window of the image's own size is cut from it at a uniformly random
                     offset (torchvision's ``RandomCrop(size, padding=P)``): a shift of up to
                     ``P`` pixels in each direction, the uncovered border black;
``"flip+crop:P"``    both: the crop, then the flip;
``"mirror-copies"``  no randomness: every training image once as it is and once mirrored,
                     every epoch (twice the rows; the meaning ``"flip"`` had before it became
                     random). :func:`augment` makes those rows.

The random choices of an epoch are drawn from the training run's generator when the epoch
starts (:meth:`Augmentation.draw`), one row of ``CHOICES`` per image of the epoch's order,
so a run resumed from a checkpoint draws them again bit for bit. They are applied to the
uint8 images of a minibatch after they are gathered (:meth:`Augmentation.apply`), before
the conversion to features: no second copy of the training set is made. CIFAR-10's classes
look the same mirrored or shifted a little, so the changed images are as real as the
originals. Augmentation applies to training rows only, never to validation or test rows.
"""

import numpy as np

from ..errors import DataError

#: The names :func:`parse_augment` accepts (``P`` is a padding in pixels, e.g. ``crop:4``).
AUGMENT_HELP = "none, flip, crop:P, flip+crop:P or mirror-copies"
NO_AUGMENTATION = (None, "none")
MIRROR_COPIES = "mirror-copies"

#: Columns of the per-image random choices an epoch draws: flip (0 or 1), then the crop's
#: row and column offsets in the padded image (0 .. 2P).
CHOICES = ("flip", "crop_row", "crop_column")


class Augmentation:
    """Random flips and crops of ``(N, H, W, C)`` uint8 images, applied in place."""

    def __init__(self, flip=False, padding=0):
        self.flip, self.padding = bool(flip), int(padding)
        self._padded = None

    @property
    def name(self):
        """The name this augmentation is spelled with (``flip+crop:4``, say)."""
        parts = (["flip"] if self.flip else []) + ([f"crop:{self.padding}"] if self.padding else [])
        return "+".join(parts)

    def __repr__(self):
        return f"Augmentation({self.name!r})"

    def check_images(self, shape, what="the training inputs"):
        """Refuse inputs that are not ``(N, H, W, C)`` images, or a crop padding that could
        cut a window holding no pixel of the image (``P >= H`` or ``P >= W``)."""
        if len(shape) != 4:
            raise DataError(
                f"augment={self.name!r} needs images (N, H, W, C), but {what} have shape "
                f"{tuple(shape)}: flat features have no rows and columns to flip or crop"
            )
        height, width = shape[1], shape[2]
        if self.padding >= min(height, width):
            raise DataError(
                f"crop:{self.padding} pads by more than the {height}x{width} images allow: a "
                f"crop could hold no pixel of the image; use a padding below {min(height, width)}"
            )

    def draw(self, rng, count):
        """The random choices for ``count`` images: a ``(count, 3)`` uint8 array (``CHOICES``)."""
        choices = np.zeros((count, len(CHOICES)), dtype=np.uint8)
        if self.flip:
            choices[:, 0] = rng.integers(0, 2, size=count)
        if self.padding:
            choices[:, 1:] = rng.integers(0, 2 * self.padding + 1, size=(count, 2))
        return choices

    def apply(self, images, choices):
        """Change ``images`` (m, H, W, C) in place as ``choices`` (m, 3) say."""
        if self.padding:
            self._crop(images, choices[:, 1], choices[:, 2])
        if self.flip:
            flipped = np.flatnonzero(choices[:, 0])
            images[flipped] = images[flipped, :, ::-1]  # the right side is a copy: no aliasing

    def _crop(self, images, rows, columns):
        m, height, width, channels = images.shape
        p = self.padding
        shape = (len(images), height + 2 * p, width + 2 * p, channels)
        if self._padded is None or self._padded.shape[0] < m or self._padded.shape[1:] != shape[1:]:
            self._padded = np.zeros(shape, dtype=images.dtype)  # the border stays zero
        padded = self._padded[:m]
        padded[:, p : p + height, p : p + width] = images
        for i in range(m):
            r, c = rows[i], columns[i]
            images[i] = padded[i, r : r + height, c : c + width]


def parse_augment(name, value):
    """An augmentation name (the module docstring) checked; returned as given.

    The check of the ``augment`` parameter: ``ValueError`` ``augment must be one of ...``.
    """
    augmentation_of(value, name)
    return value


def augmentation_of(value, name="augment"):
    """The :class:`Augmentation` a name describes (``None`` for none and ``mirror-copies``)."""
    if value in NO_AUGMENTATION or value == MIRROR_COPIES:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be one of {AUGMENT_HELP}, got {value!r}")
    flip, padding = False, 0
    parts = value.split("+")
    for part in parts:
        if part == "flip" and not flip:
            flip = True
        elif part.startswith("crop:") and not padding:
            padding = _padding(name, value, part[len("crop:") :])
        else:
            raise ValueError(f"{name} must be one of {AUGMENT_HELP}, got {value!r}")
    return Augmentation(flip=flip, padding=padding)


def _padding(name, value, text):
    try:
        padding = int(text)
    except ValueError:
        padding = 0
    if padding < 1 or not text.isdigit():
        raise ValueError(
            f"{name}: crop:P needs a padding P of at least 1 pixel, e.g. crop:4, got {value!r}"
        )
    return padding


def mirror(images):
    """Images ``(N, H, W, C)`` mirrored left to right: column ``w`` becomes ``W - 1 - w``."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"mirroring needs images (N, H, W, C), got an array of shape {images.shape}"
        )
    return images[:, :, ::-1, :]


def augment(X, y, how):
    """``(X, y)`` with the rows of a fixed augmentation appended (the originals first).

    ``how="mirror-copies"`` appends :func:`mirror` ``(X)`` with the same labels, doubling the
    rows; any other name (none, or a random augmentation, applied per minibatch) returns
    ``X, y`` unchanged.
    """
    parse_augment("augment", how)
    if how != MIRROR_COPIES:
        return X, y
    return np.concatenate([X, mirror(X)]), np.concatenate([y, y])
