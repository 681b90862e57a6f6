"""Class templates: the weights of a linear classifier, seen as images.

A linear classifier scores an image x with ``x @ W + b``. Column ``c`` of ``W`` has one
number per input pixel and channel, so it can be shown as an image of the input's shape:
the "template" that class ``c`` matches against. Trained on CIFAR-10, the car template is
a reddish car front and the horse template a horse with a head on each side, because one
template has to match every car and every horse in the training set.
"""

import math

import numpy as np

from .style import new_figure, save_figure

CIFAR10_SHAPE = (32, 32, 3)


def template_images(weight, image_shape=CIFAR10_SHAPE):
    """The class templates as ``uint8`` images of shape ``(classes, *image_shape)``.

    ``weight`` is ``(D, classes)``: one column per class, ``D = prod(image_shape)`` in the
    row-major order of the images (``(H, W, C)`` flattened). A ``weight`` with one extra row
    (the bias trick: a constant-1 feature appended) has that row dropped. Each template is
    rescaled on its own to span 0..255 (min -> 0, max -> 255), as the lecture's picture
    does; a constant template becomes mid-grey (128).
    """
    weight = np.asarray(weight)
    if weight.ndim != 2 or not np.issubdtype(weight.dtype, np.number):
        raise ValueError(
            f"weight must be a 2-D numeric array (D, classes), got shape {weight.shape}"
        )
    shape = _check_shape(image_shape)
    pixels = math.prod(shape)
    if weight.shape[0] == pixels + 1:
        weight = weight[:-1]
    if weight.shape[0] != pixels:
        raise ValueError(
            f"weight has {weight.shape[0]} rows, but images of shape {shape} have {pixels} "
            f"values (or {pixels + 1} with the bias trick); pass the right image_shape"
        )
    if not np.isfinite(weight).all():
        raise ValueError("weight contains NaN or infinite values")
    columns = weight.T.astype(np.float64)
    low = columns.min(axis=1, keepdims=True)
    span = columns.max(axis=1, keepdims=True) - low
    flat = np.full(columns.shape, 128.0)
    varies = span[:, 0] > 0
    flat[varies] = 255.0 * (columns[varies] - low[varies]) / span[varies]
    return np.rint(flat).astype(np.uint8).reshape(-1, *shape)


def class_templates(weight, classes, path, image_shape=CIFAR10_SHAPE, columns=None, dpi=100):
    """Draw every class template in a labelled grid and write it to ``path``.

    ``weight`` is a linear classifier's ``(D, classes)`` weight matrix (see
    :func:`template_images`), ``classes`` the class names in column order. ``columns``
    defaults to all classes in one row up to 10, then rows of 10 (CIFAR-10: one row).
    Returns the path written.
    """
    images = template_images(weight, image_shape)
    classes = [str(c) for c in classes]
    if len(classes) != len(images):
        raise ValueError(f"weight has {len(images)} class columns but {len(classes)} class names")
    columns = min(len(images), 10) if columns is None else int(columns)
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    rows = math.ceil(len(images) / columns)
    fig = new_figure(1.3 * columns, 1.5 * rows, dpi=dpi)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, image, name in zip(axes.flat, images, classes, strict=False):
        if image.shape[-1] == 1:
            ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        else:
            ax.imshow(image, interpolation="nearest")
        ax.set_title(name, fontsize=9)
    return save_figure(fig, path)


def _check_shape(image_shape):
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or shape[-1] not in (1, 3) or min(shape) < 1:
        raise ValueError(f"image_shape must be (height, width, 1 or 3), got {tuple(image_shape)}")
    return shape


def linear_weight(model):
    """The ``(D, classes)`` weight of a linear model, or ValueError if it is not linear.

    ``model`` is a :class:`gradwise.nn.Linear`, a ``Sequential`` holding exactly one
    ``Linear`` (and nothing else), or a classifier whose ``.model`` is one of those.
    A model with hidden layers has no per-class templates in input space.
    """
    from ..nn import Linear, Module, Sequential

    inner = getattr(model, "model", model) if not isinstance(model, Module) else model
    if isinstance(inner, Sequential) and len(inner) == 1:
        inner = inner[0]
    if isinstance(inner, Linear):
        return inner.weight
    if isinstance(inner, Sequential):
        layers = ", ".join(type(m).__name__ for m in inner.layers)
        raise ValueError(
            f"class templates need a linear model (one Linear layer), got Sequential({layers}): "
            "a model with hidden layers has no per-class template in image space"
        )
    raise ValueError(
        f"class templates need a linear model (one Linear layer), got {type(inner).__name__}"
    )
