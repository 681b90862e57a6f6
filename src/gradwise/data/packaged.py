"""Datasets shipped inside the package, so that they load with no network.

``digits``
    The UCI "Optical Recognition of Handwritten Digits" test set (E. Alpaydin, C. Kaynak,
    1998; UCI Machine Learning Repository, CC BY 4.0), 1,797 images of 8x8 pixels, 10 classes
    "0".."9", as distributed by scikit-learn (``files/digits.csv.gz``: 64 pixel counts in 0..16
    then the label, one image per row). Each pixel counts the "on" pixels of a 4x4 block, so
    0..16; it is stored here as uint8 ``round(count * 255 / 16)`` (0 -> 0, 16 -> 255) with one
    channel: images are ``(N, 8, 8, 1)``. ``count = round(pixel * 16 / 255)`` recovers it.
    There is no official split: a stratified ``test_fraction`` split is made with ``seed``.

``cifar10-sample``
    6,000 real CIFAR-10 images (500 train + 100 test per class, 32x32 RGB), the original
    JPEG bytes of a deterministic subset of ``../shared/data/cifar10-jpeg.tar.gz`` built by
    ``tools/make_cifar10_sample.py`` into ``files/cifar10-sample.tar.gz``. It loads like any
    image folder (decoded once, then memory-mapped from the cache).
"""

import contextlib
import gzip
import importlib.resources
from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import Dataset
from .image_folder import load_image_folder
from .split import stratified_split_indices

DIGITS_FILE = "digits.csv.gz"
CIFAR10_SAMPLE_FILE = "cifar10-sample.tar.gz"


@contextlib.contextmanager
def packaged_file(name):
    """A real filesystem path to a packaged data file (extracted if the package is zipped)."""
    resource = importlib.resources.files("gradwise.data") / "files" / name
    if not resource.is_file():
        raise DataError(f"packaged data file {name} is missing from this installation of gradwise")
    with importlib.resources.as_file(resource) as path:
        yield Path(path)


def load_digits(*, test_fraction=0.2, seed=0) -> Dataset:
    """The packaged UCI digits as ``(N, 8, 8, 1)`` uint8 images (see the module docstring)."""
    with packaged_file(DIGITS_FILE) as path:
        with gzip.open(path, "rt") as stream:
            table = np.loadtxt(stream, delimiter=",", dtype=np.int64)
    counts, labels = table[:, :64], table[:, 64]
    images = np.round(counts * (255 / 16)).astype(np.uint8).reshape(-1, 8, 8, 1)
    train, test = stratified_split_indices(labels, test_fraction, seed=seed)
    return Dataset(
        name="digits",
        X_train=images[train],
        y_train=labels[train],
        X_test=images[test],
        y_test=labels[test],
        classes=tuple(str(d) for d in range(10)),
        source=(
            "UCI Optical Recognition of Handwritten Digits (test set, 1,797 images; "
            f"CC BY 4.0), packaged with gradwise; split with test_fraction={test_fraction}, "
            f"seed={seed}"
        ),
    )


def load_cifar10_sample(*, cache=True, workers=None) -> Dataset:
    """The packaged 5,000 + 1,000 image CIFAR-10 subset (see the module docstring)."""
    with packaged_file(CIFAR10_SAMPLE_FILE) as path:
        return load_image_folder(
            path,
            cache=cache,
            workers=workers,
            name="cifar10-sample",
            source=(
                "CIFAR-10 sample packaged with gradwise (500 train + 100 test images per class "
                "of the real CIFAR-10)"
            ),
        )
