"""``gradwise explain MODEL IMAGE``: the lecture's worked example, for one of your images.

The steps and both losses are :class:`gradwise.nn.Explanation`'s (``explain_scores``); this
command reads the model and the image and prints it.
"""

from pathlib import Path

from ..data import printable
from ..nn.explanation import explain_scores
from ..nn.loss import check_margin
from .predict import read_image


def register(subparsers):
    p = subparsers.add_parser(
        "explain",
        help="scores -> exp -> normalise -> probabilities -> loss, for one image",
        description="Walk through the softmax and SVM losses of a trained model on one image, "
        "as the lecture's worked example does.",
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="model.npz or a run folder")
    p.add_argument("image", type=Path, metavar="IMAGE", help="an image file")
    p.add_argument("--label", help="the true class (default: the predicted class)")
    p.add_argument("--margin", type=float, default=1.0, help="SVM margin (default 1)")
    p.set_defaults(func=run)


def run(args):
    check_margin(args.margin, "--margin")
    from ..estimators import load as load_classifier

    clf = load_classifier(args.model)
    classes = [str(c) for c in clf.classes_]
    if args.label is not None and args.label not in classes:
        raise ValueError(f"--label {args.label!r} is not a class; classes: {', '.join(classes)}")
    pixels = read_image(args.image, clf.input_shape_)
    scores = clf.decision_function(pixels[None])[0]
    print(f"image {args.image} -> {'x'.join(str(s) for s in clf.input_shape_)} pixels")
    shown = [printable(c) for c in classes]  # names may hold control characters
    given = None if args.label is None else shown[classes.index(args.label)]
    print(explain_scores(scores, shown, given, margin=args.margin))
    return 0
