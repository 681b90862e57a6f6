"""Small pictures of a dataset for its Jupyter display: a strip of thumbnails per class.

What a notebook embeds must stay small whatever the size of the data: a few images per
class, each at most :data:`THUMBNAIL` pixels a side, encoded once (JPEG for colour, whose
photographs PNG compresses badly; PNG for grey, which is small and stays exact).
"""

import io

import numpy as np
from PIL import Image

#: The longest side of a thumbnail, in pixels (CIFAR-10's own size).
THUMBNAIL = 32

#: Thumbnails shown per class.
PER_CLASS = 8


def class_strips(images, labels, n_classes, per_class=PER_CLASS):
    """``[(bytes, mime) or None]`` per class: the first ``per_class`` images of the class
    side by side (``None`` for a class with no image). ``images`` are ``(N, H, W, C)``
    uint8."""
    strips = []
    for k in range(n_classes):
        rows = np.flatnonzero(labels == k)[:per_class]
        strips.append(encode(strip(images[rows])) if len(rows) else None)
    return strips


def strip(images):
    """The ``images`` (``(n, H, W, C)`` uint8) as one row of thumbnails with 1-pixel gaps."""
    tiles = [_thumbnail(image) for image in images]
    height = max(t.height for t in tiles)
    row = Image.new(tiles[0].mode, (sum(t.width + 1 for t in tiles) - 1, height), "white")
    left = 0
    for tile in tiles:
        row.paste(tile, (left, 0))
        left += tile.width + 1
    return row


def encode(image):
    """``(bytes, mime)``: a grey image as PNG, a colour one as JPEG."""
    out = io.BytesIO()
    if image.mode == "L":
        image.save(out, format="PNG", optimize=True)
        return out.getvalue(), "image/png"
    image.save(out, format="JPEG", quality=85)
    return out.getvalue(), "image/jpeg"


def _thumbnail(image):
    array = np.asarray(image)
    tile = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    if max(tile.size) > THUMBNAIL:
        tile.thumbnail((THUMBNAIL, THUMBNAIL))
    return tile
