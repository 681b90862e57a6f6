"""Loss and gradient of a single linear layer, reading the data once per evaluation.

For ``scores = X W + b`` and a softmax cross-entropy or one of the multiclass hinge losses
(Weston-Watkins, one-vs-all, Crammer-Singer),

    loss   = scale * sum_i L_i(s_i, y_i)
    grad_W = X^T G,  grad_b = sum_i G_i,  G = scale * dL_i/dscores,

with ``scale = 1/N`` for ``reduction="mean"`` and 1 for ``"sum"``. The plain way reads X
twice from memory: once for ``X @ W``, once for ``X.T @ G``. Here the rows are taken in
blocks of a few MiB; each block's scores, its ``G`` and its share of ``X^T G`` are computed
while the block is still in cache, so X streams from memory once.

Big inputs are split between threads, one contiguous range of blocks each, with BLAS held
to one thread meanwhile: the threads then never wait for each other inside a matrix
product (which hundreds of small multi-threaded products would do, and which is slow on a
busy machine). This needs ``threadpoolctl`` to set the BLAS thread count; without it
everything runs in the calling thread. Small inputs (a minibatch) are one block, computed
with BLAS's own threads. Buffers are allocated once per shape and reused.

``X`` may also be a row source (:func:`is_row_source`: an object with ``shape``, ``dtype``
and ``rows_into(start, stop, out)``, such as :class:`gradwise.data.features.ImageFeatures`,
which keeps uint8 images and converts them): each block is then converted into the lane's
own buffer just before its two products, so the conversion, too, happens in cache and X
streams from memory once, at its own (uint8) size.

The results equal :class:`gradwise.nn.SoftmaxCrossEntropy`,
:class:`gradwise.nn.MulticlassHinge`, :class:`gradwise.nn.OneVsAllHinge` and
:class:`gradwise.nn.CrammerSingerHinge` applied to :class:`gradwise.nn.Linear` (same
formulas, same subgradient convention: a hinge at exactly 0 contributes nothing, the first
of tied Crammer-Singer rivals takes the gradient).
"""

import threading

import numpy as np

from ..nn.functional import check_labels
from ..nn.linear import Linear
from ..nn.loss import CrammerSingerHinge, MulticlassHinge, OneVsAllHinge, SoftmaxCrossEntropy

# Rows per block are chosen so one block of X takes about this many bytes: big enough
# that per-block Python overhead is small, small enough to stay in the last-level cache.
BLOCK_BYTES = 4 * 2**20

# Threads are used only when every thread gets at least this many blocks.
MIN_BLOCKS_PER_THREAD = 2

#: The losses this kernel computes (exactly these classes: a subclass may change the formula).
FUSED_LOSSES = (SoftmaxCrossEntropy, MulticlassHinge, OneVsAllHinge, CrammerSingerHinge)

# |score| below which exp cannot overflow, nor a row of C <= 1e6 classes underflow to 0.
EXP_SAFE = {np.float32: 60.0, np.float64: 600.0}


def is_row_source(X):
    """True for an (N, D) matrix made on demand (``rows_into``), not held as an array."""
    return not isinstance(X, np.ndarray) and callable(getattr(X, "rows_into", None))


