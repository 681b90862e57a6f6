"""A dataset at a glance: a grid of sample images per class, or a scatter plot of the
first two features for point sets."""

import numpy as np

from .style import new_figure, save_figure

MAX_ROWS = 20


def image_grid(X, y, classes, *, per_class=8, seed=0):
    """A matplotlib Figure: one row per class (at most ``MAX_ROWS``), ``per_class`` columns."""
    rng = np.random.default_rng(seed)
    rows = list(range(min(len(classes), MAX_ROWS)))
    # The tight grid is laid out by hand (subplots_adjust below).
    figure = new_figure(1.0 + 0.9 * per_class, 0.3 + 0.9 * len(rows), layout=None)
    axes = figure.subplots(len(rows), per_class, squeeze=False)
    for row in rows:
        members = np.flatnonzero(y == row)
        picked = np.sort(rng.choice(members, size=min(per_class, len(members)), replace=False))
        for col in range(per_class):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if col < len(picked):
                _imshow(ax, np.asarray(X[picked[col]]))
        axes[row, 0].set_ylabel(classes[row], rotation=0, ha="right", va="center", fontsize=9)
    figure.subplots_adjust(left=0.14, right=0.99, bottom=0.01, top=0.93, wspace=0.05, hspace=0.05)
    return figure


def _imshow(ax, image):
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")


def scatter(X, y, classes):
    """A matplotlib Figure with the first two features, coloured by class."""
    figure = new_figure(5.5, 5)
    ax = figure.subplots()
    for index, name in enumerate(classes):
        points = X[y == index]
        ax.scatter(points[:, 0], points[:, 1], s=8, label=name)
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="best", fontsize=8)
    return figure


def sample_picture(X, y, classes, path, *, title="", per_class=8, seed=0, is_image=True):
    """Draw :func:`image_grid` (images) or :func:`scatter` (points) to ``path``."""
    figure = (
        image_grid(X, y, classes, per_class=per_class, seed=seed)
        if is_image
        else scatter(X, y, classes)
    )
    figure.suptitle(title)
    return save_figure(figure, path)
