"""One look for every picture: a colour-blind-safe palette and a safe way to save figures.

The palette is Okabe & Ito's (2008), designed to stay distinguishable for the common forms
of colour blindness and in greyscale print. Each optimizer name has one colour everywhere
(training curves, landscapes, comparison plots), close to the colours of the classic
optimizer animations the lecture shows: SGD red, momentum green, Nesterov violet.

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas, never through
``pyplot``: nothing needs a screen, and no global figure state leaks between calls.
"""

import os
import zlib
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..optim.registry import spec
from ..storage.atomic import write_file

#: Okabe-Ito colours by their published names.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Colours for names without a fixed colour (runs called "baseline", "lr=0.1", ...).
#: Yellow comes last: it is hard to see on white.
FALLBACK_COLORS = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["orange"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["black"],
    OKABE_ITO["yellow"],
)

#: Line styles that separate curves in greyscale print as well.
LINE_STYLES = ("-", "--", "-.", ":")

#: The image formats the static pictures can be written as.
IMAGE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg")


def color_of(name):
    """The colour (``"#RRGGBB"``) of an optimizer or run name, the same in every picture.

    Known optimizer names (case-insensitive) have fixed colours; any other name gets a
    colour from :data:`FALLBACK_COLORS` chosen by a stable hash of the name, so it too is
    the same from one picture, process and machine to the next.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    fixed = optimizer_color(name)
    if fixed is not None:
        return fixed
    key = name.strip().lower()
    return FALLBACK_COLORS[zlib.crc32(key.encode()) % len(FALLBACK_COLORS)]


def colors_for(names):
    """One colour per name: fixed colours for known names, distinct ones for the rest.

    Names without a fixed colour take the fallback colours not used yet, in order, so a
    picture of several unknown runs never shows two runs in one colour (up to the number
    of colours available; after that they repeat).
    """
    names = list(names)
    colors = {n: optimizer_color(n) for n in names if optimizer_color(n) is not None}
    unused = [c for c in FALLBACK_COLORS if c not in colors.values()] or list(FALLBACK_COLORS)
    i = 0
    for n in names:
        if n not in colors:
            colors[n] = unused[i % len(unused)]
            i += 1
    return colors


def optimizer_color(name):
    """The colour an optimizer's registry entry gives ``name``, or ``None``."""
    if not isinstance(name, str):
        return None
    try:
        return spec(name).color
    except ValueError:
        return None


def new_figure(width, height, dpi=100, layout="constrained"):
    """A figure on the Agg canvas (no screen, no ``pyplot`` state); ``layout=None`` for a
    figure laid out by hand."""
    fig = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def check_image_path(path, suffixes=IMAGE_SUFFIXES):
    """``path`` as a :class:`Path` if its suffix is one of ``suffixes``, else ValueError."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or a path, got {type(path).__name__}")
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ValueError(
            f"cannot tell the image format of {str(path)!r}: "
            f"use one of the suffixes {', '.join(suffixes)}"
        )
    return path


def save_figure(fig, path, dpi=None):
    """Write ``fig`` to ``path`` (its format from the suffix) atomically; returns the path.

    The parent folder is created if missing.
    """
    path = check_image_path(path)
    fmt = path.suffix.lstrip(".").lower()
    return write_file(
        path, lambda handle: fig.savefig(handle, dpi=dpi or fig.dpi, format=fmt), make_parents=True
    )
