"""``gradwise predict MODEL IMAGE...``: the class scores of each image, top class first.

Each image (any size and format Pillow reads) is converted to the model's channels (RGB,
or grayscale for one-channel models) and resized to the model's input size with Pillow's
bilinear filter, then preprocessed exactly as the training images were. For each image the
lecture's table of class scores ``s = x W + b`` is printed with the softmax probabilities
``p_k = exp(s_k) / sum_j exp(s_j)``, highest score first.
"""

from pathlib import Path

import numpy as np

from ..errors import DataError


def register(subparsers):
    p = subparsers.add_parser(
        "predict",
        help="class scores and probabilities for image files",
        description="Print the class scores s = xW + b and softmax probabilities of a trained "
        "model for each image, top class first.",
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="model.npz or a run folder")
    p.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--top", type=int, default=None, metavar="K", help="show the K best classes")
    p.set_defaults(func=run)


def run(args):
    if args.top is not None and args.top < 1:
        raise ValueError(f"--top must be >= 1, got {args.top}")
    from ..data import printable
    from ..estimators import load as load_classifier
    from ..nn.functional import softmax

    clf = load_classifier(args.model)
    images = np.stack([read_image(path, clf.input_shape_) for path in args.images])
    scores = clf.decision_function(images)
    probabilities = softmax(scores)
    classes = [printable(c) for c in clf.classes_]  # names may hold control characters
    for path, s, p in zip(args.images, scores, probabilities, strict=True):
        order = np.argsort(-s, kind="stable")
        print(f"{path}: {classes[order[0]]} (p = {p[order[0]]:.4f})")
        width = max(len(c) for c in classes)
        print(f"  {'class':<{width}}  {'score':>9}  {'probability':>11}")
        for k in order[: args.top]:
            print(f"  {classes[k]:<{width}}  {s[k]:9.3f}  {p[k]:11.4f}")
    return 0


def read_image(path, input_shape):
    """``path`` as a uint8 ``input_shape`` (H, W, C) array: converted, resized, checked."""
    from PIL import Image, UnidentifiedImageError

    if len(input_shape) != 3 or input_shape[2] not in (1, 3):
        shape = "x".join(str(s) for s in input_shape)
        raise DataError(f"this model takes inputs of shape {shape}, not images")
    height, width, channels = input_shape
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such image file")
    try:
        with Image.open(path) as image:
            image = image.convert("RGB" if channels == 3 else "L")
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8)
    except Image.DecompressionBombError as err:  # Pillow's guard: refused before decoding
        raise DataError(f"{path}: {str(err).split(',')[0]}; not decoded") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"{path}: not an image Pillow can read ({reason})") from None
    return pixels.reshape(height, width, channels)
