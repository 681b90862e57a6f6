"""Make the pictures under docs/: optimizer races on each 2-D surface and CIFAR-10 templates.

    python tools/make_figures.py                       # everything, into docs/
    python tools/make_figures.py --only landscapes --gif runs/gifs
    python tools/make_figures.py --only templates --data ../shared/data/cifar10-jpeg.tar.gz

Landscapes: every surface of gradwise.surfaces with its default start, steps and learning
rates (gradwise.landscape.DEFAULTS), written as the still of the last frame,
docs/landscape-<surface>.png; with --gif the animations go to that folder too.

Templates: gradwise.estimators.SoftmaxClassifier (a linear softmax classifier on per-pixel
mean-subtracted pixels, from zero weights, L2 reg 1e-2, 10 epochs of minibatch SGD with
momentum) trained on real CIFAR-10 images (the packaged cifar10-sample by default; the
full JPEG copy with --data), saved as a model file and drawn by `gradwise templates` into
docs/templates-cifar10.png.

The landscape PNGs are stored with a 128-colour palette to keep them small (the templates
keep every colour: a palette would add false contours to their smooth gradients).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from gradwise import data, landscape, plot
from gradwise.cli import main as gradwise_main
from gradwise.estimators import SoftmaxClassifier
from gradwise.optim import registry
from gradwise.plot.race import palette_image
from gradwise.plot.style import OKABE_ITO


def make_landscapes(out, gif_dir=None):
    for name in landscape.surface_names():
        began = time.perf_counter()
        paths = landscape.race(surface=name)
        target = out / f"landscape-{name}.png"
        plot.animate(paths, name, target)
        shrink_png(target)
        message = f"{target} ({target.stat().st_size // 1024} KiB)"
        if gif_dir is not None:
            gif = Path(gif_dir) / f"{name}.gif"
            drawn = time.perf_counter()
            plot.animate(paths, name, gif, still=False)
            frames = Image.open(gif).n_frames
            message += f", {gif}: {frames} frames in {time.perf_counter() - drawn:.1f} s"
        print(f"{message}; {time.perf_counter() - began:.1f} s in all")


def make_templates(out, source, epochs, seed):
    began = time.perf_counter()
    ds = data.load(source)
    print(f"templates: {source}, {len(ds.X_train)} training images")
    # Zero initial weights: random ones leave static in the templates that a few thousand
    # steps never wash out (the objective is convex, so nothing is lost).
    classifier = SoftmaxClassifier(
        reg=1e-2, init="zeros", lr=5e-3, batch_size=200, epochs=epochs, seed=seed
    ).fit(ds.X_train, np.asarray(ds.classes)[ds.y_train], classes=list(ds.classes))
    test_labels = np.asarray(ds.classes)[ds.y_test]
    print(f"  test accuracy {classifier.score(ds.X_test, test_labels):.3f}")
    target = out / "templates-cifar10.png"
    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(tmp) / "linear-softmax.npz"
        classifier.save(model_path)
        code = gradwise_main(["templates", str(model_path), "--out", str(target)])
    if code != 0:
        raise SystemExit(code)
    print(f"{target} ({target.stat().st_size // 1024} KiB); {time.perf_counter() - began:.1f} s")


def shrink_png(path, colors=128):
    """Re-save a PNG with a palette of ``colors`` colours (a fraction of the size), keeping
    every optimizer colour exact."""
    optimizer_colors = {registry.spec(n).color for n in registry.names()} - {None}
    exact = {*optimizer_colors, *OKABE_ITO.values()}
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    palette = palette_image(rgb, sorted(exact), size=colors)
    rgb.quantize(palette=palette, dither=Image.Dither.NONE).save(path, optimize=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs", help="folder for the PNGs (default docs)")
    parser.add_argument("--only", choices=("landscapes", "templates"), default=None)
    parser.add_argument("--gif", default=None, help="also write the animations to this folder")
    parser.add_argument("--data", default="cifar10-sample", help="CIFAR-10 for the templates")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (templates)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "landscapes"):
        make_landscapes(out, args.gif)
    if args.only in (None, "templates"):
        make_templates(out, args.data, args.epochs, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