class FusedLinearLoss:
    """``loss(X W + b, y)`` and its gradient in one blocked pass over ``X``.

    ``fused(X, y, W, b, grad_W, grad_b) -> loss`` overwrites ``grad_W`` (D, C) and
    ``grad_b`` (C,); :meth:`value_only` and :meth:`loss_and_correct` (an epoch's evaluation)
    run the forward half alone. ``X`` must be a C-contiguous (N, D) array of W's dtype (see
    :meth:`accepts`); ``y`` (N,) integer labels in ``0..C-1`` (checked when they change).
    ``threads``: ``None`` uses as many as BLAS would; 1 keeps everything in the caller.
    """

    def __init__(self, loss, block_bytes=BLOCK_BYTES, threads=None):
        if type(loss) not in FUSED_LOSSES:
            names = ", ".join(cls.__name__ for cls in FUSED_LOSSES)
            raise TypeError(f"the fused path supports {names}, got {type(loss).__name__}")
        if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
            raise ValueError(f"threads must be None or a positive integer, got {threads!r}")
        self.loss = loss
        self.block_bytes = int(block_bytes)
        self.threads = threads
        self._lanes = []
        self._labels_seen = None

    @staticmethod
    def supports(model, loss):
        """True when ``model`` is exactly one :class:`Linear` and ``loss`` a fused loss."""
        return type(model) is Linear and type(loss) in FUSED_LOSSES

    @staticmethod
    def accepts(X, W):
        """True when ``X`` can be streamed in row blocks with ``W``'s dtype (no copy)."""
        if is_row_source(X):
            return X.dtype == W.dtype and len(X.shape) == 2
        return (
            isinstance(X, np.ndarray)
            and X.ndim == 2
            and X.dtype == W.dtype
            and X.dtype in (np.float32, np.float64)
            and X.flags.c_contiguous
        )

    def __call__(self, X, y, W, b, grad_W, grad_b):
        """The loss; ``grad_W`` and ``grad_b`` are overwritten with its gradient."""
        return self._evaluate(X, y, W, b, grad_W, grad_b)

    def value_only(self, X, y, W, b):
        """The loss alone: the same blocked pass without ``X^T G`` (the second half of the
        work), for methods that compare losses and never follow a gradient."""
        return self._evaluate(X, y, W, b, None, None)

    def loss_and_correct(self, X, y, W, b):
        """``(loss, correct)``: the loss as :meth:`value_only` computes it, and how many rows'
        highest score (the first, on ties) is their label; a non-finite loss is returned,
        not refused (an epoch's evaluation reports it)."""
        return self._evaluate(X, y, W, b, None, None, count=True)

    def _evaluate(self, X, y, W, b, grad_W, grad_b, count=False):
        n, d = X.shape
        itemsize = np.dtype(X.dtype).itemsize
        if n == 0:
            raise ValueError("X has no rows: the loss of an empty batch is undefined")
        self._check_labels(y, W.shape[1])
        rows = max(1, min(n, self.block_bytes // max(1, d * itemsize)))
        blocks = -(-n // rows)
        limiter, threads = _blas_limiter(self.threads)
        threads = min(threads, blocks // MIN_BLOCKS_PER_THREAD) if limiter else 1
        scale = 1.0 / n if self.loss.reduction == "mean" else 1.0
        task = (self.loss, X, y, W, b, grad_W, grad_b, rows, scale, count)
        if threads <= 1:
            total, correct = self._lane(0).run(0, n, *task)
        else:
            total, correct = self._run_threads(threads, limiter, *task)
        value = total * scale
        if count:
            return value, correct
        if not np.isfinite(value):
            raise ValueError("scores contain NaN or Inf (did training diverge? try a smaller lr)")
        return value

    def _lane(self, k):
        while len(self._lanes) <= k:
            self._lanes.append(_Lane())
        return self._lanes[k]

    def _run_threads(self, threads, limiter, loss, X, y, W, b, grad_W, grad_b, rows, *rest):
        """Contiguous ranges of whole blocks, one per thread; thread 0 is the caller and
        writes into ``grad_W``/``grad_b`` directly, the others into their own buffers.
        ``(loss sum, correct count)`` over all of them."""
        blocks = -(-len(X) // rows)
        edges = [min(len(X), rows * (blocks * k // threads)) for k in range(threads + 1)]
        lanes = [self._lane(k) for k in range(threads)]
        wanted = grad_W is not None
        outputs = [(grad_W, grad_b)] + [
            lane.gradients(W) if wanted else (None, None) for lane in lanes[1:]
        ]
        results, errors = [(0.0, 0)] * threads, []
        caller_errstate = np.geterr()  # NumPy's error handling is per thread: take the caller's

        def work(k):
            try:
                lo, hi = edges[k], edges[k + 1]
                g_W, g_b = outputs[k]
                with np.errstate(**caller_errstate):
                    results[k] = lanes[k].run(lo, hi, loss, X, y, W, b, g_W, g_b, rows, *rest)
            except BaseException as error:  # re-raised in the caller below
                errors.append(error)

        with limiter():
            helpers = [threading.Thread(target=work, args=(k,)) for k in range(1, threads)]
            for helper in helpers:
                helper.start()
            work(0)
            for helper in helpers:
                helper.join()
        if errors:
            raise errors[0]
        for g_W, g_b in outputs[1:] if wanted else ():
            grad_W += g_W
            grad_b += g_b
        return sum(total for total, _ in results), sum(correct for _, correct in results)

    def _check_labels(self, y, n_classes):
        # Labels are checked once per labels array (a new batch), not once per evaluation.
        if self._labels_seen == (id(y), n_classes):
            return
        if not isinstance(y, np.ndarray):
            raise TypeError(f"labels must be integers (class indices), got {type(y).__name__}")
        check_labels(y, n_classes)
        self._labels_seen = (id(y), n_classes)
        self._labels_ref = y  # keeps id(y) from being reused while it is remembered


class _Lane:
    """One thread's buffers and block loop."""

    def __init__(self):
        self._key = None
        self._own = None

    def gradients(self, W):
        """This lane's own ``(grad_W, grad_b)`` buffers, shaped like ``W`` and its bias."""
        if self._own is None or self._own[0].shape != W.shape or self._own[0].dtype != W.dtype:
            self._own = (np.empty_like(W), np.empty(W.shape[1], dtype=W.dtype))
        return self._own

    def _prepare(self, rows, d, c, dtype):
        # Buffers only grow: a short last batch of an epoch does not reallocate them.
        if self._key == (d, c, dtype) and len(self._row_offset) >= rows:
            return
        self._features = None  # a row source's converted block, allocated on first use
        self._scores = np.empty((rows, c), dtype=dtype)
        self._row_stat = np.empty(rows, dtype=dtype)
        self._flat_index = np.empty(rows, dtype=np.intp)
        self._rival_index = np.empty(rows, dtype=np.intp)
        self._row_offset = np.arange(rows, dtype=np.intp) * c
        self._partial = np.empty((d, c), dtype=dtype)
        self._ones = np.ones(c, dtype=dtype)
        self._ones_rows = np.ones(rows, dtype=dtype)
        self._bias_partial = np.empty(c, dtype=dtype)
        self._key = (d, c, dtype)

    def block(self, X, start, stop):
        """Rows ``start:stop`` of ``X``: a view of an array, or a row source's rows
        converted into this lane's buffer."""
        if not is_row_source(X):
            return X[start:stop]
        if self._features is None:
            self._features = np.empty((len(self._row_offset), X.shape[1]), dtype=X.dtype)
        return X.rows_into(start, stop, self._features[: stop - start])

    def run(self, lo, hi, loss, X, y, W, b, grad_W, grad_b, rows, scale, count):
        """``(unscaled loss sum, correct count)`` over rows ``lo:hi`` of ``X``; writes
        ``scale`` times the gradients (scaling each block's G: C numbers a row, fewer than
        the D x C of grad_W), unless ``grad_W`` is ``None`` (the loss alone). The count is
        of rows whose first highest score is the label, when ``count`` (else 0)."""
        self._prepare(min(rows, hi - lo), X.shape[1], W.shape[1], W.dtype)
        wanted = grad_W is not None
        if wanted:
            grad_b.fill(0)
        total, correct = 0.0, 0
        for start in range(lo, hi, rows):
            stop = min(hi, start + rows)
            Xb, yb = self.block(X, start, stop), y[start:stop]
            S = self._scores[: len(Xb)]
            np.matmul(Xb, W, out=S)
            S += b
            if count:
                predicted = np.argmax(S, axis=1, out=self._rival_index[: len(S)])
                correct += int(np.count_nonzero(predicted == yb))
            index = self._correct_class_index(yb)
            total += self._block_loss(loss, S, index)
            if not wanted:
                continue
            if scale != 1.0:
                S *= scale
            # The block is still in cache: take its share of X^T G now.
            np.matmul(self._ones_rows[: len(Xb)], S, out=self._bias_partial)  # column sums
            grad_b += self._bias_partial
            if start == lo:
                np.matmul(Xb.T, S, out=grad_W)
            else:
                np.matmul(Xb.T, S, out=self._partial)
                grad_W += self._partial
        if hi <= lo and wanted:  # a thread gets no rows when there are more threads than blocks
            grad_W.fill(0)
        return total, correct

    def _correct_class_index(self, yb):
        """Flat indices of ``S[i, y_i]`` in the block's (m, C) score buffer."""
        index = self._flat_index[: len(yb)]
        np.add(self._row_offset[: len(yb)], yb, out=index)
        return index

    def _block_loss(self, loss, S, index):
        """The block's unscaled loss sum; S becomes the loss's gradient with respect to it."""
        kind = type(loss)
        if kind is SoftmaxCrossEntropy:
            return self._softmax(S, index)
        if kind is MulticlassHinge:
            return self._hinge(S, index, loss.margin)
        if kind is OneVsAllHinge:
            return self._one_vs_all(S, index, loss.margin)
        return self._crammer_singer(S, index, loss.margin)

    def _softmax(self, S, index):
        """Sum of ``log sum_j exp(s_ij) - s_iy``; S becomes ``p - onehot(y)``.

        Scores are shifted by their row's maximum only when some score is large enough for
        ``exp`` to overflow or underflow (the result is shift-invariant; skipping the shift
        saves a slow short-row reduction on every minibatch).
        """
        flat = S.reshape(-1)
        row = self._row_stat[: len(S)]
        safe = EXP_SAFE[S.dtype.type]
        if not (-safe < S.min() and S.max() < safe):
            np.max(S, axis=1, out=row)
            S -= row[:, None]
        block_loss = -float(flat[index].sum(dtype=np.float64))
        np.exp(S, out=S)
        np.matmul(S, self._ones, out=row)  # row sums: much faster than sum(axis=1)
        S /= row[:, None]
        np.log(row, out=row)
        block_loss += float(row.sum(dtype=np.float64))
        flat[index] -= 1
        return block_loss

    def _hinge(self, S, index, margin):
        """Sum of ``sum_{j != y_i} max(0, s_ij - s_iy + margin)``; S becomes the subgradient."""
        flat = S.reshape(-1)
        row = self._row_stat[: len(S)]
        np.take(flat, index, out=row)
        S -= row[:, None]
        S += margin
        flat[index] = 0
        np.maximum(S, 0, out=S)
        block_loss = float(S.sum(dtype=np.float64))
        np.greater(S, 0, out=S)
        np.matmul(S, self._ones, out=row)  # active hinges per row
        flat[index] = -row
        return block_loss

    def _one_vs_all(self, S, index, margin):
        """Sum of ``sum_j max(0, margin - t_ij s_ij)``; S becomes the subgradient ``-t_ij``
        where a hinge is active, else 0."""
        flat = S.reshape(-1)
        row = self._row_stat[: len(S)]
        np.take(flat, index, out=row)
        S += margin  # margin + s_ij: the hinges of the other classes (t = -1)
        flat[index] = np.subtract(margin, row, out=row)  # the correct class's (t = +1)
        np.maximum(S, 0, out=S)
        block_loss = float(S.sum(dtype=np.float64))
        np.greater(S, 0, out=S)
        np.take(flat, index, out=row)
        flat[index] = np.subtract(0, row, out=row)  # 0 - x, not -x: no -0.0 entries
        return block_loss

    def _crammer_singer(self, S, index, margin):
        """Sum of ``max(0, margin + max_{j != y_i} s_ij - s_iy)``; S becomes the subgradient
        (+1 at the first wrong class of highest score, -1 at the label, where active)."""
        flat = S.reshape(-1)
        row = self._row_stat[: len(S)]
        np.take(flat, index, out=row)
        S -= row[:, None]
        S += margin
        flat[index] = -np.inf  # the correct class is not a rival of itself
        rival = self._rival_index[: len(S)]
        np.argmax(S, axis=1, out=rival)
        rival += self._row_offset[: len(S)]
        np.take(flat, rival, out=row)
        np.maximum(row, 0, out=row)
        block_loss = float(row.sum(dtype=np.float64))
        np.greater(row, 0, out=row)
        S.fill(0)
        flat[rival] = row
        flat[index] -= row  # with one class the rival is the label and row is 0
        return block_loss


_CONTROLLER = []


def _blas_limiter(threads):
    """``(limit, n)``: a context-manager factory that holds BLAS to one thread, and the
    number of threads to use (BLAS's own count unless given); ``(None, 1)`` without
    ``threadpoolctl``."""
    if threads == 1:
        return None, 1
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _CONTROLLER.append(None)
        else:
            _CONTROLLER.append(ThreadpoolController().select(user_api="blas"))
    controller = _CONTROLLER[0]
    if controller is None or not controller.lib_controllers:
        return None, 1
    available = max(c.num_threads for c in controller.lib_controllers)
    return (lambda: controller.limit(limits=1)), int(threads or available)
