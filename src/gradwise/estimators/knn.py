"""k-nearest-neighbour classification: the lecture's first data-driven classifier.

``fit`` only memorises the training set; ``predict`` finds, for each query, the ``k``
training points nearest to it (L1 or L2 distance on the flattened inputs) and takes a
majority vote of their labels.

Distances are computed in float64, chunked so that the working memory stays within about
``chunk_mb`` megabytes: a 10,000 x 50,000 CIFAR-10 problem never holds its 4 GB distance
matrix, only a slab of query rows against all training points at a time. L2 uses the
expansion ``|a - b|^2 = |a|^2 - 2 a.b + |b|^2`` (one matrix product per block); L1 sums
``|a - b|`` over a (queries x training points x features) block.

Ties, stated exactly (they decide predictions on integer data such as pixels, where many
training points are exactly equidistant from a query):

* **Which neighbours.** The ``k`` neighbours are the ones a fixed-size max-heap of ``k``
  slots keeps when the training points are pushed into it in training order and a point
  replaces the heap's root only if it is *strictly* closer than the root (the farthest kept
  point). Points strictly closer than the k-th smallest distance are always kept; among the
  points exactly at the k-th smallest distance the heap's sift-down order decides. This is
  scikit-learn's own rule (``sklearn.utils._heap.heap_push``, used by brute-force
  ``KNeighborsClassifier``), so predictions match ``KNeighborsClassifier(n_neighbors=k,
  metric="manhattan" | "euclidean", algorithm="brute")`` exactly whenever scikit-learn
  pushes each query's points through one heap in order: with one OpenMP thread, or when
  there are at least as many queries as training points, or more than 4 * 256 * threads
  queries. Otherwise scikit-learn splits the training points between threads and merges
  their heaps, and its choice among exactly equidistant points then depends on the number
  of threads; no fixed rule can match it there.
* **Which class.** The class with the most votes; a tie goes to the smallest class label
  (``np.argmax`` over the sorted classes, as scikit-learn does).

On integer-valued inputs (raw pixels) every distance is computed exactly in float64, so
ties are true ties. On real-valued inputs two distances that differ only by rounding may
be ordered differently than by another implementation.
"""

import numbers

import numpy as np

from .._validate import Param, at_least, one_of, positive
from .base import BaseEstimator

METRICS = ("l1", "l2")

# L1 works on (8 queries x some training points x features) blocks of about 2 MB.
_L1_QUERY_ROWS = 8
_L1_BLOCK_MB = 2


