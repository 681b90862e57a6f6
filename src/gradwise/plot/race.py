"""Drawing a race of optimizers on a 2-D surface: an animated GIF and a still PNG.

The numbers come from :mod:`gradwise.landscape` (``Trajectory``: positions and values per
step); this module only draws them. Every path has its optimizer's colour
(:func:`gradwise.plot.color_of`), a moving head, and a legend entry with its learning rate,
over the surface's contours (or, with ``view="3d"``, the surface in perspective).

Speed: the background (surface, minima, legend) is drawn once; each frame restores it and
draws only the paths, heads and step counter (Agg blitting), is quantised at once to one
shared palette, and Pillow writes the GIF storing each frame as the rectangle that changed.
A few hundred frames take a few seconds.
"""

from pathlib import Path

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, LogNorm
from PIL import Image

from ..landscape.trajectories import defaults_for, make_surface
from ..storage.atomic import write_file
from .style import colors_for, new_figure

#: The surfaces' background: white at the bottom to light grey at the top, so that every
#: optimizer colour (black included) stands out and the picture survives greyscale print.
RELIEF = LinearSegmentedColormap.from_list("gradwise_relief", ["#ffffff", "#8c8c8c"])

#: Colours in an animation's palette: plenty for the grey background and the paths, and
#: fewer than 256 keeps the per-frame colour lookup fast.
GIF_COLORS = 128

#: How a race is drawn: contour lines seen from above, or the surface in perspective.
VIEWS = ("contour", "3d")

#: Frames of an animation when not told: one per step, up to this many.
MAX_DEFAULT_FRAMES = 300


def animate(trajectories, surface, path, frames=None, view="contour", fps=20, dpi=80, still=True):
    """Draw a race (``{name: Trajectory}``, as :func:`gradwise.landscape.race` returns) on
    ``surface``: a GIF (``path`` ending in ``.gif``, with the last frame as a PNG beside it unless
    ``still=False``) or only that PNG (``path`` ending in ``.png``). The surface's defaults
    (:func:`gradwise.landscape.defaults_for`) give the contour spacing and camera; see
    :func:`animate_race`; returns the paths written."""
    surface = make_surface(surface)
    return animate_race(
        trajectories,
        surface,
        path,
        frames=frames,
        view=view,
        fps=fps,
        dpi=dpi,
        still=still,
        log_levels=defaults_for(surface).log_levels,
        camera=defaults_for(surface).camera,
    )


