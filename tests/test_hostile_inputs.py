"""Hostile and careless inputs: each case ends in one clear line (exit 2 on the command
line, a ``DataError``/``ModelFileError``/``ValueError`` from the library), never a
traceback, a multi-gigabyte allocation or the OOM killer.

One table, ``CASES``: each case builds its files in a fresh folder (bombs are built small
on disk) and is either a command-line :class:`Row` (run by ``tests/hostile.py`` under a
4 GiB address-space limit) or a library :class:`Call` (``pytest.raises``; ``limits`` lowers
module constants for the call, so a bomb of a few hundred KiB stands for one of gigabytes).
"""

import gzip
import io
import os
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gradwise.errors import DataError, ModelFileError
from hostile import Row, check_row

# -- what the cases are made of ---------------------------------------------------------


@dataclass
class Call:
    """A library call on the case's folder, the exception it must raise and a word it says."""

    fn: object
    error: type
    says: str = ""
    limits: dict = field(default_factory=dict)  # "module:NAME" -> value, for this call only


def png_bytes(size=(4, 4), colour=(200, 30, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def image_tree(folder, classes=("cat", "dog"), per_class=2, name="imgs"):
    root = Path(folder) / name
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (root / c / f"{i}.png").write_bytes(png_bytes())
    return root


def zip_bomb(folder, mib=100, name="bomb.zip"):
    """A zip whose one member inflates to ``mib`` MiB of zeros (about 1 KiB a MiB on disk)."""
    with zipfile.ZipFile(Path(folder) / name, "w") as archive:
        archive.writestr("cat/0.png", png_bytes())
        info = zipfile.ZipInfo("cat/bomb.png")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as member:
            chunk = bytes(2**20)
            for _ in range(mib):
                member.write(chunk)


def zip_liar(folder):
    """The bomb with its central directory claiming the member holds 100 bytes."""
    zip_bomb(folder, mib=20, name="liar.zip")
    path = Path(folder) / "liar.zip"
    data = bytearray(path.read_bytes())
    entry = data.rfind(b"PK\x01\x02")  # the central directory entry of the last member
    data[entry + 24 : entry + 28] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(data))


def tar_claiming(folder, size=3 * 2**30, fmt=tarfile.GNU_FORMAT, name="huge.tar.gz"):
    """A gzipped tar whose header claims a ``size``-byte member; a few KiB follow it."""
    info = tarfile.TarInfo("cat/huge.png")
    info.size = size
    with gzip.open(Path(folder) / name, "wb") as stream:
        stream.write(info.tobuf(format=fmt) + bytes(4096))


def tar_bomb(folder, mib=100):
    """A real tar.gz whose member is ``mib`` MiB of zeros."""
    with tarfile.open(Path(folder) / "bomb.tar.gz", "w:gz", compresslevel=1) as archive:
        info = tarfile.TarInfo("cat/bomb.png")
        info.size = mib * 2**20
        archive.addfile(info, io.BytesIO(bytes(info.size)))


def model_file(folder, name="model.npz", **forged):
    """A real model file (Linear(6, 3)), its metadata entries then replaced by ``forged``."""
    from gradwise import nn
    from gradwise.estimators.model_file import save_model
    from gradwise.storage.archive import read_archive, write_archive

    path = Path(folder) / name
    save_model(path, nn.Linear(6, 3, seed=1), classes=["a", "b", "c"], input_shape=[6])
    arrays, meta = read_archive(path, format="gradwise-model")
    meta.update(forged)
    write_archive(path, arrays, meta, format="gradwise-model")
    return path


def nested(depth, leaf=0):
    """A list nested ``depth`` deep (built without recursion)."""
    tree = leaf
    for _ in range(depth):
        tree = [tree]
    return tree


def deep_json_file(folder, depth=100_000):
    """A model file whose metadata holds a ``depth``-deep JSON array (json.dumps cannot)."""
    path = model_file(folder)
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    text = str(arrays["__metadata__"])
    arrays["__metadata__"] = np.array(text[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}")
    with open(path, "wb") as stream:
        np.savez(stream, **arrays)


def read_model(name="model.npz"):
    def call(folder):
        from gradwise.estimators.model_file import load_model

        return load_model(Path(folder) / name)

    return call


HUGE = {"type": "Linear", "in_features": 100_000, "out_features": 100_000}


CONTROL = "cat\n\x1b[31mred"  # a newline and an ANSI escape: red text from here on


def named_tree(folder, classes, files=(b"0.png", b"1.png"), payload=None, bad=()):
    """An image folder whose class and file names are given as bytes (any bytes); the files
    of the classes in ``bad`` (or all, with ``payload``) hold ``payload``, not an image."""
    root = os.fsencode(Path(folder) / "imgs")
    for c in classes:
        os.makedirs(os.path.join(root, c))
        for f in files:
            with open(os.path.join(root, c, f), "wb") as stream:
                if c in bad:
                    stream.write(b"not an image")
                else:
                    stream.write(png_bytes() if payload is None else payload)


def tar_named(folder, member=b"cat/\xff\x1b[31m.png"):
    """A tar whose member name is not UTF-8 and holds an escape, and is not an image."""
    with tarfile.open(Path(folder) / "names.tar", "w", encoding="utf-8") as archive:
        for name in (b"dog/0.png", member):
            data = png_bytes() if name == b"dog/0.png" else b"not an image"
            info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape"))
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def load(name, **kwargs):
    def call(folder):
        import gradwise as gw

        return gw.data.load(Path(folder) / name, cache=False, workers=1, **kwargs)

    return call


# -- the table --------------------------------------------------------------------------

TINY_BUDGET = {"gradwise.data.decode:default_memory_limit": lambda: 1000}
LOW = {"gradwise.data._limits:MAX_MEMBER_BYTES": 16 * 2**20}

def mismatched_entry(folder):
    """A cache entry folder whose test images are 16x16, its training images 32x32."""
    from gradwise.data.cache import write_entry

    arrays = {
        "X_train": np.zeros((4, 32, 32, 3), np.uint8),
        "y_train": np.array([0, 1, 0, 1]),
        "X_test": np.zeros((2, 16, 16, 3), np.uint8),
        "y_test": np.array([0, 1]),
    }
    write_entry(Path(folder) / "entry", arrays, {"classes": ["cat", "dog"]})


CASES = {
    # 1. Archive members with no size limit.
    "zip-bomb-member": (
        zip_bomb,
        Call(load("bomb.zip"), DataError, "larger than any image", LOW),
    ),
    "zip-member-lies-about-size": (
        zip_liar,
        Call(load("liar.zip"), DataError, "corrupt", LOW),
    ),
    "tar-bomb-member": (
        tar_bomb,
        Call(load("bomb.tar.gz"), DataError, "larger than any image", LOW),
    ),
    "tar-header-claims-3-GiB": (
        tar_claiming,
        Row(["data", "info", "{dir}/huge.tar.gz", "--no-cache"], 2, "larger than any image"),
    ),
    "pax-header-claims-3-GiB": (
        lambda d: tar_claiming(d, fmt=tarfile.PAX_FORMAT, name="pax.tar"),
        Row(["data", "info", "{dir}/pax.tar", "--no-cache"], 2, "larger than any image"),
    ),
    # 2. Model-file metadata trusted before it is checked.
    "architecture-asks-74-GiB": (
        lambda d: model_file(d, architecture=HUGE),
        Row(["evaluate", "{dir}/model.npz", "--data", "digits"], 2, "file stores"),
    ),
    "architecture-asks-74-GiB-library": (
        lambda d: model_file(d, architecture=HUGE),
        Call(read_model(), ModelFileError, "100,000"),
    ),
    "hidden-layer-asks-74-GiB": (
        lambda d: model_file(
            d,
            architecture={
                "type": "Sequential",
                "layers": [HUGE, {"type": "ReLU"}, {"type": "Linear", "in_features": 100_000}],
            },
        ),
        Call(read_model(), ModelFileError, "file stores 21 in all"),
    ),
    "weight-stored-transposed": (
        lambda d: model_file(
            d, architecture={"type": "Linear", "in_features": 3, "out_features": 6}
        ),
        Call(read_model(), ModelFileError, "Linear(3, 6)"),
    ),
    "metadata-100000-deep": (
        deep_json_file,
        Row(["evaluate", "{dir}/model.npz", "--data", "digits"], 2, "nested too deeply"),
    ),
    "metadata-500-deep": (
        lambda d: model_file(d, training={"log": nested(500)}),
        Call(read_model(), ModelFileError, "nested more than"),
    ),
    "architecture-300-sequentials-deep": (
        lambda d: model_file(
            d, architecture=_sequentials({"type": "Linear", "in_features": 6, "out_features": 3})
        ),
        Call(read_model(), ModelFileError, "nested"),
    ),
    "classes-not-a-list": (
        lambda d: model_file(d, classes="abc"),
        Call(read_model(), ModelFileError, "'classes'"),
    ),
    "architecture-a-list": (
        lambda d: model_file(d, architecture=[HUGE]),
        Call(read_model(), ModelFileError, "must be an object"),
    ),
    "dtype-a-number": (
        lambda d: model_file(d, dtype=8),
        Call(read_model(), ModelFileError, "'dtype'"),
    ),
    # 3. Sizes a typo away.
    "gradcheck-samples-1e8": (
        lambda d: None,
        Row(["gradcheck", "--samples", "100000000"], 2, "memory budget"),
    ),
    "gradcheck-features-1e8": (
        lambda d: None,
        Row(["gradcheck", "--features", "100000000"], 2, "memory budget"),
    ),
    "gradcheck-hidden-1e8": (
        lambda d: None,
        Row(["gradcheck", "--model", "mlp", "--hidden", "100000000"], 2, "memory budget"),
    ),
    "image-folder-size-100000": (
        image_tree,
        Row(["data", "info", "{dir}/imgs", "--size", "100000", "--no-cache"], 2, "size"),
    ),
    "image-folder-size-over-budget": (
        image_tree,
        Call(load("imgs", size=(16, 16)), DataError, "memory budget", TINY_BUDGET),
    ),
    "image-folder-batches-over-budget": (
        image_tree,
        Call(
            load("imgs", size=(16, 16)),
            DataError,
            "memory budget",
            {**TINY_BUDGET, "gradwise.data.decode:BATCH_SIZE": 1},
        ),
    ),
    # 4. Class and file names with control characters: errors stay one line, escaped.
    "class-name-with-escape-not-an-image": (
        lambda d: named_tree(d, [CONTROL.encode(), b"dog"], bad=[CONTROL.encode()]),
        Row(["data", "info", "{dir}/imgs", "--no-cache"], 2, "cannot be read as an image"),
    ),
    "class-name-with-escape-library": (
        lambda d: named_tree(d, [CONTROL.encode(), b"dog"], bad=[CONTROL.encode()]),
        Call(load("imgs"), DataError, "\\x1b[31mred"),
    ),
    "file-outside-class-folder-with-newline": (
        lambda d: (
            named_tree(d, [b"train/cat", b"test/cat", b"test/a\nb\x1b[0m"], payload=None)
            or (Path(d) / "imgs" / "train" / "x\n\x1b[2J.png").write_bytes(png_bytes())
        ),
        Call(load("imgs"), DataError, "x\\n\\x1b[2J.png"),
    ),
    # 5. Names that are not UTF-8: read, or named in the error.
    "file-name-not-utf-8": (
        lambda d: named_tree(d, [b"cat", b"dog"], files=(b"\xfe0.png", b"\xff1.png")),
        Row(["data", "info", "{dir}/imgs"], 0),
    ),
    "file-name-not-utf-8-no-cache": (
        lambda d: named_tree(d, [b"cat", b"dog"], files=(b"\xfe0.png", b"\xff1.png")),
        Row(["data", "info", "{dir}/imgs", "--no-cache"], 0),
    ),
    "file-name-not-utf-8-not-an-image": (
        lambda d: named_tree(d, [b"cat", b"dog"], files=(b"\xfe0.png",), payload=b"no"),
        Row(["data", "info", "{dir}/imgs"], 2, "\\udcfe0.png"),
    ),
    "tar-member-not-utf-8-not-an-image": (
        tar_named,
        Row(["data", "info", "{dir}/names.tar", "--no-cache"], 2, "cat/\\udcff\\x1b[31m.png"),
    ),
    # 6. Training inputs that cannot be trained as asked: refused before the first step.
    "augment-on-flat-features": (
        lambda d: None,
        Row(["train", "--data", "spiral", "--augment", "flip", "--out", "{dir}/run"], 2,
            "needs images (N, H, W, C)"),
    ),
    "augment-crop-larger-than-image": (
        lambda d: None,
        Row(["train", "--data", "digits", "--augment", "crop:8", "--out", "{dir}/run"], 2,
            "crop:8 pads by more than the 8x8 images allow"),
    ),
    "augment-with-a-full-batch-method": (
        lambda d: None,
        Row(["train", "--augment", "flip", "--optimizer", "lbfgs", "--out", "{dir}/run"], 2,
            "full-batch method"),
    ),
    "train-and-test-images-differ-in-size": (
        mismatched_entry,
        Row(["train", "--data", "{dir}/entry", "--out", "{dir}/run"], 2,
            "every input must have one size and dtype"),
    ),
}


def _sequentials(layer, depth=300):
    for _ in range(depth):
        layer = {"type": "Sequential", "layers": [layer]}
    return layer


@pytest.fixture(autouse=True)
def _environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADWISE_HOME", str(tmp_path / "home"))
    # The command lines run in the case's folder: a relative PYTHONPATH=src would miss the
    # tree under test there, so it is made absolute (the gradwise this test imported).
    import gradwise

    src = str(Path(gradwise.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input(case, tmp_path, monkeypatch):
    build, check = CASES[case]
    folder = tmp_path / "case"
    folder.mkdir()
    build(folder)
    if isinstance(check, Row):
        done = check_row(check, folder)
        assert "\x1b" not in done.stderr, done.stderr
        return
    import importlib

    for target, value in check.limits.items():
        module, name = target.split(":")
        monkeypatch.setattr(importlib.import_module(module), name, value)
    with pytest.raises(check.error) as raised:
        check.fn(folder)
    text = str(raised.value)
    assert "\n" not in text and "\x1b" not in text and check.says in text, text


def test_printable_escapes_what_a_terminal_would_obey_and_keeps_the_rest():
    from gradwise.data._text import printable

    assert printable(CONTROL) == "cat\\n\\x1b[31mred"
    assert printable("d\udcffg") == "d\\udcffg"  # a name that is not UTF-8, as os.fsdecode gives it
    assert printable("\u202eevil") == "\\u202eevil"  # a right-to-left override
    assert printable("chat noir, café") == "chat noir, café"
    printable("d\udcffg\n").encode("utf-8")  # always encodes


def test_class_names_are_kept_as_they_are_in_the_data(tmp_path):
    import gradwise as gw

    named_tree(tmp_path, [CONTROL.encode(), b"d\xffg"])
    ds = gw.data.load(tmp_path / "imgs", cache=False, workers=1)
    assert ds.classes == (CONTROL, "d\udcffg")
