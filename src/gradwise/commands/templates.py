"""``gradwise templates MODEL``: a linear classifier's class templates as one picture."""

import math
from pathlib import Path

from ._files import add_overwrite_argument, check_targets


def register(subparsers):
    p = subparsers.add_parser(
        "templates",
        help="draw the class templates (weight columns) of a linear model",
        description="Show each class's column of a linear classifier's weights as an image "
        "of the input's shape, rescaled to 0..255, in a labelled grid. A model with hidden "
        "layers has no such templates and is refused.",
    )
    p.add_argument(
        "model",
        metavar="MODEL",
        help="a model file written by `gradwise train` (or its run folder) or classifier.save",
    )
    p.add_argument("--out", required=True, help="the picture to write (.png, .svg, .pdf, .jpg)")
    p.add_argument(
        "--image-shape",
        default=None,
        help="HxWxC of one input image (default: from the model file, else 32x32x3 for "
        "3072 inputs or a square RGB/grey image)",
    )
    p.add_argument("--columns", type=int, default=None, help="templates per row (default 10)")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def run(args):
    from ..plot import class_templates, linear_weight  # matplotlib: only when drawing

    model_path = Path(args.model)
    model_file = model_path / "model.npz" if model_path.is_dir() else model_path
    check_targets([args.out], args.overwrite, inputs=[model_file])
    model, classes, input_shape = load_linear_model(args.model)
    weight = linear_weight(model)
    if args.image_shape is not None:
        shape = parse_shape(args.image_shape)
    else:
        shape = input_shape if _is_image_shape(input_shape) else infer_shape(weight.shape[0])
    path = class_templates(weight, classes, args.out, image_shape=shape, columns=args.columns)
    print(f"{len(classes)} templates of shape {'x'.join(map(str, shape))} -> {path}")
    return 0


def load_linear_model(path):
    """``(model, class names, input_shape)`` of the classifier saved at ``path`` (a model
    file, or the run folder of ``gradwise train``)."""
    from ..estimators import load

    classifier = load(path)
    classes = [str(c) for c in classifier.classes_]
    return classifier.model, classes, getattr(classifier, "input_shape_", None)


def parse_shape(text):
    """``"32x32x3"`` -> ``(32, 32, 3)``, else ValueError."""
    try:
        shape = tuple(int(s) for s in text.lower().split("x"))
    except ValueError:
        shape = ()
    if not _is_image_shape(shape):
        raise ValueError(f"--image-shape must be HxWxC with C 1 or 3 (like 32x32x3), got {text!r}")
    return shape


def infer_shape(rows):
    """The image shape of a weight with ``rows`` rows (one extra row: the bias trick)."""
    for values in (rows, rows - 1):
        for channels in (3, 1):
            side = math.isqrt(values // channels) if values > 0 else 0
            if side > 0 and side * side * channels == values:
                return (side, side, channels)
    raise ValueError(
        f"cannot tell the image shape of a model with {rows} inputs: pass --image-shape HxWxC"
    )


def _is_image_shape(shape):
    return shape is not None and len(shape) == 3 and shape[-1] in (1, 3) and min(shape) >= 1
