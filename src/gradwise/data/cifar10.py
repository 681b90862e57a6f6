"""CIFAR-10 from the official archive ``cifar-10-python.tar.gz`` (local, or downloaded).

Where the archive is looked for, in order: the path given; else
``$GRADWISE_HOME/datasets/cifar-10-python.tar.gz``; else, with ``download=True``, it is
downloaded there from :data:`OFFICIAL_URL` (see :mod:`gradwise.data.download`).
Its MD5 must equal :data:`OFFICIAL_MD5` before a single member is read; only then are the
batch pickles opened, through :mod:`gradwise.data.safe_unpickle`. The decoded arrays are cached
(see :mod:`gradwise.data.cache`), so only the first load reads the pickles at all.
"""

from pathlib import Path

import numpy as np

from ..errors import DataError
from . import cifar10_format as fmt
from .cache import cache_key, cached_arrays, datasets_dir, file_digest, fingerprint
from .dataset import Dataset
from .download import download as download_file
from .tar_stream import iter_tar_files

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def load_cifar10(
    path=None,
    *,
    download=False,
    md5=OFFICIAL_MD5,
    url=OFFICIAL_URL,
    cache=True,
    progress=True,
    opener=None,
) -> Dataset:
    """Load CIFAR-10 (50,000 train + 10,000 test, 32x32 RGB) from the official archive.

    ``path``: the archive, or a directory holding it (default: the datasets folder under
    ``$GRADWISE_HOME``). ``download``: fetch it from ``url`` if it is absent. ``md5``: the
    checksum the archive must have (the official one unless you built your own archive).
    ``opener`` is passed to :func:`gradwise.data.download.download`.
    """
    archive = locate_archive(
        path, download=download, md5=md5, url=url, progress=progress, opener=opener
    )
    key = cache_key("cifar10", fingerprint(archive), {"md5": md5})
    arrays, meta, entry = cached_arrays(
        key, lambda: read_official_archive(archive, md5=md5), use_cache=cache
    )
    return Dataset(
        name="cifar10",
        X_train=arrays["X_train"],
        y_train=np.asarray(arrays["y_train"], np.int64),
        X_test=arrays["X_test"],
        y_test=np.asarray(arrays["y_test"], np.int64),
        classes=tuple(meta["classes"]),
        source=f"CIFAR-10 official archive {archive}",
        cache_path=entry,
    )


def locate_archive(
    path=None, *, download=False, md5=OFFICIAL_MD5, url=OFFICIAL_URL, progress=True, opener=None
) -> Path:
    """The archive's path; downloads it when asked; else one error that says where to put it."""
    if path is not None:
        path = Path(path)
        archive = path / ARCHIVE_NAME if path.is_dir() else path
        if archive.is_file():
            return archive
        if path.is_dir() and (path / fmt.MEMBER_DIR).is_dir():
            raise DataError(
                f"{path} holds the extracted {fmt.MEMBER_DIR}/, which cannot be verified; "
                f"put the archive {ARCHIVE_NAME} itself there instead"
            )
        raise DataError(f"{archive}: no such file; the CIFAR-10 archive is {ARCHIVE_NAME}")
    archive = datasets_dir() / ARCHIVE_NAME
    if archive.is_file():
        return archive
    where = (
        f"CIFAR-10 was not found at {archive}: put {ARCHIVE_NAME} (from {url}) there, "
        "pass its path, or allow the download (load('cifar10', download=True), "
        "or --download on the command line)"
    )
    if not download:
        raise DataError(where)
    try:
        return download_file(url, archive, md5=md5, progress=progress, opener=opener)
    except DataError as err:
        raise DataError(f"{err}. {where}") from err


def is_official_archive(path) -> bool:
    """True for a file named ``cifar-10-python.tar.gz`` or a tar whose first member is
    ``cifar-10-batches-py/...`` (only the first header is read)."""
    path = Path(path)
    if not path.is_file():
        return False
    if path.name == ARCHIVE_NAME:
        return True
    try:
        first, _ = next(iter(iter_tar_files(path, directories=True)))
    except (DataError, StopIteration):
        return False
    return first.strip("./").split("/", 1)[0] == fmt.MEMBER_DIR


def read_official_archive(path, *, md5=OFFICIAL_MD5) -> tuple[dict, dict]:
    """Verify the MD5, then decode every batch; return ``(arrays, meta)`` for the cache."""
    path = Path(path)
    got = file_digest(path, "md5")
    if got != md5:
        raise DataError(
            f"{path}: MD5 is {got}, expected {md5}; the archive is incomplete or corrupt: "
            "delete it and download it again"
        )
    wanted = {f"{fmt.MEMBER_DIR}/{n}" for n in (*fmt.TRAIN_BATCHES, fmt.TEST_BATCH, fmt.META)}
    members = {}
    for name, data in iter_tar_files(path, archive_label=str(path)):
        name = name.removeprefix("./")
        if name in wanted:
            members[name] = data
    missing = sorted(wanted - set(members))
    if missing:
        raise DataError(f"{path}: not a complete CIFAR-10 archive, missing {', '.join(missing)}")

    def batch(n):
        return fmt.decode_batch(members[f"{fmt.MEMBER_DIR}/{n}"], label=f"{path}: {n}")

    train = [batch(n) for n in fmt.TRAIN_BATCHES]
    X_test, y_test = batch(fmt.TEST_BATCH)
    classes = fmt.decode_meta(members[f"{fmt.MEMBER_DIR}/{fmt.META}"], label=f"{path}: {fmt.META}")
    arrays = {
        "X_train": np.concatenate([X for X, _ in train]),
        "y_train": np.concatenate([y for _, y in train]),
        "X_test": X_test,
        "y_test": y_test,
    }
    return arrays, {"classes": list(classes)}
