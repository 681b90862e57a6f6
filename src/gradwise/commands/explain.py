"""``gradwise explain MODEL IMAGE``: the lecture's worked example, for one of your images.

scores ``s = x W + b`` -> ``exp(s)`` (unnormalised probabilities) -> normalise ->
probabilities ``p`` -> ``L_i = -ln p_label``, then the multiclass SVM loss of the same scores,
``L_i = sum_{j != label} max(0, s_j - s_label + margin)``.

The log is the natural log (what the softmax loss and its gradient use). The lecture's slide
writes ``L_i = -log(0.13) = 0.89``, which is the base-10 log; the natural log gives 2.04. Both
are printed. When a score is so large that ``exp(s)`` would overflow, every score is shifted by
the largest one first (``exp(s - max s)``, which changes nothing after normalising).
"""

import math
from pathlib import Path

import numpy as np

from ..data import printable
from ..nn.functional import softmax
from .predict import read_image

# exp(709) is the largest float64 exponential; shift scores beyond a comfortable margin.
EXP_LIMIT = 700.0


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
    check_margin("--margin", args.margin)
    from ..estimators import load as load_classifier

    clf = load_classifier(args.model)
    classes = [str(c) for c in clf.classes_]
    if args.label is not None and args.label not in classes:
        raise ValueError(f"--label {args.label!r} is not a class; classes: {', '.join(classes)}")
    pixels = read_image(args.image, clf.input_shape_)
    scores = clf.decision_function(pixels[None])[0]
    predicted = classes[int(np.argmax(scores))]
    label = args.label or predicted
    print(f"image {args.image} -> {'x'.join(str(s) for s in clf.input_shape_)} pixels")
    shown = [printable(c) for c in classes]  # names may hold control characters
    print(explain(scores, shown, shown[classes.index(label)], margin=args.margin,
                  label_given=args.label is not None))  # fmt: skip
    return 0


def check_margin(name, margin):
    """The SVM margin must be a finite number >= 0 (NaN would print every loss as 0)."""
    if not 0 <= margin < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {margin}")
    return margin


def explain(scores, classes, label, *, margin=1.0, label_given=True):
    """The worked example as text: softmax steps, loss in both logs, SVM margins."""
    check_margin("margin", margin)
    scores = np.asarray(scores, dtype=np.float64)
    y = classes.index(label)
    shift = float(scores.max()) if scores.max() > EXP_LIMIT else 0.0
    unnormalised = np.exp(scores - shift)  # shown as the lecture's exp column
    p = softmax(scores)
    width = max(8, max(len(c) for c in classes))
    exp_head = "exp(s)" if shift == 0 else f"exp(s-{shift:.4g})"
    lines = [
        "",
        "softmax classifier: scores s = x W + b (unnormalised log probabilities)",
        f"  {'class':<{width}}  {'s':>10}  {exp_head:>14}  {'p = exp/sum':>12}",
    ]
    for k, c in enumerate(classes):
        mark = "  <- label" if k == y else ""
        lines.append(
            f"  {c:<{width}}  {scores[k]:10.4f}  {unnormalised[k]:14.6g}  {p[k]:12.4f}{mark}"
        )
    lines.append(f"  {'sum':<{width}}  {'':>10}  {unnormalised.sum():14.6g}  {p.sum():12.4f}")
    # -ln p computed from the scores (log-sum-exp), exact even when p underflows to 0.
    log_sum = shift + math.log(unnormalised.sum())
    loss = log_sum - scores[y]
    how = "given" if label_given else "predicted: pass --label CLASS for the true one"
    lines += [
        "",
        f"label: {label} ({how}); p_{label} = {p[y]:.4g}",
        f"  L_i = -ln p_{label} = {loss:.4f}   (natural log, what training minimises)",
        f"  -log10 p_{label} = {loss / math.log(10):.4f}   (base 10: the lecture's "
        "'-log(0.13) = 0.89' is this; -ln 0.13 = 2.04)",
        "",
        f"multiclass SVM loss of the same scores (margin {margin:g}):",
        f"  {'class':<{width}}  {'s_j - s_y + margin':>18}  {'max(0, .)':>10}",
    ]
    total = 0.0
    for k, c in enumerate(classes):
        if k == y:
            continue
        value = scores[k] - scores[y] + margin
        total += max(0.0, value)
        lines.append(f"  {c:<{width}}  {value:18.4f}  {max(0.0, value):10.4f}")
    lines.append(f"  L_i = sum = {total:.4f}")
    return "\n".join(lines)
