"""The confusion matrix: how often each true class is predicted as each class.

Cells are coloured by the row-normalised rate (the fraction of a true class predicted as
each class, so the diagonal is each class's recall, comparable across unbalanced classes)
and labelled with the raw counts. The title gives the overall accuracy.
"""

import numpy as np

from .style import new_figure, save_figure


def row_rates(matrix):
    """Each row divided by its sum (a row with no samples stays all zero)."""
    matrix = np.asarray(matrix, dtype=float)
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)


def accuracy_of(matrix):
    """Trace over total: the fraction of samples on the diagonal."""
    matrix = np.asarray(matrix, dtype=float)
    total = matrix.sum()
    return float(np.trace(matrix) / total) if total > 0 else float("nan")


def confusion_matrix(matrix, classes, path, title=None, dpi=100):
    """Draw ``matrix`` (rows: true class, columns: predicted class) and write it to ``path``.

    ``matrix`` is a square array of non-negative counts, ``classes`` the class names in
    the order of its rows. Returns the path written.
    """
    matrix = _check_matrix(matrix, classes)
    classes = [str(c) for c in classes]
    rates = row_rates(matrix)
    n = len(classes)
    size = max(4.0, 0.55 * n + 2.0)
    fig = new_figure(size + 1.0, size, dpi=dpi)
    ax = fig.subplots()
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of the true class")
    ax.set_xticks(range(n), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), classes, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if n <= 30:
        _label_cells(ax, matrix, rates)
    accuracy = accuracy_of(matrix)
    ax.set_title(
        title or f"confusion matrix (accuracy {accuracy:.1%}, {int(matrix.sum())} samples)"
    )
    return save_figure(fig, path)


def _label_cells(ax, matrix, rates):
    integral = np.all(matrix == np.round(matrix))
    fontsize = 8 if len(matrix) <= 12 else 6
    for (i, j), count in np.ndenumerate(matrix):
        text = f"{int(count)}" if integral else f"{count:.2g}"
        # White text on dark cells, black on light ones.
        color = "white" if rates[i, j] > 0.5 else "black"
        ax.text(j, i, text, ha="center", va="center", color=color, fontsize=fontsize)


def _check_matrix(matrix, classes):
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 1:
        raise ValueError(f"a confusion matrix must be square (C, C), got shape {matrix.shape}")
    if not np.issubdtype(matrix.dtype, np.number) or matrix.dtype == bool:
        raise TypeError(f"a confusion matrix must hold numbers, got {matrix.dtype}")
    if not np.isfinite(matrix).all() or (matrix < 0).any():
        raise ValueError("a confusion matrix must hold finite, non-negative counts")
    if len(classes) != len(matrix):
        raise ValueError(f"the matrix has {len(matrix)} rows but {len(classes)} class names")
    return matrix.astype(float)
