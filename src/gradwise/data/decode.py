"""Decode image files into ``(H, W, 3)`` uint8 arrays, on every core.

Decoding a 32x32 JPEG with ``Image.open`` costs about 0.14 ms, mostly Python overhead (the
fast path of :func:`decode_plain_jpeg` halves that for plain colour JPEGs). Threads would
not help (the GIL); batches of images go to worker processes instead. The
main process keeps reading the container while the workers decode, so reading and decoding
overlap. Small jobs are decoded in-process, where starting workers would cost more than it saves.

Conventions: every image is converted to RGB with Pillow's ``convert("RGB")`` (grayscale is
replicated into three channels, an alpha channel is dropped, palettes are expanded). With
``size=(H, W)`` every image is resized to that size with Pillow's antialiased bilinear filter;
without it every image must already have the size of the first one.
"""

import io
import itertools
import multiprocessing
import os
import sys
from collections.abc import Iterable, Iterator

import numpy as np
from PIL import Image

from .._memory import default_memory_limit, human_bytes
from ..errors import DataError
from ._text import printable

BATCH_SIZE = 1024
# Below this many images a worker pool costs more than it saves.
PARALLEL_THRESHOLD = 4096


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # Not on Linux.
        return max(1, os.cpu_count() or 1)


def decode_images(
    items: Iterable[tuple[str, bytes | str]], *, size=None, workers=None
) -> "DecodedImages":
    """Decode ``(name, payload)`` items into uint8 RGB arrays; see :class:`DecodedImages`.

    ``payload`` is the file's bytes or its path; ``size`` is ``None`` or ``(H, W)``.
    ``workers`` defaults to every available core; the worker pool starts only once more than
    ``PARALLEL_THRESHOLD`` items have arrived. Raises :class:`DataError` naming the first file
    that cannot be decoded, or two files whose sizes differ when no ``size`` is given.
    """
    workers = default_workers() if workers is None else int(workers)
    items = iter(items)
    head = list(itertools.islice(items, PARALLEL_THRESHOLD))
    jobs = ((batch, size) for batch in _batches(itertools.chain(head, items), BATCH_SIZE))
    if workers <= 1 or len(head) < PARALLEL_THRESHOLD:
        return DecodedImages(map(_decode_batch_job, jobs))
    Image.init()  # Import every Pillow plugin once here, not in each worker.
    with _pool_context().Pool(workers) as pool:
        return DecodedImages(pool.imap(_decode_batch_job, jobs))


def check_target_size(size):
    """Refuse a resize target no image should have (``size=100000``: 30 GB an image) before
    anything is decoded: over Pillow's decompression-bomb limit of pixels an image
    (``Image.MAX_IMAGE_PIXELS``), or over the memory budget for one image alone."""
    if size is None:
        return
    height, width = size
    pixels, limit = height * width, Image.MAX_IMAGE_PIXELS
    if limit is not None and pixels > limit:
        raise ValueError(
            f"size {height}x{width} makes every image {pixels:,} pixels, over Pillow's "
            f"limit of {limit:,} pixels an image (Image.MAX_IMAGE_PIXELS)"
        )
    budget = default_memory_limit()
    if 3 * pixels > budget:
        raise ValueError(
            f"size {height}x{width} makes every image {human_bytes(3 * pixels)}, over the "
            f"{human_bytes(budget)} memory budget for a whole dataset"
        )


def _over_budget(count, shape, budget):
    return (
        f"{count:,} decoded images of {shape[0]}x{shape[1]} need more than "
        f"{human_bytes(count * int(np.prod(shape)))}, over the {human_bytes(budget)} memory budget "
        "(a quarter of the physical memory): resize them smaller with size=(height, width)"
    )


class DecodedImages:
    """Decoded images kept as the batches they arrived in (in item order).

    ``names`` lists the items in order; :meth:`take` gathers any selection, in any order,
    straight from the batches, so putting the images in their final order copies them once.
    """

    def __init__(self, results):
        self.names, self.batches = [], []
        reference = None  # (name, shape) of the first image, which fixes the common size.
        budget, total = default_memory_limit(), 0
        for batch_names, array, error in results:
            if error:
                raise DataError(error)
            total += array.nbytes
            if total > budget:
                raise DataError(_over_budget(len(self.names) + len(array), array.shape[1:], budget))
            if reference is None:
                reference = (batch_names[0], array.shape[1:])
            elif array.shape[1:] != reference[1]:
                raise DataError(_size_mismatch(batch_names[0], array.shape[1:], *reference))
            self.names.extend(batch_names)
            self.batches.append(array)
        self.image_shape = reference[1] if reference else (0, 0, 3)
        self.offsets = np.cumsum([0] + [len(b) for b in self.batches])

    def __len__(self):
        return len(self.names)

    def take(self, indices) -> np.ndarray:
        """``(len(indices), H, W, 3)`` uint8: the images at ``indices`` (item positions)."""
        indices = np.asarray(indices, np.int64)
        out = np.empty((len(indices), *self.image_shape), np.uint8)
        batch_of = np.searchsorted(self.offsets, indices, side="right") - 1
        for b, array in enumerate(self.batches):
            chosen = np.flatnonzero(batch_of == b)
            if chosen.size:
                out[chosen] = array[indices[chosen] - self.offsets[b]]
        return out


