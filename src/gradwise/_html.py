"""The pieces gradwise objects show themselves in Jupyter with (their ``_repr_html_``).

Jupyter calls ``obj._repr_html_()`` and shows the string it returns: no IPython import is
needed, here or anywhere in gradwise. Every piece escapes what it is given (class names come
from folder names, run labels from the command line), so a caller passes plain text and
gets safe HTML. Charts are small inline SVG drawn here, without matplotlib, so that objects
of the low layers (a training history, a gradient check) can draw their own; pictures that
already exist as image bytes (a grid of thumbnails, an animation) are embedded as base64.
"""

import base64
import html
import math
import numbers

#: The colours of chart series that have none of their own (Okabe-Ito, colour-blind safe).
SERIES_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

_STYLE = "font-family:sans-serif;font-size:12px"
_CELL = "padding:2px 8px;border:1px solid #ddd"


def escape(value):
    """``value`` as text safe inside an element or an attribute (``<``, ``&``, quotes)."""
    return html.escape(str(value), quote=True)


class Raw(str):
    """HTML that a caller built from escaped pieces: :func:`table` puts it in as it is."""


def _cell(value):
    return value if isinstance(value, Raw) else escape(value)


def table(header, rows, *, caption=None, right=()):
    """A ``<table>``: ``header`` (a list of column names), ``rows`` (lists of cells, each
    plain text, escaped here, or :class:`Raw`); columns whose index is in ``right`` are
    right-aligned (numbers)."""

    def align(k):
        return ";text-align:right" if k in right else ";text-align:left"

    head = "".join(f'<th style="{_CELL}{align(k)}">{_cell(h)}</th>' for k, h in enumerate(header))
    body = "".join(
        "<tr>"
        + "".join(f'<td style="{_CELL}{align(k)}">{_cell(c)}</td>' for k, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    title = f"<caption style='text-align:left'>{escape(caption)}</caption>" if caption else ""
    return Raw(
        f'<table style="border-collapse:collapse;{_STYLE}">{title}<tr>{head}</tr>{body}</table>'
    )


def image(data, mime, alt, width=None):
    """An ``<img>`` holding ``data`` (bytes of a ``mime`` image: PNG, JPEG, GIF) as base64."""
    size = f' width="{int(width)}"' if width else ""
    encoded = base64.b64encode(bytes(data)).decode("ascii")
    return Raw(
        f'<img src="data:{escape(mime)};base64,{encoded}" alt="{escape(alt)}"{size} '
        'style="image-rendering:pixelated">'
    )


def block(title, *parts):
    """A titled ``<div>`` of parts (each :class:`Raw` HTML, or text that is escaped)."""
    inner = "".join(_cell(p) for p in parts)
    return Raw(f'<div style="{_STYLE}"><b>{escape(title)}</b><br>{inner}</div>')


def text(value):
    """Preformatted text (a report's plain form) as HTML."""
    return Raw(f'<pre style="font-size:11px">{escape(value)}</pre>')


def line_chart(series, *, title="", xlabel="", ylabel="", width=360, height=220, colors=None):
    """An inline SVG line chart of ``series`` (``{label: (xs, ys)}``); a ``None`` or
    non-finite ``y`` breaks the line there. ``colors`` maps labels to colours (others get
    :data:`SERIES_COLORS` in turn). The axes are labelled with their ranges."""
    colors = dict(colors or {})
    points = [
        (x, y)
        for xs, ys in series.values()
        for x, y in zip(xs, ys, strict=True)
        if _finite(x) and _finite(y)
    ]
    left, right, top, bottom = 56, 10, 20, 32
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="{_STYLE}">',
        f'<text x="{width / 2:.0f}" y="13" text-anchor="middle">{escape(title)}</text>',
    ]
    if points:
        x0, x1 = _span(p[0] for p in points)
        y0, y1 = _span(p[1] for p in points)
        plot_w, plot_h = width - left - right, height - top - bottom

        def sx(x):
            return left + (x - x0) / (x1 - x0) * plot_w

        def sy(y):
            return top + (y1 - y) / (y1 - y0) * plot_h

        parts.append(
            f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
            'stroke="#999"/>'
        )
        for value, anchor_y in ((y1, top + 4), (y0, top + plot_h)):
            parts.append(
                f'<text x="{left - 4}" y="{anchor_y:.0f}" text-anchor="end">{value:.4g}</text>'
            )
        for value, anchor in ((x0, "start"), (x1, "end")):
            parts.append(
                f'<text x="{sx(value):.1f}" y="{top + plot_h + 13}" text-anchor="{anchor}">'
                f"{value:.4g}</text>"
            )
        parts.append(
            f'<text x="{left + plot_w / 2:.0f}" y="{height - 4}" text-anchor="middle">'
            f"{escape(xlabel)}</text>"
        )
        parts.append(
            f'<text x="12" y="{top + plot_h / 2:.0f}" text-anchor="middle" '
            f'transform="rotate(-90 12 {top + plot_h / 2:.0f})">{escape(ylabel)}</text>'
        )
        spare = iter(SERIES_COLORS * (1 + len(series) // len(SERIES_COLORS)))
        for k, (label, (xs, ys)) in enumerate(series.items()):
            color = colors.get(label) or next(spare)
            for run in _runs(xs, ys):
                if len(run) == 1:  # a lone point: a dot, since a line needs two
                    ((x, y),) = run
                    parts.append(
                        f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2" fill="{escape(color)}"/>'
                    )
                    continue
                path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in run)
                parts.append(
                    f'<polyline points="{path}" fill="none" stroke="{escape(color)}" '
                    'stroke-width="1.5"/>'
                )
            parts.append(
                f'<text x="{left + 6}" y="{top + 14 + 13 * k}" fill="{escape(color)}">'
                f"{escape(label)}</text>"
            )
    else:
        parts.append(f'<text x="{left}" y="{height / 2:.0f}">no finite values to draw</text>')
    parts.append("</svg>")
    return Raw("".join(parts))


def _finite(value):
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    return real and math.isfinite(value)


def _span(values):
    values = list(values)
    low, high = min(values), max(values)
    if high == low:  # one value: a band around it
        pad = abs(low) * 0.05 or 1.0
        return low - pad, high + pad
    return low, high


def _runs(xs, ys):
    """The unbroken stretches of ``(x, y)`` between missing values."""
    run = []
    for x, y in zip(xs, ys, strict=True):
        if _finite(x) and _finite(y):
            run.append((x, y))
        elif run:
            yield run
            run = []
    if run:
        yield run
