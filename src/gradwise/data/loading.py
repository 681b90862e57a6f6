"""``load(name_or_path)``: one entry point for every dataset gradwise knows how to read."""

import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from .cache import read_entry
from .cifar10 import ARCHIVE_NAME, OFFICIAL_MD5, is_official_archive, load_cifar10
from .cifar10_format import MEMBER_DIR
from .dataset import Dataset
from .image_folder import load_image_folder
from .packaged import load_cifar10_sample, load_digits
from .synthetic import load_synthetic

DATASETS = {
    "cifar10": "CIFAR-10 from the official archive (local, or downloaded with download=True)",
    "cifar10-sample": "500 train + 100 test real CIFAR-10 images per class, packaged",
    "digits": "UCI 8x8 handwritten digits, 1,797 images, packaged",
    "spiral": "synthetic K-arm spiral in 2-D (not linearly separable)",
    "blobs": "synthetic Gaussian blobs",
}


def load(
    name_or_path,
    *,
    size=None,
    test_fraction=0.2,
    seed=0,
    cache=True,
    download=False,
    workers=None,
    progress=True,
    md5=None,
    **options,
) -> Dataset:
    """Load a dataset by name (see :data:`DATASETS`) or from a path.

    A path is read as the official CIFAR-10 archive if it is one (or a folder holding
    ``cifar-10-python.tar.gz``), as a cache entry if it is a folder holding ``meta.json``
    (:mod:`gradwise.data.cache`; its arrays are memory-mapped, however large), else as an
    image folder (directory, tar or zip).
    A name wins over a file of the same name in the working directory (write ``./digits``).

    ``size``: resize image folders to ``(height, width)`` (or ``s`` for s x s).
    ``test_fraction``, ``seed``: the stratified split made for sources without one (digits,
    spiral, blobs, image folders without train/ and test/). ``cache``: use the decoded-array
    cache under ``$GRADWISE_HOME``. ``download``, ``progress``, ``md5``: for the official
    CIFAR-10 archive (``md5`` defaults to the official checksum). ``workers``: image decoding
    processes (default: all cores). ``options`` go to the synthetic generators
    (``n_per_class``, ``n_classes``, ``noise``/``std``, ...).
    """
    if isinstance(name_or_path, str) and name_or_path in DATASETS:
        return _load_named(
            name_or_path,
            size=size,
            test_fraction=test_fraction,
            seed=seed,
            cache=cache,
            download=download,
            workers=workers,
            progress=progress,
            md5=md5,
            options=options,
        )
    if not isinstance(name_or_path, str | os.PathLike):
        raise TypeError(f"name_or_path must be a name or a path, got {type(name_or_path).__name__}")
    _no_options(options, str(name_or_path))
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise DataError(
            f"{name_or_path!r} is neither a dataset name ({', '.join(DATASETS)}) "
            "nor an existing file or folder"
        )
    if path.is_dir() and (path / "meta.json").is_file():
        _no_size(size, "a cache entry")
        return load_cache_entry(path)
    if _is_official(path):
        _no_size(size, "the CIFAR-10 archive")
        return load_cifar10(
            path, download=False, md5=md5 or OFFICIAL_MD5, cache=cache, progress=progress
        )
    return load_image_folder(
        path, size=size, test_fraction=test_fraction, seed=seed, cache=cache, workers=workers
    )


def load_cache_entry(entry):
    """The :class:`Dataset` of a cache entry folder (the arrays ``X_train``, ``y_train``,
    ``X_test``, ``y_test`` and ``classes`` in its meta), memory-mapped."""
    entry = Path(entry)
    found = read_entry(entry)
    if found is None:
        raise DataError(f"{entry}: not a readable cache entry (meta.json and .npy files)")
    arrays, meta = found
    missing = [n for n in ("X_train", "y_train", "X_test", "y_test") if n not in arrays]
    if missing or not isinstance(meta, dict) or "classes" not in meta:
        raise DataError(f"{entry}: a dataset entry needs {', '.join(missing or ['classes'])}")
    return Dataset(
        name=entry.name,
        X_train=arrays["X_train"],
        y_train=np.asarray(arrays["y_train"], np.int64),
        X_test=arrays["X_test"],
        y_test=np.asarray(arrays["y_test"], np.int64),
        classes=tuple(meta["classes"]),
        source=str(entry),
        cache_path=entry,
    )


def _load_named(
    name, *, size, test_fraction, seed, cache, download, workers, progress, md5, options
):
    if name in ("spiral", "blobs"):
        _no_size(size, name)
        return load_synthetic(name, test_fraction=test_fraction, seed=seed, **options)
    _no_options(options, name)
    if name == "cifar10":
        _no_size(size, name)
        return load_cifar10(
            download=download, md5=md5 or OFFICIAL_MD5, cache=cache, progress=progress
        )
    if name == "cifar10-sample":
        if size is not None:
            raise ValueError("cifar10-sample images are 32x32; size cannot be changed")
        return load_cifar10_sample(cache=cache, workers=workers)
    _no_size(size, name)
    return load_digits(test_fraction=test_fraction, seed=seed)


def _is_official(path):
    if path.is_dir():
        return (path / ARCHIVE_NAME).is_file() or (path / MEMBER_DIR).is_dir()
    return is_official_archive(path)


def _no_size(size, what):
    if size is not None:
        raise ValueError(f"size applies to image folders only, not to {what}")


def _no_options(options, what):
    if options:
        raise TypeError(f"unexpected options for {what}: {', '.join(sorted(options))}")