def _pool_context():
    # fork on Linux: workers start in milliseconds and need no importable __main__ (scripts
    # without a main guard, stdin, notebooks). They only run Pillow and NumPy on their own
    # data, so the parent's threads do not matter. Elsewhere the platform's default.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _batches(items, batch_size) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _decode_batch_job(job):
    """Worker entry point: decode one batch; report errors as text (always picklable)."""
    batch, size = job
    names = [name for name, _ in batch]
    out = None
    for i, (name, payload) in enumerate(batch):
        try:
            image = decode_one(payload, size)
        except Exception as err:  # noqa: BLE001 - any decoder failure names the file
            return names, None, f"{printable(name)}: cannot be read as an image ({_describe(err)})"
        if out is None:
            budget = default_memory_limit()
            if len(batch) * image.nbytes > budget:
                return names, None, _over_budget(len(batch), image.shape, budget)
            out = np.empty((len(batch),) + image.shape, np.uint8)
            first = (name, image.shape)
        elif image.shape != out.shape[1:]:
            return names, None, _size_mismatch(name, image.shape, *first)
        out[i] = image
    return names, out, None


def decode_one(payload, size=None) -> np.ndarray:
    """Decode one image (bytes or a path) into an ``(H, W, 3)`` uint8 array."""
    image = decode_plain_jpeg(payload) if isinstance(payload, bytes | bytearray) else None
    if image is not None:
        return _to_rgb_array(image, size)
    source = io.BytesIO(payload) if isinstance(payload, bytes | bytearray) else payload
    with Image.open(source) as opened:
        opened.load()
        return _to_rgb_array(opened, size)


def _to_rgb_array(image, size):
    if image.mode != "RGB":
        image = image.convert("RGB")
    if size is not None and image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    # tobytes + frombuffer is about 10% faster than np.asarray(image) on tiny images.
    width, height = image.size
    return np.frombuffer(image.tobytes(), np.uint8).reshape(height, width, 3)


def decode_plain_jpeg(data: bytes):
    """Decode a plain 3-channel JPEG straight with Pillow's JPEG decoder, or return ``None``.

    ``Image.open`` spends most of its time on tiny images parsing the JPEG markers in Python.
    For a baseline, extended or progressive 8-bit JPEG with three components and no Adobe
    marker, the size is read here from the frame header and the bytes are handed to the same
    decoder with the same arguments that ``Image.open(...).load()`` would use
    (``Image.frombytes(..., "jpeg", "RGB", "")``), so the pixels are identical at half the
    cost. Anything else, including any decoding error, returns ``None`` and takes the
    general path, which also produces the error messages.
    """
    shape = _plain_jpeg_shape(data)
    if shape is None:
        return None
    height, width = shape
    try:
        return Image.frombytes("RGB", (width, height), data, "jpeg", "RGB", "")
    except (ValueError, OSError):
        return None


_SOF_PLAIN = (0xC0, 0xC1, 0xC2)  # baseline, extended sequential, progressive (Huffman)
# APP14 (Adobe colour transform flags, which Pillow's plugin interprets itself), start of scan
# before any frame header, and the markers that carry no length: all leave the fast path.
_UNEXPECTED = {0xEE, 0xDA, *range(0xD0, 0xDA)}


def _plain_jpeg_shape(data):
    """``(height, width)`` from the frame header of a plain 3-channel JPEG, else ``None``."""
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        length = (data[pos + 2] << 8) | data[pos + 3]
        if marker in _UNEXPECTED or not 0xC0 <= marker <= 0xFE or length < 2:
            return None
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a frame header
            if marker not in _SOF_PLAIN or pos + 10 > len(data):
                return None
            precision, height = data[pos + 4], (data[pos + 5] << 8) | data[pos + 6]
            width, components = (data[pos + 7] << 8) | data[pos + 8], data[pos + 9]
            plain = precision == 8 and components == 3 and height > 0 and width > 0
            if not plain or height * width > Image.MAX_IMAGE_PIXELS:
                return None
            return height, width
        pos += 2 + length
    return None


def _describe(err):
    # Escaped whole rather than cut at its first line: the message may quote a path that
    # holds a newline. Long multi-line decoder messages are cut to a readable length.
    text = printable((str(err) or type(err).__name__).strip())
    return text if len(text) <= 400 else text[:400] + "..."


def _size_mismatch(name, shape, ref_name, ref_shape):
    return (
        f"{printable(name)} is {shape[0]}x{shape[1]} (height x width) but {printable(ref_name)} is "
        f"{ref_shape[0]}x{ref_shape[1]}; images must share one size: "
        "pass size=(height, width) to resize them"
    )
