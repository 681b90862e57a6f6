"""The official CIFAR-10 "python version" format: batch pickles inside ``cifar-10-python.tar.gz``.

The archive holds ``cifar-10-batches-py/`` with ``data_batch_1`` ... ``data_batch_5`` (10,000
training images each), ``test_batch`` (10,000), ``batches.meta`` and ``readme.html``. Each batch
is a Python 2 protocol-2 pickle of a dict::

    b"batch_label": bytes
    b"labels":      list of N ints in 0..9
    b"data":        (N, 3072) uint8 ndarray; row = 1024 red, then 1024 green, then 1024 blue
                    values, each plane row-major (32 rows of 32 pixels, top row first)
    b"filenames":   list of N bytes

``batches.meta`` holds ``b"label_names"`` (the 10 class names) and ``b"num_cases_per_batch"``.
So one row becomes an ``(H, W, C)`` image by ``row.reshape(3, 32, 32).transpose(1, 2, 0)``.

:func:`encode_batch` writes the same bytes a Python 2 ``cPickle.dump(..., 2)`` of such a dict
produces (byte strings as ``BINSTRING``, the array through ``numpy.core.multiarray._reconstruct``)
so that archives in the exact official format can be made from any images.
"""

import io
import struct
import tarfile

import numpy as np

from ..errors import DataError
from .safe_unpickle import restricted_loads

MEMBER_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
IMAGE_SHAPE = (32, 32, 3)
ROW_LENGTH = 3072


