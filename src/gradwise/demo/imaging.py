"""Images as PNG data URLs, the one form in which the page receives pixels."""

import base64
import io

import numpy as np
from PIL import Image


def png_data_url(pixels):
    """``(H, W, 3)`` or ``(H, W, 1)`` uint8 pixels -> ``data:image/png;base64,...``."""
    pixels = np.asarray(pixels, dtype=np.uint8)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def strip(images, gap=1):
    """Images ``(K, H, W, C)`` side by side, ``gap`` white columns between them."""
    k, h, w, c = images.shape
    out = np.full((h, k * (w + gap) - gap, c), 255, dtype=np.uint8)
    for i, image in enumerate(images):
        out[:, i * (w + gap) : i * (w + gap) + w] = image
    return out
