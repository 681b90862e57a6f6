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

import pytest
from PIL import Image

from gradwise.errors import DataError
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


def load(name, **kwargs):
    def call(folder):
        import gradwise as gw

        return gw.data.load(Path(folder) / name, cache=False, workers=1, **kwargs)

    return call


# -- the table --------------------------------------------------------------------------

LOW = {"gradwise.data._limits:MAX_MEMBER_BYTES": 16 * 2**20}

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
}


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
        check_row(check, folder)
        return
    import importlib

    for target, value in check.limits.items():
        module, name = target.split(":")
        monkeypatch.setattr(importlib.import_module(module), name, value)
    with pytest.raises(check.error) as raised:
        check.fn(folder)
    text = str(raised.value)
    assert "\n" not in text and check.says in text, text
