"""Pictures held in memory for a notebook: an optimizer race that plays inline.

:func:`race_animation` draws the same GIF as :func:`gradwise.plot.animate` and keeps its
bytes; the :class:`Animation` shows itself in Jupyter as an ``<img>`` (a GIF plays there
without any player) and can be saved. Nothing here imports IPython.
"""

import tempfile
from pathlib import Path

from .._html import block, image
from .race import animate

#: Frames of an inline race unless asked: enough for the motion, few enough to keep the
#: notebook small (a 300-frame GIF is several MB).
INLINE_FRAMES = 90


class Animation:
    """A GIF in memory: ``gif`` (its bytes), ``title``; ``save(path)`` writes it; Jupyter
    shows it playing (``_repr_html_``)."""

    def __init__(self, gif, title):
        self.gif, self.title = bytes(gif), str(title)

    def save(self, path):
        path = Path(path)
        path.write_bytes(self.gif)
        return path

    def _repr_html_(self):
        return block(self.title, image(self.gif, "image/gif", alt=self.title))

    def __repr__(self):
        return f"Animation({self.title!r}, {len(self.gif):,} bytes of GIF)"


def race_animation(trajectories, surface, *, frames=INLINE_FRAMES, view="contour", fps=15,
                   dpi=64):  # fmt: skip
    """The race of ``trajectories`` (``{name: Trajectory}``, :func:`gradwise.landscape.race`)
    on ``surface`` as an :class:`Animation` (arguments as :func:`gradwise.plot.animate`)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "race.gif"
        animate(trajectories, surface, path, frames=frames, view=view, fps=fps, dpi=dpi,
                still=False)  # fmt: skip
        gif = path.read_bytes()
    names = ", ".join(trajectories)
    label = surface if isinstance(surface, str) else type(surface).__name__
    return Animation(gif, f"{names} on {label}")
