"""A small, fast, read-only tar reader: stream the regular files of a tar archive in order.

Python's :mod:`tarfile` builds a ``TarInfo`` object per member and seeks around the stream;
on an archive of 60,000 small JPEGs that costs several seconds. Datasets only need each regular
file's name and bytes, in archive order, once, so this reader parses the 512-byte headers
itself (POSIX ustar, GNU long names and pax ``path``/``size`` records) while the archive is
decompressed in large chunks. Links, devices and directories are skipped (never followed);
any other member type is refused.

Compression is recognised from the first bytes, not the file name: gzip, bzip2, xz or none.
"""

import bz2
import gzip
import lzma
from collections.abc import Iterator

from .._memory import human_bytes
from ..errors import DataError
from . import _limits
from ._text import printable

BLOCK = 512
#: A pax or GNU long-name header larger than this is corrupt (real ones are a few hundred bytes).
MAX_HEADER_BYTES = 1 << 20
READ_CHUNK = 1 << 20

_REGULAR = {b"0", b"\x00", b"7"}
_SKIPPED = {b"1", b"2", b"3", b"4", b"6", b"K", b"g"}

_COMPRESSED_OPENERS = (
    (b"\x1f\x8b", gzip.open),
    (b"BZh", bz2.open),
    (b"\xfd7zXZ\x00", lzma.open),
)


def is_tar_file(path) -> bool:
    """True if ``path`` starts like a (possibly compressed) tar archive.

    Only the first block is decompressed, so this is cheap even on large archives.
    """
    try:
        with _open_decompressed(path) as stream:
            first = stream.read(BLOCK)
    except (OSError, EOFError, lzma.LZMAError):
        return False
    return len(first) == BLOCK and first[257:262] == b"ustar"


def iter_tar_files(
    path, *, archive_label=None, directories=False
) -> Iterator[tuple[str, bytes | None]]:
    """Yield ``(name, data)`` for every regular file of the tar archive at ``path``.

    Names use ``/`` separators exactly as stored. With ``directories=True`` folder members are
    yielded too, as ``(name, None)``. Raises :class:`DataError` naming ``archive_label``
    (default: the path) if the archive is truncated or corrupt.
    """
    label = printable(archive_label or str(path))
    try:
        with _open_decompressed(path) as stream:
            for name, data in _iter_members(_BlockReader(stream, label), label):
                if data is not None or directories:
                    yield name, data
    except (EOFError, OSError, lzma.LZMAError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{label}: archive is truncated or corrupt ({err})") from err


def _open_decompressed(path):
    with open(path, "rb") as raw:
        magic = raw.read(6)
    for prefix, opener in _COMPRESSED_OPENERS:
        if magic.startswith(prefix):
            return opener(path, "rb")
    return open(path, "rb")


class _BlockReader:
    """Buffered reads of exact sizes from a decompressing stream."""

    def __init__(self, stream, label):
        self.stream = stream
        self.label = label
        self.buffer = bytearray()
        self.pos = 0

    def read(self, size, *, allow_eof=False):
        while len(self.buffer) - self.pos < size:
            chunk = self.stream.read(max(READ_CHUNK, size))
            if not chunk:
                if allow_eof and len(self.buffer) == self.pos:
                    return b""
                raise DataError(f"{self.label}: archive is truncated (ends inside a member)")
            if self.pos:
                # Drop what was consumed so the buffer stays about one chunk long.
                del self.buffer[: self.pos]
                self.pos = 0
            self.buffer += chunk
        data = bytes(self.buffer[self.pos : self.pos + size])
        self.pos += size
        return data

    def skip(self, size):
        """Consume ``size`` bytes without keeping them (a skipped member of any size)."""
        while size > 0:
            step = min(size, READ_CHUNK)
            self.read(step)
            size -= step


def _iter_members(reader, label):
    pending = {}
    while True:
        header = reader.read(BLOCK, allow_eof=True)
        if not header or header == bytes(BLOCK):
            return  # End of archive (zero block), or a stream that simply stops between members.
        _check_header(header, label)
        name, size, kind = _parse_header(header, pending, label)
        if kind in _SKIPPED or kind == b"5":
            reader.skip(_padded(size))  # Never kept, so never held in memory, whatever its size.
            data = b""
        else:
            _check_member_size(kind, name, size, label)
            data = reader.read(_padded(size))[:size] if size else b""
        if kind == b"x":
            pending = _parse_pax(data, label)
            continue
        if kind == b"L":
            pending = {"path": data.rstrip(b"\x00").decode("utf-8", "surrogateescape")}
            continue
        pending = {}
        if kind in _REGULAR:
            yield name, data
        elif kind == b"5":
            yield name.rstrip("/"), None
        elif kind not in _SKIPPED:
            raise DataError(f"{label}: unsupported tar member type {kind!r} for {name!r}")


def _check_member_size(kind, name, size, label):
    """Refuse a member too large to be what it claims before a byte of it is read."""
    if kind in (b"x", b"L"):
        if size > MAX_HEADER_BYTES:
            raise DataError(f"{label}: corrupt tar header ({size} bytes of extended header)")
    elif size > _limits.MAX_MEMBER_BYTES:
        raise DataError(
            f"{label}/{printable(name)}: member of {human_bytes(size)} is larger than any image "
            f"could be (limit {human_bytes(_limits.MAX_MEMBER_BYTES)}); refused unread"
        )


def _check_header(header, label):
    stored = _octal(header[148:156], label)
    computed = sum(header[:148]) + 8 * ord(" ") + sum(header[156:])
    if stored != computed:
        raise DataError(f"{label}: not a tar archive, or its headers are corrupt")


def _parse_header(header, pending, label):
    name = header[:100].split(b"\x00", 1)[0]
    if header[257:263] == b"ustar\x00":
        prefix = header[345:500].split(b"\x00", 1)[0]
        if prefix:
            name = prefix + b"/" + name
    name = name.decode("utf-8", "surrogateescape")
    size = _size(header[124:136], label)
    name = pending.get("path", name)
    try:
        size = int(pending.get("size", size))
    except ValueError:
        raise DataError(f"{label}: corrupt pax header (size {pending['size']!r})") from None
    if size < 0:
        raise DataError(f"{label}: not a tar archive, or its headers are corrupt")
    return name, size, header[156:157]


def _size(field, label):
    if field[0] & 0x80:  # GNU base-256 encoding for sizes that do not fit 11 octal digits
        return int.from_bytes(field[1:], "big")
    return _octal(field, label)


def _octal(field, label):
    digits = field.split(b"\x00", 1)[0].strip()
    try:
        return int(digits or b"0", 8)
    except ValueError:
        raise DataError(f"{label}: not a tar archive, or its headers are corrupt") from None


def _parse_pax(data, label):
    """Parse ``"<len> <key>=<value>\\n"`` records; keep the ones that change the next member."""
    records = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            raise DataError(f"{label}: corrupt pax header") from None
        if length <= 0:
            raise DataError(f"{label}: corrupt pax header")
        key, _, value = data[space + 1 : pos + length - 1].partition(b"=")
        if key in (b"path", b"size"):
            records[key.decode()] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def _padded(size):
    return (size + BLOCK - 1) // BLOCK * BLOCK