def animate_race(
    trajectories,
    surface,
    path,
    frames=None,
    view="contour",
    fps=20,
    dpi=80,
    still=True,
    log_levels=False,
    camera=(40, -60),
):
    """Draw the race of ``trajectories`` (``{name: Trajectory}``) on ``surface``.

    ``path`` ending in ``.gif`` writes the animation (``frames`` frames, default one per
    step up to 300, ``fps`` frames a second, the last held 1.5 s) and, with ``still=True``,
    the last frame as a PNG beside it (same name, ``.png``); ``path`` ending in ``.png``
    writes only that still. ``view`` is ``"contour"`` (top view) or ``"3d"`` (the surface
    in perspective). ``log_levels`` spaces the contours logarithmically (and the 3-D view
    shows ``log10(1 + f)``); ``camera`` is the 3-D view's (elevation, azimuth) in degrees.
    Returns the list of paths written.
    """
    if not trajectories:
        raise ValueError("nothing to draw: trajectories is empty")
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    if isinstance(fps, bool) or not isinstance(fps, int | np.integer) or fps < 1:
        raise ValueError(f"fps must be a positive integer, got {fps!r}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".png"):
        raise ValueError(f"write the race as .gif (animation) or .png (last frame), got {path}")
    longest = max(t.steps for t in trajectories.values())
    frames = min(longest + 1, MAX_DEFAULT_FRAMES) if frames is None else frames
    shown = frame_steps(longest, frames)
    scene = _Scene(trajectories, surface, view, dpi, log_levels, camera)
    if suffix == ".png":
        return [scene.save_still(path)]
    written = [_write_gif(scene, shown, path, fps)]
    if still:
        written.append(scene.save_still(path.with_suffix(".png")))
    return written


def frame_steps(steps, frames):
    """The step shown in each of ``frames`` frames of a path of ``steps`` steps: evenly
    spaced from 0 to ``steps`` (every step when ``frames > steps``)."""
    if isinstance(frames, bool) or not isinstance(frames, int | np.integer) or frames < 1:
        raise ValueError(f"frames must be a positive integer, got {frames!r}")
    frames = min(int(frames), steps + 1)
    if frames < 2:
        return np.array([steps])
    return np.unique(np.rint(np.linspace(0, steps, frames)).astype(int))


class _Scene:
    """One figure: the surface and legend drawn once, and the artists each frame moves."""

    def __init__(self, trajectories, surface, view, dpi, log_levels, camera=(40, -60)):
        self.trajectories, self.surface, self.view = trajectories, surface, view
        self.log, self.camera = log_levels, camera
        self.fig = new_figure(7.6, 5.0, dpi=dpi)
        self.fig.set_layout_engine(None)  # a fixed layout: every frame has the same geometry
        if view == "3d":
            self.ax = self.fig.add_axes((0.0, 0.02, 0.72, 0.92), projection="3d")
            # Paths stay in front of the translucent surface, in the still as in the GIF.
            self.ax.computed_zorder = False
            self._draw_surface_3d()
        else:
            self.ax = self.fig.add_axes((0.1, 0.1, 0.62, 0.82))
            self._draw_contours()
        self.paths, self.heads = {}, {}
        self.colors = colors = colors_for(trajectories)
        # Earlier paths are drawn wider, so a path that another one covers still shows.
        widths = np.linspace(3.4, 1.5, len(trajectories)) if len(trajectories) > 1 else [2.0]
        for (name, t), width in zip(trajectories.items(), widths, strict=True):
            self.paths[name], self.heads[name] = self._path_artists(name, t, colors[name], width)
        self.ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            fontsize=8,
            frameon=False,
        )
        self.counter = self.fig.text(0.745, 0.1, "", fontsize=9, animated=True)
        self._background = None
        self._clipped = {}

    # -- the parts drawn once --

    def _grid(self, resolution):
        (x0, x1), (y0, y1) = self.surface.window
        gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
        return gx, gy, np.asarray(self.surface.value(gx, gy), dtype=float)

    def _levels(self, z, count=30):
        if self.log:
            # From the 1st percentile up: levels all the way down to the minimum's 0 would
            # crowd into a few rings around it.
            low = max(np.percentile(z, 1.0), 1e-9)
            return np.logspace(np.log10(low), np.log10(z.max()), count)
        return np.linspace(z.min(), z.max(), count)

    def _draw_contours(self):
        gx, gy, z = self._grid(200)
        levels = self._levels(z)
        norm = LogNorm(levels[0], levels[-1]) if self.log else None
        self.ax.contourf(gx, gy, z, levels=levels, cmap=RELIEF, norm=norm, extend="both")
        self.ax.contour(gx, gy, z, levels=levels, colors="0.62", linewidths=0.35)
        self._mark_special_points()
        (x0, x1), (y0, y1) = self.surface.window
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y0, y1)
        self.ax.set_xlabel("x")
        self.ax.set_ylabel("y")
        self.ax.set_title(_title(self.surface), fontsize=10)

    def _mark_special_points(self):
        for i, (mx, my) in enumerate(getattr(self.surface, "minima", ())):
            self.ax.plot(
                mx,
                my,
                "*",
                color="black",
                markersize=14,
                mfc="white",
                zorder=4,
                label="minimum" if i == 0 else None,
            )
        saddle = getattr(self.surface, "saddle_point", None)
        if saddle is not None:
            self.ax.plot(
                *saddle,
                "X",
                color="black",
                markersize=10,
                mfc="white",
                zorder=4,
                label="saddle point",
            )
        start = next(iter(self.trajectories.values())).positions[0]
        self.ax.plot(*start, "o", color="black", markersize=8, mfc="white", zorder=4, label="start")

    def _draw_surface_3d(self):
        gx, gy, z = self._grid(60)
        zs = self._z(z)
        span = zs.max() - zs.min()
        self.ax.plot_surface(
            gx,
            gy,
            zs,
            cmap=RELIEF,
            alpha=0.45,
            linewidth=0,
            antialiased=False,
            rcount=40,
            ccount=40,
        )
        self.ax.contour(
            gx, gy, zs, levels=15, colors="0.55", linewidths=0.4, offset=zs.min() - 0.05 * span
        )
        (x0, x1), (y0, y1) = self.surface.window
        for i, (mx, my) in enumerate(getattr(self.surface, "minima", ())):
            self.ax.plot(
                [mx],
                [my],
                [self._z(self.surface.value(mx, my))],
                "*",
                color="black",
                markersize=13,
                mfc="white",
                label="minimum" if i == 0 else None,
            )
        saddle = getattr(self.surface, "saddle_point", None)
        if saddle is not None:
            self.ax.plot(
                [saddle[0]],
                [saddle[1]],
                [self._z(self.surface.value(*saddle))],
                "X",
                color="black",
                markersize=10,
                mfc="white",
                zorder=3,
                label="saddle point",
            )
        first = next(iter(self.trajectories.values()))
        (sx, sy), start_value = first.positions[0], first.values[0]
        self.ax.plot(
            [sx],
            [sy],
            [self._z(start_value)],
            "o",
            color="black",
            markersize=8,
            mfc="white",
            zorder=3,
            label="start",
        )
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y0, y1)
        self.ax.set_zlim(zs.min() - 0.05 * span, zs.max())
        self.ax.set_xlabel("x")
        self.ax.set_ylabel("y")
        self.ax.set_zlabel("log10(1 + f)" if self.log else "f")
        self.ax.set_title(_title(self.surface), fontsize=10)
        self.ax.view_init(elev=self.camera[0], azim=self.camera[1])

    def _z(self, values):
        values = np.asarray(values, dtype=float)
        return np.log10(1 + np.maximum(values, 0)) if self.log else values

    def _path_artists(self, name, t, color, width):
        label = f"{name} (lr={t.lr:g})" if t.lr is not None else name
        if t.stopped and t.stopped.startswith("diverged"):
            label += ", diverged"
        empty = ([], [], []) if self.view == "3d" else ([], [])
        (path,) = self.ax.plot(
            *empty,
            "-",
            color=color,
            linewidth=width,
            label=label,
            animated=True,
            zorder=4,
            solid_capstyle="round",
            solid_joinstyle="round",
        )
        (head,) = self.ax.plot(
            *empty,
            "o",
            color=color,
            markersize=8,
            mec="black",
            mew=0.7,
            animated=True,
            zorder=5,
        )
        return path, head

    # -- frames --

    def _update(self, step):
        for name, t in self.trajectories.items():
            k = min(step, t.steps)
            xy = t.positions[: k + 1]
            if self.view == "3d":
                x, y, z = (a[: k + 1] for a in self._inside_window(name, t))
                self.paths[name].set_data_3d(x, y, z)
                self.heads[name].set_data_3d(x[-1:], y[-1:], z[-1:])
            else:
                self.paths[name].set_data(xy[:, 0], xy[:, 1])
                self.heads[name].set_data(xy[-1:, 0], xy[-1:, 1])
        self.counter.set_text(f"step {step}")

    def _inside_window(self, name, t):
        """``x, y, z`` of a path with the points outside the window set to NaN: 3-D axes do
        not clip, and a NaN breaks the line (a head outside is not drawn)."""
        cached = self._clipped.get(name)
        if cached is None:
            (x0, x1), (y0, y1) = self.surface.window
            x, y = t.positions[:, 0].copy(), t.positions[:, 1].copy()
            z = self._z(t.values)
            outside = (x < x0) | (x > x1) | (y < y0) | (y > y1)
            x[outside] = y[outside] = z[outside] = np.nan
            cached = self._clipped[name] = (x, y, z)
        return cached

    def render(self, step):
        """The frame showing every path up to ``step``, as an RGB Pillow image.

        The background (surface, legend) is drawn once; each frame restores it and draws
        only the moving artists (Agg blitting). The 3-D view can do the same because its
        camera never moves: the projection computed by the first full draw stays valid.
        """
        canvas = self.fig.canvas
        self._update(step)
        if self._background is None:
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        canvas.restore_region(self._background)
        for artist in (*self.paths.values(), *self.heads.values()):
            self.ax.draw_artist(artist)
        self.fig.draw_artist(self.counter)
        size = canvas.get_width_height()
        return Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert(
            "RGB"
        )

    def save_still(self, path):
        """The last frame as a PNG (every artist drawn, not only the moving ones)."""
        self._update(max(t.steps for t in self.trajectories.values()))
        for artist in (*self.paths.values(), *self.heads.values(), self.counter):
            artist.set_animated(False)
        return write_file(
            path, lambda handle: self.fig.savefig(handle, format="png", dpi=100), make_parents=True
        )


