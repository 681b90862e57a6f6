"""``gradwise landscape``: optimizers racing on a 2-D surface, as a GIF and a still PNG."""

import math
import time
from pathlib import Path

from .. import landscape
from ._files import add_overwrite_argument, check_targets

EXAMPLE = (
    "example: gradwise landscape --surface beale "
    "--optimizers sgd,momentum,nesterov,adagrad,rmsprop,adam --out beale.gif\n"
    "a start with a negative x needs '=': --start=-1.2,1"
)


def register(subparsers):
    p = subparsers.add_parser(
        "landscape",
        help="animate optimizers racing on a 2-D test surface (GIF + PNG)",
        description="Run each optimizer from the same start on a 2-D surface with known "
        "minima and draw their paths over its contours: an animated GIF (with the last "
        "frame as a PNG beside it), or only the PNG when --out ends in .png. Each surface "
        "has a default start, number of steps and learning rate per optimizer.",
        epilog=EXAMPLE,
    )
    p.add_argument(
        "--surface",
        default="beale",
        help=f"one of {', '.join(landscape.surface_names())} (default beale)",
    )
    p.add_argument(
        "--optimizers",
        default=None,
        help="comma-separated optimizer names (default "
        f"{','.join(landscape.default_optimizers())})",
    )
    p.add_argument("--out", required=True, help="output file: NAME.gif (and NAME.png) or NAME.png")
    p.add_argument("--steps", type=int, default=None, help="optimizer steps (surface default)")
    p.add_argument(
        "--frames", type=int, default=None, help="GIF frames (default one per step, at most 300)"
    )
    p.add_argument("--start", default=None, help="start point x,y inside the plotted window")
    p.add_argument(
        "--lr",
        default=None,
        help="learning rates: one number for all, or name=value pairs (adam=0.05,sgd=0.01)",
    )
    p.add_argument(
        "--view", default="contour", help="contour (top view) or 3d (perspective; default contour)"
    )
    p.add_argument("--fps", type=int, default=20, help="GIF frames per second (default 20)")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def run(args):
    surface = landscape.make_surface(args.surface)
    names = landscape.parse_optimizers(args.optimizers or landscape.default_optimizers())
    start = parse_start(args.start) if args.start is not None else None
    if start is not None:
        landscape.check_start(surface, start)
    if args.fps < 1:
        raise ValueError(f"--fps must be >= 1, got {args.fps}")
    if args.frames is not None and args.frames < 1:
        raise ValueError(f"--frames must be >= 1, got {args.frames}")
    if not args.out.lower().endswith((".gif", ".png")):
        raise ValueError(f"--out must end in .gif (animation and still) or .png, got {args.out}")
    lrs = parse_lrs(args.lr, names)
    targets = [Path(args.out)]
    if args.out.lower().endswith(".gif"):
        targets.append(Path(args.out).with_suffix(".png"))  # the still beside the animation
    check_targets(targets, args.overwrite)
    began = time.perf_counter()
    trajectories = landscape.race(names, surface, start=start, steps=args.steps, lrs=lrs)
    traced = time.perf_counter()
    from ..plot import animate  # matplotlib: only when drawing

    written = animate(
        trajectories, surface, args.out, frames=args.frames, view=args.view, fps=args.fps
    )
    drawn = time.perf_counter()
    print_summary(trajectories, surface)
    for path in written:
        print(f"wrote {path}")
    print(f"traced in {traced - began:.2f} s, drawn in {drawn - traced:.2f} s")
    return 0


def parse_start(text):
    """``"x,y"`` -> ``(x, y)`` floats, else ValueError."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"--start must be two numbers x,y (like 1,1.5), got {text!r}") from None


def parse_lrs(text, names):
    """``"0.01"`` (every optimizer) or ``"adam=0.05,sgd=0.01"`` -> ``{name: lr}``."""
    if text is None:
        return {}
    if "=" not in text:
        return dict.fromkeys(names, _number(text))
    lrs = {}
    for pair in text.split(","):
        name, _, value = pair.partition("=")
        name = name.strip().lower()
        if name not in names:
            raise ValueError(f"--lr names {name!r}, which is not racing ({', '.join(names)})")
        lrs[name] = _number(value)
    return lrs


def _number(text):
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--lr values must be numbers, got {text!r}") from None


def print_summary(trajectories, surface):
    print(f"{surface.name}: start {tuple(round(float(v), 4) for v in _start(trajectories))}")
    print(f"{'optimizer':<10} {'lr':>8} {'steps':>6} {'x':>10} {'y':>10} {'f':>11} {'to min':>9}")
    for name, t in trajectories.items():
        x, y = t.positions[-1]
        lr = f"{t.lr:g}" if t.lr is not None else "-"
        gap = surface.distance_to_minimum(t.positions[-1])
        gap = f"{gap:.3g}" if math.isfinite(gap) else "-"  # the saddle has no minimum
        note = f"  ({t.stopped})" if t.stopped else ""
        print(
            f"{name:<10} {lr:>8} {t.steps:>6} {x:>10.4g} {y:>10.4g} {t.values[-1]:>11.4g} "
            f"{gap:>9}{note}"
        )


def _start(trajectories):
    return next(iter(trajectories.values())).positions[0]
