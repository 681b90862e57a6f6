"""Image decoding: the JPEG fast path gives exactly what Pillow's ``Image.open`` gives."""

import io
import itertools

import numpy as np
import pytest
from PIL import Image

from gradwise.data.decode import decode_one, decode_plain_jpeg
from gradwise.data.packaged import CIFAR10_SAMPLE_FILE, packaged_file
from gradwise.data.tar_stream import iter_tar_files


def reference(data):
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def jpeg(image, **options):
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def smooth_rgb(height=37, width=53, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 4, y * 6, (x + y) * 2], axis=-1) + rng.integers(0, 40, (height, width, 3))
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"quality": 95, "subsampling": 0},
        {"quality": 30, "subsampling": 2},
        {"progressive": True},
        {"optimize": True},
        {"restart_marker_blocks": 1},
        {"exif": Image.Exif(), "comment": b"a comment"},
        {"icc_profile": b"\x00" * 200},
    ],
)
def test_fast_path_decodes_colour_jpegs_exactly_like_pillow(options):
    data = jpeg(smooth_rgb(), **options)
    assert decode_plain_jpeg(data) is not None
    np.testing.assert_array_equal(decode_one(data), reference(data))


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_other_jpegs_take_the_general_path_with_the_same_result(mode):
    data = jpeg(smooth_rgb().convert(mode))
    assert decode_plain_jpeg(data) is None
    np.testing.assert_array_equal(decode_one(data), reference(data))


def test_truncated_jpeg_fails_like_pillow():
    data = jpeg(smooth_rgb())[:300]
    assert decode_plain_jpeg(data) is None
    with pytest.raises(OSError):
        decode_one(data)


def test_not_a_jpeg_is_left_to_pillow():
    assert decode_plain_jpeg(b"\x89PNG\r\n\x1a\n" + bytes(100)) is None
    assert decode_plain_jpeg(b"\xff\xd8\xff") is None


def test_resize_applies_to_the_fast_path():
    data = jpeg(smooth_rgb())
    with Image.open(io.BytesIO(data)) as image:
        expected = np.asarray(image.convert("RGB").resize((20, 10), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(decode_one(data, (10, 20)), expected)


def test_packaged_cifar10_jpegs_decode_exactly_like_pillow():
    with packaged_file(CIFAR10_SAMPLE_FILE) as path:
        for _, data in itertools.islice(iter_tar_files(path), 0, 6000, 6):
            np.testing.assert_array_equal(decode_one(data), reference(data))
