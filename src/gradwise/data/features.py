"""The features of uint8 images, made a block of rows at a time, never held whole.

``ImageFeatures(images, pipeline)`` stands for the ``(N, D)`` matrix ``pipeline(images)``
while keeping only the images (uint8 ``(N, H, W, C)``, memory-mapped from the cache when
they come from it: a quarter of the bytes of float32 features, and a dataset larger than
memory streams from the disk). The training loop asks it for rows:

- ``take_into(index, out, choices)``: the rows ``index`` (a minibatch) gathered as uint8,
  changed by the augmentation (``choices`` drawn by :meth:`draw`), then converted into
  ``out``;
- ``rows_into(start, stop, out)``: contiguous rows, as they are, converted into ``out`` (the
  blocks of the cache-blocked full-batch pass and of evaluation);
- ``X[start:stop]``: the same as a new array.

The conversion is the fitted pipeline's own arithmetic, operation for operation (float32
``x / 255``, minus the mean, divided by the standard deviation, per pixel or per channel,
then flattened, then the bias column), so the features are bit for bit those of
``pipeline(images)`` (``astype`` to float64 after, as a float64 model's are).
"""

import numpy as np

from ..errors import DataError
from .transforms import BiasTrick, Flatten, MeanSubtraction, Standardize, ToFloat32


def feature_rows(X, pipeline, dtype=np.float32, augmentation=None):
    """The training rows ``pipeline(X)`` as ``fit`` takes them: an :class:`ImageFeatures`
    for uint8 images (or any images a random ``augmentation`` changes), else the float
    features computed once, as an array of ``dtype``."""
    X = np.asarray(X)
    if X.dtype == np.uint8 or augmentation is not None:
        return ImageFeatures(X, pipeline, dtype, augmentation)
    return pipeline.transform(X).astype(dtype, copy=False)


class ImageFeatures:
    """``pipeline(images)`` as an ``(N, D)`` matrix of ``dtype`` computed on demand.

    ``augmentation``: an :class:`gradwise.data.augment.Augmentation` that ``take_into``
    applies (``None``: none). ``images`` are uint8 (or float: then only cast to float32, as
    ``ToFloat32`` does) and the pipeline is fitted on inputs of their shape, made of the
    steps :func:`gradwise.data.preprocessing` builds (``ToFloat32``, a centring,
    ``Flatten``, ``BiasTrick``).
    """

    def __init__(self, images, pipeline, dtype=np.float32, augmentation=None):
        real = isinstance(images, np.ndarray) and images.dtype.kind in "uf" and images.ndim >= 2
        if not real or (images.dtype.kind == "u" and images.dtype != np.uint8):
            shown = getattr(images, "dtype", type(images).__name__)
            raise DataError(f"ImageFeatures needs uint8 or float inputs (N, ...), got {shown}")
        self.images = images
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {self.dtype}")
        self._plan = _Plan(pipeline, images.shape[1:])
        if augmentation is not None:
            augmentation.check_images(images.shape)
        self.augmentation = augmentation
        self.shape = (len(images), self._plan.width)
        self.ndim = 2
        self._gathered = None
        self._whole = None

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        n, d = self.shape
        return (
            f"ImageFeatures({n} images {'x'.join(map(str, self.images.shape[1:]))} "
            f"{self.images.dtype} -> "
            f"{d} {self.dtype} features, augmentation={self.augmentation!r})"
        )

    def __getitem__(self, key):
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("ImageFeatures rows are read by contiguous slices, X[start:stop]")
        start, stop, _ = key.indices(len(self))
        out = np.empty((max(0, stop - start), self.shape[1]), dtype=self.dtype)
        return self.rows_into(start, stop, out)

    def __array__(self, dtype=None, copy=None):
        """The whole matrix, for code that needs every row at once (Newton's Hessian
        products): made on the first request and kept, as the precomputed features were."""
        if self._whole is None:
            self._whole = self[0 : len(self)]
        return self._whole if dtype is None else self._whole.astype(dtype, copy=False)

    def rows_into(self, start, stop, out):
        """Write the features of rows ``start:stop`` (no augmentation) into ``out``."""
        return self._plan.convert(self.images[start:stop], out)

    def take_into(self, index, out, choices=None):
        """Write the features of rows ``index``, augmented as ``choices`` say, into ``out``."""
        gathered = self._buffer(len(index))
        np.take(self.images, index, axis=0, out=gathered)
        if self.augmentation is not None and choices is not None:
            self.augmentation.apply(gathered, choices)
        return self._plan.convert(gathered, out)

    def draw(self, rng, count):
        """An epoch's random choices for ``count`` rows (``None`` without augmentation)."""
        return None if self.augmentation is None else self.augmentation.draw(rng, count)

    def check_finite(self, name):
        """Refuse NaN or Inf in float inputs (uint8 images are finite) or in the fitted
        statistics (a corrupt model file)."""
        for start in range(0, len(self.images) if self.images.dtype.kind == "f" else 0, 4096):
            block = self.images[start : start + 4096]
            if not np.isfinite(block).all():
                row = start + int(
                    np.flatnonzero(~np.isfinite(block.reshape(len(block), -1)).all(1))[0]
                )
                raise DataError(
                    f"{name}: X holds NaN or Inf (at row {row}); clean or drop those rows "
                    "before training"
                )
        for array in self._plan.arrays():
            if not np.isfinite(array).all():
                raise DataError(f"{name}: the preprocessing's statistics hold NaN or Inf")

    def _buffer(self, rows):
        if self._gathered is None or len(self._gathered) < rows:
            self._gathered = np.empty((rows, *self.images.shape[1:]), dtype=self.images.dtype)
        return self._gathered[:rows]


