"""The heat-map of a hyperparameter search: validation accuracy over two searched numbers."""

import numpy as np
from matplotlib.colors import Normalize

from .style import new_figure, save_figure


def heatmap(records, path, x="lr", y="reg", panel_names=()):
    """Validation accuracy over ``(x, y)`` in log-log axes, one panel per combination of
    the values of ``panel_names`` (the searched names: optimizer, schedule, augment) that
    vary between the trials.

    Each trial is a square coloured by its validation accuracy (failed trials: grey
    crosses); the best trial is ringed. Returns the path written, or ``None`` when the
    search did not vary both parameters.
    """
    points = [r for r in records if _positive(r["params"].get(x)) and _positive(r["params"].get(y))]
    if len({r["params"][x] for r in points}) < 2 or len({r["params"][y] for r in points}) < 2:
        return None
    names = _varying_names(points, panel_names)
    groups = sorted({_names(r["params"], names) for r in points})
    ok = [r for r in points if r["status"] == "ok"]
    scores = [r["val_score"] for r in ok]
    norm = Normalize(vmin=min(scores, default=0.0), vmax=max(scores, default=1.0))
    best = max(ok, key=lambda r: (r["val_score"], -r["trial"]), default=None)
    fig = new_figure(4.2 * len(groups) + 1.2, 4.0)
    axes = fig.subplots(1, len(groups), squeeze=False, sharex=True, sharey=True)[0]
    image = None
    for ax, group in zip(axes, groups, strict=True):
        mine = [r for r in points if _names(r["params"], names) == group]
        good = [r for r in mine if r["status"] == "ok"]
        bad = [r for r in mine if r["status"] != "ok"]
        image = ax.scatter(
            [r["params"][x] for r in good],
            [r["params"][y] for r in good],
            c=[r["val_score"] for r in good],
            cmap="viridis",
            norm=norm,
            marker="s",
            s=90,
        )
        if bad:
            ax.scatter(
                [r["params"][x] for r in bad],
                [r["params"][y] for r in bad],
                marker="x",
                color="0.5",
                label="failed",
            )
            ax.legend(loc="lower left", fontsize=8)
        if best is not None and best in good:
            ax.scatter(
                [best["params"][x]], [best["params"][y]], s=260, facecolors="none", edgecolors="r"
            )
        _log_axes(ax)
        ax.set_xlabel(f"{x} (log scale)")
        ax.set_title(group or "validation accuracy")
    axes[0].set_ylabel(f"{y} (log scale)")
    fig.colorbar(image, ax=list(axes), label="validation accuracy")
    return save_figure(fig, path)


def _log_axes(ax):
    """Log-log axes with ticks at 1, 2 and 5 of each decade, written plainly (0.02, 5e-05):
    the default labels every minor tick of a short range, and they overlap."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.set_minor_formatter(NullFormatter())


def _varying_names(records, names):
    """Those of ``names`` whose values differ between ``records``: one heat-map panel per
    combination of their values."""
    return [n for n in names if len({str(r["params"].get(n)) for r in records}) > 1]


def _names(params, names):
    """A panel title, e.g. ``optimizer=adam augment=flip``."""
    return " ".join(f"{name}={params[name]}" for name in names if name in params)


def _positive(value):
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and value > 0
        and np.isfinite(value)
    )
