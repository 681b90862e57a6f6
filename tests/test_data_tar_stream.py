"""The streaming tar reader agrees with the standard library on every header flavour."""

import io
import tarfile

import numpy as np
import pytest

from gradwise.data.tar_stream import is_tar_file, iter_tar_files
from gradwise.errors import DataError

LONG = "a-folder-name-that-is-quite-long/" * 4 + "file-with-a-long-name-" * 3 + ".bin"


def members(rng):
    return {
        "short.bin": rng.bytes(10),
        "dir/empty.bin": b"",
        "dir/exact-block.bin": rng.bytes(512),
        "dir/odd-size.bin": rng.bytes(1234),
        LONG: rng.bytes(700),
        "unicodé/名前.bin": rng.bytes(3),
    }


def write(path, files, fmt, mode="w"):
    with tarfile.open(path, mode, format=fmt) as archive:
        folder = tarfile.TarInfo("dir")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
        link = tarfile.TarInfo("dir/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../etc/passwd"
        archive.addfile(link)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_reader_matches_tarfile(tmp_path, fmt, mode):
    files = members(np.random.default_rng(0))
    if fmt == tarfile.USTAR_FORMAT:  # ustar cannot hold non-ASCII names or very long ones
        files = {k: v for k, v in files.items() if k.isascii() and len(k) < 200}
    path = tmp_path / "a.tar"
    write(path, files, fmt, mode)
    assert is_tar_file(path)
    assert dict(iter_tar_files(path)) == files
    with_dirs = list(iter_tar_files(path, directories=True))
    assert ("dir", None) in with_dirs
    assert all(name != "dir/link" for name, _ in with_dirs)  # links are never followed


def test_corrupt_header_is_detected(tmp_path):
    path = tmp_path / "a.tar"
    write(path, {"x.bin": b"12345"}, tarfile.GNU_FORMAT)
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF  # the first header's name no longer matches its checksum
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="corrupt"):
        list(iter_tar_files(path))


def test_truncated_member_is_detected(tmp_path):
    path = tmp_path / "a.tar"
    write(path, {"x.bin": bytes(5000)}, tarfile.GNU_FORMAT)
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(DataError, match="truncated"):
        list(iter_tar_files(path))


def test_non_tar_files_are_not_tar(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"hello" * 200)
    assert not is_tar_file(path)
    path.write_bytes(b"")
    assert not is_tar_file(path)
