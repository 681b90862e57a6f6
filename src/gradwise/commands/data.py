"""``gradwise data info|show``: what a dataset holds, and a picture of it.

gradwise data info NAME_OR_PATH     counts per class and split, input size, cache location
gradwise data show NAME_OR_PATH --out grid.png
                                    a grid of sample images, one row per class, labelled
                                    (a scatter plot for the 2-D synthetic sets)
"""

from pathlib import Path

from ..data import DATASETS, load, printable
from ._files import add_overwrite_argument, check_targets


def register(subparsers):
    parser = subparsers.add_parser(
        "data",
        help="inspect datasets (counts, cache, sample images)",
        description="Inspect a dataset: " + "; ".join(f"{k}: {v}" for k, v in DATASETS.items()),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    info = actions.add_parser("info", help="counts per class and split, image size, cache")
    _common_arguments(info)
    info.set_defaults(func=run_info)

    show = actions.add_parser("show", help="write a grid of sample images with class names")
    _common_arguments(show)
    show.add_argument("--out", required=True, type=Path, help="PNG file to write")
    show.add_argument("--split", choices=("train", "test"), default="train")
    show.add_argument("--per-class", type=int, default=8, help="images per class (default 8)")
    show.add_argument("--seed", type=int, default=0, help="which images are drawn")
    add_overwrite_argument(show)
    show.set_defaults(func=run_show)


def _common_arguments(parser):
    parser.add_argument(
        "dataset", metavar="NAME_OR_PATH", help=f"one of {', '.join(DATASETS)}, or a path"
    )
    parser.add_argument(
        "--size", type=int, nargs="+", metavar="N", help="resize image folders: S or H W"
    )
    parser.add_argument("--download", action="store_true", help="download CIFAR-10 if absent")
    parser.add_argument("--no-cache", action="store_true", help="decode without the cache")


def _load(args):
    size = None
    if args.size:
        if len(args.size) > 2:
            raise ValueError("--size takes one number (S) or two (H W)")
        size = args.size[0] if len(args.size) == 1 else tuple(args.size)
    return load(args.dataset, size=size, download=args.download, cache=not args.no_cache)


def run_info(args):
    ds = _load(args)
    print(describe(ds))
    return 0


def describe(ds) -> str:
    """The text of ``gradwise data info``."""
    shape = "x".join(str(s) for s in ds.input_shape)
    kind = "images" if ds.is_image else "features"
    cache = str(ds.cache_path) if ds.cache_path else "not cached (built in memory)"
    train, test = ds.class_counts("train"), ds.class_counts("test")
    names = [printable(c) for c in ds.classes]  # folder names may hold control characters
    width = max(len("class"), *(len(c) for c in names))
    lines = [
        f"dataset:  {ds.name}",
        f"source:   {ds.source}",
        f"inputs:   {shape} {ds.X_train.dtype} {kind}",
        f"classes:  {ds.num_classes}",
        f"cache:    {cache}",
        "",
        f"{'class':<{width}}  {'train':>7}  {'test':>7}",
    ]
    for name, n_train, n_test in zip(names, train, test, strict=True):
        lines.append(f"{name:<{width}}  {n_train:>7}  {n_test:>7}")
    lines.append(f"{'total':<{width}}  {train.sum():>7}  {test.sum():>7}")
    return "\n".join(lines)


def run_show(args):
    check_targets([args.out], args.overwrite)
    if args.per_class < 1:
        raise ValueError(f"--per-class must be >= 1, got {args.per_class}")
    ds = _load(args)
    X = ds.X_train if args.split == "train" else ds.X_test
    y = ds.y_train if args.split == "train" else ds.y_test
    import numpy as np

    largest = int(np.bincount(np.asarray(y, dtype=np.int64)).max()) if len(y) else 0
    if args.per_class > largest:
        raise ValueError(
            f"--per-class {args.per_class} is more than the largest class holds "
            f"({largest} images in the {args.split} split of {ds.name})"
        )
    from ..plot.samples import sample_picture  # matplotlib: only when drawing

    title = f"{ds.name} ({args.split})"
    sample_picture(X, y, ds.classes, args.out, title=title, per_class=args.per_class,
                   seed=args.seed, is_image=ds.is_image)  # fmt: skip
    print(f"wrote {args.out}")
    return 0