class KNNClassifier(BaseEstimator):
    """k-nearest-neighbour classifier with scikit-learn's estimator interface.

    Parameters
    ----------
    k : int
        Number of neighbours that vote (1 <= k <= number of training points).
    metric : {"l1", "l2"}
        Manhattan (sum of absolute differences) or Euclidean distance.
    chunk_mb : float
        Working memory of the distance computation, in megabytes (about; default 256).

    Inputs of any shape ``(N, ...)`` are flattened to ``(N, D)``; images can be passed as
    they are. Labels can be any sortable values; ``classes_`` holds them sorted.
    """

    params = {
        "k": Param(1, at_least(1), "number of neighbours that vote"),
        "metric": Param("l2", one_of(*METRICS), "l1 (Manhattan) or l2 (Euclidean) distance"),
        "chunk_mb": Param(256, positive, "working memory of the distances, in MB"),
    }

    def fit(self, X, y):
        """Memorise ``X`` (flattened, kept as given: no float copy) and ``y``."""
        self.check_params()
        X = _as_rows(X, "X")
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"y must be 1-D with {len(X)} labels, got shape {y.shape}")
        if self.k > len(X):
            raise ValueError(f"k={self.k} is larger than the {len(X)} training points")
        self.classes_, self._y_index = np.unique(y, return_inverse=True)
        self._X = X
        self._sq_norms = _squared_norms(X, self._rows_per_block(X.shape[1]))
        return self

    def kneighbors(self, X, k=None):
        """``(distances, indices)`` of the ``k`` neighbours of each query, nearest first.

        Both are ``(n_queries, k)``; equal distances are listed in training order.
        """
        k = self._k_for_query(k)
        dist, idx = [], []
        for D in self._distance_slabs(X):
            rows = _neighbour_indices(D, k)
            d = np.take_along_axis(D, rows, axis=1)
            order = np.lexsort((rows, d), axis=1)
            rows = np.take_along_axis(rows, order, axis=1)
            d = np.take_along_axis(d, order, axis=1)
            dist.append(np.sqrt(np.maximum(d, 0.0)) if self.metric == "l2" else d)
            idx.append(rows)
        return np.concatenate(dist), np.concatenate(idx)

    def predict_proba(self, X):
        """Fraction of the ``k`` neighbours in each class, ``(n_queries, n_classes)``."""
        return self._votes(X, [self._k_for_query(None)])[0] / self.k

    def predict(self, X):
        """The majority label of each query's ``k`` neighbours (ties: smallest label)."""
        votes = self.predict_proba(X)
        return self.classes_[np.argmax(votes, axis=1)]

    def score(self, X, y):
        """Accuracy of :meth:`predict` on ``(X, y)``."""
        y = np.asarray(y)
        return float(np.mean(self.predict(X) == y))

    def predict_each_k(self, X, ks):
        """``{k: predictions}`` for several ``k`` from one pass over the distances.

        Each entry equals ``set_params(k=k).predict(X)``; choosing ``k`` by validation costs
        one distance computation instead of one per candidate.
        """
        ks = [self._k_for_query(k) for k in ks]
        return {
            k: self.classes_[np.argmax(v, axis=1)]
            for k, v in zip(ks, self._votes(X, ks), strict=True)
        }

    # -- internals --------------------------------------------------------------------------

    def _k_for_query(self, k):
        if not hasattr(self, "_X"):
            raise ValueError("this KNNClassifier is not fitted yet: call fit(X, y) first")
        self.check_params()
        k = self.k if k is None else k
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= len(self._X):
            raise ValueError(f"k must be an integer in 1..{len(self._X)}, got {k!r}")
        return int(k)

    def _votes(self, X, ks):
        """For each k in ``ks``, the ``(n_queries, n_classes)`` vote counts."""
        n_classes = len(self.classes_)
        per_k = [[] for _ in ks]
        for D in self._distance_slabs(X):
            for out, k in zip(per_k, ks, strict=True):
                labels = self._y_index[_neighbour_indices(D, k)]
                out.append(_count_rows(labels, n_classes))
        return [np.concatenate(v) for v in per_k]

    def _rows_per_block(self, width):
        """Rows of ``width`` float64 values that fit in ``chunk_mb`` megabytes (>= 1)."""
        return max(1, int(self.chunk_mb * 2**20 // (8 * width)))

    def _distance_slabs(self, X):
        """Yield the distances from a slab of query rows to every training point."""
        X = _as_rows(X, "X")
        if X.shape[1] != self._X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features per row but the model was fitted on "
                f"{self._X.shape[1]}"
            )
        n_train, width = self._X.shape
        # Half the budget for the slab of distances, a quarter for the float64 training
        # block, an eighth for the two boolean masks of the neighbour selection.
        slab_rows = max(1, self._rows_per_block(n_train) // 2)
        buffer = None
        if self.metric == "l2" and not (self._X.dtype == np.float64 and self._X.flags.c_contiguous):
            # One float64 buffer for the training blocks, reused by every slab: converting
            # into fresh arrays would page-fault the whole training set again per slab.
            block_rows = max(1, self._rows_per_block(width) // 4)
            buffer = np.empty((min(n_train, block_rows), width))
        for start in range(0, len(X), slab_rows):
            queries = np.asarray(X[start : start + slab_rows], dtype=np.float64)
            if self.metric == "l2":
                yield self._squared_l2(queries, buffer)
            else:
                yield self._l1(queries)

    def _squared_l2(self, queries, buffer):
        """``|q|^2 - 2 q.x + |x|^2`` for every query q and training point x.

        Training rows are taken in blocks of ``len(buffer)`` rows, converted into ``buffer``
        (``None``: the training rows are float64 already and used in place).
        """
        out = np.empty((len(queries), len(self._X)))
        q_norms = np.einsum("ij,ij->i", queries, queries)[:, None]
        step = len(buffer) if buffer is not None else self._rows_per_block(self._X.shape[1])
        for start in range(0, len(self._X), step):
            rows = self._X[start : start + step]
            if buffer is None:
                block = rows
            else:
                block = buffer[: len(rows)]
                block[...] = rows
            part = out[:, start : start + step]
            np.matmul(queries, block.T, out=part)
            part *= -2.0
            part += q_norms
            part += self._sq_norms[start : start + step]
        return out

    def _l1(self, queries):
        """``sum |q - x|`` for every query q and training point x, block by block.

        The (queries x points x features) temporaries are kept to a few megabytes: small
        blocks that stay in cache are many times faster than one big broadcast.
        """
        out = np.empty((len(queries), len(self._X)))
        width = self._X.shape[1]
        train_rows = max(1, int(min(self.chunk_mb, _L1_BLOCK_MB) * 2**20 // (8 * width * 8)))
        for t in range(0, len(self._X), train_rows):
            block = np.asarray(self._X[t : t + train_rows], dtype=np.float64)
            for q in range(0, len(queries), _L1_QUERY_ROWS):
                diff = np.abs(queries[q : q + _L1_QUERY_ROWS, None, :] - block[None, :, :])
                out[q : q + _L1_QUERY_ROWS, t : t + train_rows] = diff.sum(axis=2)
        return out


def _as_rows(X, name):
    X = np.asarray(X)
    if X.ndim < 2 or X.shape[0] == 0 or X.size == 0:
        raise ValueError(f"{name} must be a non-empty array of shape (N, ...), got {X.shape}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {X.dtype}")
    if np.iscomplexobj(X):
        raise TypeError(f"{name} must be real, got dtype {X.dtype}")
    X = X.reshape(len(X), -1)
    if np.issubdtype(X.dtype, np.floating) and not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return X


def _squared_norms(X, step):
    norms = np.empty(len(X))
    for start in range(0, len(X), step):
        block = np.asarray(X[start : start + step], dtype=np.float64)
        norms[start : start + step] = np.einsum("ij,ij->i", block, block)
    return norms


def _count_rows(labels, n_classes):
    """``counts[i, c]`` = how many entries of row ``i`` of ``labels`` equal ``c``."""
    rows = np.arange(len(labels))[:, None]
    flat = (rows * n_classes + labels).ravel()
    return np.bincount(flat, minlength=len(labels) * n_classes).reshape(len(labels), n_classes)


def _neighbour_indices(D, k):
    """The ``(rows, k)`` training indices the tie rule keeps, ascending in each row.

    Points strictly closer than the k-th smallest distance are always kept. Only rows where
    more points sit exactly at the k-th distance than there are places left need the heap
    replay; for all others the set is unambiguous.
    """
    n = D.shape[1]
    if k == n:
        return np.broadcast_to(np.arange(n), D.shape).copy()
    # Partitioned copies of a few rows at a time keep the extra memory small.
    kth = np.concatenate(
        [np.partition(D[i : i + 64], k - 1, axis=1)[:, k - 1] for i in range(0, len(D), 64)]
    )[:, None]
    keep = D < kth
    at_kth = D == kth
    places = k - keep.sum(axis=1)
    tied = np.flatnonzero(at_kth.sum(axis=1) > places)
    keep |= at_kth
    for row in tied:
        keep[row] = False
        keep[row, _heap_replay(D[row], k)] = True
    return np.nonzero(keep)[1].reshape(len(D), k)


def _heap_replay(distances, k):
    """Indices a k-slot max-heap keeps when ``distances`` are pushed in order.

    The heap replaces its root only with a strictly smaller value, then sifts down preferring
    the left child on equal children (scikit-learn's ``heap_push``). Each block is filtered
    first: a point not closer than the root at the start of its block cannot enter, because
    the root only ever decreases. Blocks double in length (k, k, 2k, 4k, ...), so about
    ``k * log2(n / k)`` points are pushed one by one instead of ``n``.
    """
    values = [np.inf] * k
    indices = [-1] * k
    start, n = 0, len(distances)
    while start < n:
        block = distances[start : start + max(k, start)]
        candidates = np.flatnonzero(block < values[0])
        for j, v in zip((candidates + start).tolist(), block[candidates].tolist(), strict=True):
            if v < values[0]:
                _heap_push(values, indices, v, j)
        start += len(block)
    return np.asarray(indices, dtype=np.intp)


def _heap_push(values, indices, value, index):
    k = len(values)
    current = 0
    while True:
        left = 2 * current + 1
        right = left + 1
        if left >= k:
            break
        if right >= k:
            if values[left] > value:
                swap = left
            else:
                break
        elif values[left] >= values[right]:
            if value < values[left]:
                swap = left
            else:
                break
        elif value < values[right]:
            swap = right
        else:
            break
        values[current] = values[swap]
        indices[current] = indices[swap]
        current = swap
    values[current] = value
    indices[current] = index