# Rows are converted in pieces of about this many bytes of float32: a fused pass's whole
# block (4 MiB) or a minibatch is one piece. Smaller pieces were slower, not faster: each
# piece costs about 15 us of Python and ufunc set-up, which at 256 KiB pieces was a third of
# the conversion (0.75-0.85 ns per element against 0.48-0.58 ns for one 4 MiB piece, 1 core,
# the piece's float32 then read from the last-level cache, which holds 4 MiB easily).
CONVERT_BYTES = 2**22

# The fitted statistics are kept in an allocation of at least this size (see
# _Plan._per_feature); only the pages they fill become resident.
STATISTICS_BUFFER_BYTES = 2**22


class _Plan:
    """The fitted pipeline as the few in-place operations that make its features."""

    def __init__(self, pipeline, shape):
        steps = list(getattr(pipeline, "steps", [pipeline]))
        kinds = [type(step) for step in steps]
        self.scale = bool(kinds) and kinds[0] is ToFloat32
        steps = steps[1:] if self.scale else steps
        centring = steps and type(steps[0]) in (MeanSubtraction, Standardize)
        self.center = steps.pop(0) if centring else None
        if not steps or type(steps[0]) is not Flatten:
            raise ValueError(
                f"features can be made a minibatch at a time for preprocessing of the form "
                f"[ToFloat32] [centring] Flatten [BiasTrick], not {pipeline!r}"
            )
        steps.pop(0)
        self.bias = steps.pop(0) if steps and type(steps[0]) is BiasTrick else None
        if steps:
            raise ValueError(f"preprocessing step {steps[0]!r} cannot be applied per minibatch")
        self.shape = tuple(shape)
        self.pixels = int(np.prod(self.shape, dtype=np.int64))
        self.width = self.pixels + (1 if self.bias is not None else 0)
        self._mean = self._std = None
        if self.center is not None:
            self._fit_shapes(self.center)

    def _fit_shapes(self, center):
        if not center.fitted:
            raise ValueError(f"{type(center).__name__} is not fitted: call fit(X_train) first")
        expected = center.mean.shape
        got = self.shape if center.per == "pixel" else self.shape[-1:]
        if tuple(expected) != tuple(got):
            raise DataError(
                f"the preprocessing was fitted on inputs of shape {tuple(expected)} "
                f"(per {center.per}), these images are {self.shape}"
            )
        self._mean = self._per_feature(center, center.mean)
        if isinstance(center, Standardize):
            self._std = self._per_feature(center, center.std)

    def _per_feature(self, center, values):
        """One value per feature, in memory of its own that the operations read fast.

        Per channel, the C values are repeated along the flattened (H, W, C) pixels: the
        same numbers in the same operations, but one long inner loop instead of H * W loops
        of length C (those were 5-20x slower). The vector is kept at the start of a buffer
        of ``STATISTICS_BUFFER_BYTES``: subtracting a small allocation's vector from every row of a
        4 MiB piece ran at 2-3 ns an element in some processes and at 0.25 in others, with
        the vector at the same virtual addresses, depending on what had been allocated
        before it; from such a buffer it ran at 0.25 in every process tried.
        """
        values = values.reshape(-1)
        repeat = 1 if center.per == "pixel" else self.pixels // values.size
        count = values.size * repeat
        room = max(count, STATISTICS_BUFFER_BYTES // values.itemsize)
        kept = np.empty(room, dtype=values.dtype)[:count]
        kept.reshape(repeat, values.size)[:] = values
        return kept

    def arrays(self):
        return [a for a in (self._mean, self._std) if a is not None]

    def convert(self, images, out):
        """The features of ``images`` (m, ...) written into ``out`` (m, width), a few rows
        at a time: each piece's divide, subtract and divide run while it is in cache."""
        m = len(images)
        if out.shape != (m, self.width):
            raise ValueError(f"out must have shape {(m, self.width)}, got {out.shape}")
        rows = max(1, CONVERT_BYTES // (4 * self.width))
        for start in range(0, m, rows):
            self._convert(images[start : start + rows], out[start : start + rows])
        return out

    def _convert(self, images, out):
        m = len(images)
        pixels = out if self.bias is None else out[:, : self.pixels]
        single = out.dtype == np.float32
        work = pixels if single else np.empty((m, self.pixels), dtype=np.float32)
        flat = images.reshape(m, self.pixels)
        if self.scale and flat.dtype == np.uint8:  # ToFloat32 divides uint8 images only
            np.divide(flat, np.float32(255), out=work, dtype=np.float32)
        else:
            np.copyto(work, flat)
        if self.center is not None:
            np.subtract(work, self._mean, out=work)
            if self._std is not None:
                np.divide(work, self._std, out=work)
        if not single:
            np.copyto(pixels, work)
        if self.bias is not None:
            out[:, -1] = self.bias.value
        return out