def rows_to_images(rows: np.ndarray) -> np.ndarray:
    """``(N, 3072)`` planar R,G,B rows -> ``(N, 32, 32, 3)`` uint8 images (C-contiguous)."""
    return np.ascontiguousarray(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def images_to_rows(images: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rows_to_images`."""
    return np.ascontiguousarray(np.asarray(images, np.uint8).transpose(0, 3, 1, 2)).reshape(
        -1, 3072
    )


def decode_batch(data: bytes, *, label="batch") -> tuple[np.ndarray, np.ndarray]:
    """Unpickle one batch (restricted) and return ``(images (N,32,32,3) uint8, labels int64)``."""
    batch = _as_dict(restricted_loads(data, label=label), label)
    rows = _field(batch, "data", label)
    labels = _field(batch, "labels", label)
    if not isinstance(rows, np.ndarray) or rows.dtype != np.uint8 or rows.ndim != 2:
        raise DataError(f"{label}: 'data' must be an (N, 3072) uint8 array")
    if rows.shape[1] != ROW_LENGTH:
        raise DataError(f"{label}: 'data' rows have {rows.shape[1]} values, expected 3072")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        raise DataError(f"{label}: 'labels' must be a list of integers") from None
    if labels.shape != (rows.shape[0],):
        raise DataError(f"{label}: {rows.shape[0]} images but {labels.size} labels")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{label}: labels must be in 0..9")
    return rows_to_images(rows), labels


def decode_meta(data: bytes, *, label=META) -> tuple[str, ...]:
    """Unpickle ``batches.meta`` (restricted) and return the 10 class names."""
    meta = _as_dict(restricted_loads(data, label=label), label)
    names = _field(meta, "label_names", label)
    if not isinstance(names, list) or len(names) != 10:
        raise DataError(f"{label}: 'label_names' must be a list of 10 names")
    return tuple(n.decode("ascii") if isinstance(n, bytes) else str(n) for n in names)


def _as_dict(obj, label):
    if not isinstance(obj, dict):
        raise DataError(f"{label}: expected a dict, got {type(obj).__name__}")
    return obj


def _field(mapping, key, label):
    for candidate in (key.encode(), key):
        if candidate in mapping:
            return mapping[candidate]
    raise DataError(f"{label}: missing {key!r}")


# --- writing (Python 2, protocol 2 pickles) -------------------------------------------------


def write_official_archive(path, train_batches, test_batch, classes) -> None:
    """Write ``cifar-10-python.tar.gz``'s layout: 5 ``(images, labels)`` training batches, one
    test batch and the class names (any batch size; the official one is 10,000)."""
    if len(train_batches) != len(TRAIN_BATCHES):
        raise ValueError(
            f"expected {len(TRAIN_BATCHES)} training batches, got {len(train_batches)}"
        )
    members = {
        name: encode_batch(X, y, batch_label=f"training batch {i + 1} of 5")
        for i, (name, (X, y)) in enumerate(zip(TRAIN_BATCHES, train_batches, strict=True))
    }
    members[TEST_BATCH] = encode_batch(*test_batch, batch_label="testing batch 1 of 1")
    members[META] = encode_meta(classes, per_batch=len(train_batches[0][0]))
    with tarfile.open(path, "w:gz") as archive:
        folder = tarfile.TarInfo(MEMBER_DIR)
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        archive.addfile(folder)
        for name, data in members.items():
            info = tarfile.TarInfo(f"{MEMBER_DIR}/{name}")
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))


def encode_batch(images, labels, *, batch_label="training batch 1 of 5", filenames=None) -> bytes:
    """Pickle ``images`` ``(N,32,32,3)`` uint8 and ``labels`` as an official CIFAR-10 batch."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"images must be (N, 32, 32, 3) uint8, got {images.dtype} {images.shape}")
    n = len(images)
    if filenames is None:
        filenames = [f"image_{i:05d}.png" for i in range(n)]
    items = [
        (b"batch_label", batch_label.encode()),
        (b"labels", [int(v) for v in labels]),
        (b"data", images_to_rows(images)),
        (b"filenames", [f.encode() for f in filenames]),
    ]
    return _pickle_py2(items)


def encode_meta(classes, *, per_batch=10000) -> bytes:
    """Pickle ``batches.meta`` as the official archive stores it."""
    items = [
        (b"num_cases_per_batch", per_batch),
        (b"label_names", [c.encode() for c in classes]),
        (b"num_vis", ROW_LENGTH),
    ]
    return _pickle_py2(items)


def _pickle_py2(items) -> bytes:
    out = bytearray(b"\x80\x02}q\x01(")  # PROTO 2, EMPTY_DICT, BINPUT 1, MARK
    for key, value in items:
        out += _value(key) + _value(value)
    out += b"u."  # SETITEMS, STOP
    return bytes(out)


def _value(value) -> bytes:
    if isinstance(value, bytes):
        if len(value) < 256:
            return b"U" + bytes([len(value)]) + value  # SHORT_BINSTRING
        return b"T" + struct.pack("<i", len(value)) + value  # BINSTRING
    if isinstance(value, int):
        return b"J" + struct.pack("<i", value)  # BININT
    if isinstance(value, list):
        return b"](" + b"".join(_value(v) for v in value) + b"e"  # EMPTY_LIST MARK ... APPENDS
    if isinstance(value, np.ndarray):
        return _ndarray(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _ndarray(array) -> bytes:
    # What NumPy under Python 2 wrote: _reconstruct(ndarray, (0,), 'b') then BUILD with the
    # state (version 1, shape, dtype, fortran flag, raw bytes).
    dtype = (
        b"cnumpy\ndtype\n"
        + _value(b"u1")
        + b"K\x00K\x01\x87R"  # BININT1 0, BININT1 1, TUPLE3, REDUCE
        + b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"  # dtype state, BUILD
    )
    shape = b"(" + b"".join(_value(int(s)) for s in array.shape) + b"t"
    return (
        b"cnumpy.core.multiarray\n_reconstruct\n"
        + b"cnumpy\nndarray\n"
        + b"K\x00\x85"  # (0,)
        + _value(b"b")
        + b"\x87R"  # TUPLE3, REDUCE
        + b"(K\x01"
        + shape
        + dtype
        + b"\x89"  # NEWFALSE: not Fortran order
        + _value(np.ascontiguousarray(array).tobytes())
        + b"tb"  # TUPLE, BUILD
    )