def _title(surface):
    minima = getattr(surface, "minima", ())
    if len(minima) == 1:
        mx, my = minima[0]
        return f"{surface.name}: minimum at ({mx:g}, {my:g})"
    if minima:
        return f"{surface.name}: {len(minima)} minima"
    return f"{surface.name}: no minimum"


def _write_gif(scene, shown, path, fps):
    """Render the frames showing steps ``shown``, quantise each to one palette at once, and
    let Pillow write the animation.

    The palette holds the exact path colours (so no optimizer changes colour) plus the last
    frame's most common colours (median cut: the background greys). One palette for every
    frame is fast and does not flicker, and it lets Pillow store each frame as the rectangle
    that changed since the previous one.
    """
    palette = palette_image(scene.render(shown[-1]), scene.colors.values())
    frames = [
        scene.render(step).quantize(palette=palette, dither=Image.Dither.NONE) for step in shown
    ]
    duration = max(20, round(1000 / fps))
    # Hold the last frame so the result can be seen before the loop restarts.
    durations = [duration] * (len(frames) - 1) + [max(duration, 1500)]

    def write(handle):
        frames[0].save(
            handle,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=0,
        )

    return write_file(path, write, make_parents=True)


def palette_image(image, exact_colors, size=GIF_COLORS, greys=64):
    """A ``P``-mode image whose palette has ``size`` colours: every colour in
    ``exact_colors`` (``"#RRGGBB"``) exactly and blended half-way with white and with grey,
    ``greys`` evenly spaced greys from black to white, and for the rest the median cut of
    ``image``'s colours.

    Quantising to it keeps an optimizer's colour exact however little of the picture it
    covers, and the grey background grey (a plain median cut would merge a thin path into
    a nearby colour, and tint the background with the blends along the paths).
    """
    ramp = [(v, v, v) for v in np.linspace(0, 255, greys).round().astype(int).tolist()]
    exact = [_rgb(c) for c in exact_colors]
    # Half-way blends with white and with the background's mid grey: the anti-aliased edges
    # of a thin line, which would otherwise snap to some other colour's blend.
    edges = [tuple((np.add(c, b) // 2).tolist()) for c in exact for b in ((255,) * 3, (190,) * 3)]
    fixed = list(dict.fromkeys(exact + edges + ramp))
    if len(fixed) >= size:
        raise ValueError(f"a palette of {size} colours cannot hold {len(fixed)} fixed ones")
    background = image.quantize(colors=size - len(fixed), method=Image.Quantize.MEDIANCUT)
    entries = background.getpalette()[: 3 * (size - len(fixed))]
    palette = Image.new("P", (1, 1))
    palette.putpalette([v for rgb in fixed for v in rgb] + entries)
    return palette


def _rgb(hex_color):
    return tuple(int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
