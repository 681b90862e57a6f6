"""Walk the files of a directory, a tar archive (plain or compressed) or a zip archive.

Every container yields ``(relative_path, payload)`` pairs, where ``relative_path`` uses ``/``
separators and ``payload`` is the file's bytes (archives), its filesystem path (directories,
so that worker processes read the files themselves, in parallel), or ``None`` for a folder
(so that an empty class folder can be reported: a list of files alone cannot show it;
archives list folders only if they were stored as members).
Hidden entries (a path part starting with ``.``) and ``__MACOSX/`` folders are skipped: they
are operating-system litter, not data.
"""

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

from .._memory import human_bytes
from ..errors import DataError
from . import _limits
from ._text import printable
from .tar_stream import is_tar_file, iter_tar_files


def container_kind(path) -> str:
    """``"directory"``, ``"tar"`` or ``"zip"``, recognised from the content, not the name."""
    path = Path(path)
    if path.is_dir():
        return "directory"
    if not path.is_file():
        raise DataError(f"{printable(path)}: no such file or directory")
    if zipfile.is_zipfile(path):
        return "zip"
    if is_tar_file(path):
        return "tar"
    with open(path, "rb") as stream:
        magic = stream.read(4)
    if magic == b"PK\x03\x04":
        raise DataError(
            f"{printable(path)}: zip archive is truncated or corrupt (no central directory)"
        )
    if magic.startswith(b"\x1f\x8b"):
        raise DataError(
            f"{printable(path)}: compressed archive is truncated, corrupt or not a tar archive"
        )
    raise DataError(
        f"{printable(path)}: not a directory, a .tar/.tar.gz or a .zip archive; "
        "image folders are laid out as <split>/<class>/<image>"
    )


def iter_container(path) -> Iterator[tuple[str, bytes | str | None]]:
    """Yield ``(relative_path, payload)`` for every non-hidden file and folder in ``path``."""
    kind = container_kind(path)
    if kind == "directory":
        entries = _iter_directory(Path(path))
    elif kind == "zip":
        entries = _iter_zip(Path(path))
    else:
        entries = iter_tar_files(path, directories=True)
    for name, payload in entries:
        name = _normalise(name)
        if name and not _is_hidden(name):
            yield name, payload


def _iter_directory(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        prefix = "" if rel == "." else f"{rel}/"
        for dirname in dirnames:
            yield prefix + dirname, None
        for filename in filenames:
            full = os.path.join(dirpath, filename)
            if os.path.isfile(full):
                yield prefix + filename, full


def _iter_zip(path):
    label = printable(path)
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                yield info.filename, None if info.is_dir() else _read_member(archive, info, label)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as err:
        raise DataError(f"{label}: zip archive is truncated or corrupt ({err})") from err


def _read_member(archive, info, label):
    """A member's bytes, refused unread if it says it is larger than any image could be, and
    never more than ``MAX_MEMBER_BYTES + 1`` bytes read whatever it says (headers can lie)."""
    limit = _limits.MAX_MEMBER_BYTES
    where = f"{label}/{printable(info.filename)}"
    if info.file_size > limit:
        raise DataError(
            f"{where}: member of {human_bytes(info.file_size)} is larger than any image could be "
            f"(limit {human_bytes(limit)}); refused unread"
        )
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise DataError(
            f"{where}: member holds more than {human_bytes(limit)}, more than any image could be "
            "(and more than its header says); refused"
        )
    return data


def _normalise(name):
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        return ""  # Never let an archive member point outside its own tree.
    return "/".join(parts)


def _is_hidden(name):
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))
