"""The on-disk cache of decoded datasets, under ``$GRADWISE_HOME`` (default ``~/.cache/gradwise``).

Layout::

    $GRADWISE_HOME/datasets/            archives the user puts there or downloads
    $GRADWISE_HOME/cache/<kind>-<key>/  one entry per decoded source
        meta.json                       classes, source, array names (JSON)
        <array>.npy                     one plain .npy file per array (no pickle)

The key is a SHA-256 over the source's fingerprint and the options that change the arrays
(for example a resize). A file's fingerprint is its size and the SHA-256 of its content; a
directory's is the relative path, size and modification time (ns) of every file in it.
An entry is built in a hidden temporary folder next to the others and renamed into place only
when complete, so an interrupted or failed build leaves nothing that looks like an entry.
Later loads memory-map the ``.npy`` files (read-only), which takes milliseconds, whatever
their size: training reads the images through the map a minibatch at a time, so an entry
larger than memory trains by streaming from the disk. :func:`write_entry_by_chunks` writes
such an entry without holding it in memory, and ``gradwise.data.load(entry_folder)`` loads
an entry folder directly.
"""

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import DataError

FORMAT_VERSION = 1
_META = "meta.json"


def gradwise_home() -> Path:
    """``$GRADWISE_HOME`` if set, else ``~/.cache/gradwise``."""
    home = os.environ.get("GRADWISE_HOME")
    return Path(home).expanduser() if home else Path.home() / ".cache" / "gradwise"


def cache_root() -> Path:
    return gradwise_home() / "cache"


def datasets_dir() -> Path:
    """Where archives such as ``cifar-10-python.tar.gz`` are looked for and downloaded to."""
    return gradwise_home() / "datasets"


def file_digest(path, algorithm="sha256", chunk_size=1 << 20) -> str:
    """Hex digest of a file's content, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        while chunk := stream.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(path) -> dict:
    """What identifies the content of a file or directory (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        listing = hashlib.sha256()
        count = 0
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for filename in sorted(filenames):
                full = os.path.join(dirpath, filename)
                stat = os.stat(full)
                rel = os.path.relpath(full, path).replace(os.sep, "/")
                line = f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n"
                # A name that is not UTF-8 comes with lone surrogates: hash its own bytes.
                listing.update(line.encode("utf-8", "surrogateescape"))
                count += 1
        return {"type": "directory", "files": count, "listing_sha256": listing.hexdigest()}
    return {"type": "file", "size": path.stat().st_size, "sha256": file_digest(path)}


def cache_key(kind: str, source_fingerprint: dict, options: dict) -> str:
    """Directory name of the cache entry for ``kind`` decoded from a source with ``options``."""
    blob = json.dumps(
        {"format": FORMAT_VERSION, "kind": kind, "source": source_fingerprint, "options": options},
        sort_keys=True,
    )
    return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:24]}"


def cached_arrays(
    key: str, build: Callable[[], tuple[dict, dict]], *, use_cache: bool = True
) -> tuple[dict, dict, Path | None]:
    """Return ``(arrays, meta, entry_path)`` from the cache, building and storing them if absent.

    ``build()`` returns ``(arrays, meta)``: a dict of name -> ndarray and a JSON-serialisable
    dict. With ``use_cache=False`` the arrays are built in memory and nothing is written
    (``entry_path`` is then ``None``). Cached arrays are read-only memory maps.
    """
    if not use_cache:
        arrays, meta = build()
        return arrays, meta, None
    entry = cache_root() / key
    found = read_entry(entry)
    if found is not None:
        return (*found, entry)
    arrays, meta = build()
    write_entry(entry, arrays, meta)
    found = read_entry(entry)
    if found is None:
        raise DataError(f"cache entry {entry} could not be read back after writing it")
    return (*found, entry)


def read_entry(entry: Path):
    """``(arrays, meta)`` of a complete entry, or ``None`` if it is absent or unreadable."""
    try:
        meta = json.loads((entry / _META).read_text())
        if meta.get("format") != FORMAT_VERSION:
            return None
        arrays = {
            name: np.load(entry / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            for name in meta["arrays"]
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return arrays, meta["meta"]


def write_entry(entry: Path, arrays: dict, meta: dict) -> None:
    """Write ``arrays`` and ``meta`` as a cache entry, atomically (temp folder + rename)."""

    def write(tmp):
        for name, array in arrays.items():
            _write_npy(tmp / f"{name}.npy", np.ascontiguousarray(array))
        return list(arrays)

    _write_atomically(Path(entry), write, meta)


def write_entry_by_chunks(entry, shapes: dict, fill, meta: dict, chunk_rows=65536) -> None:
    """Write a cache entry too big to hold in memory, atomically, as :func:`write_entry`.

    ``shapes``: array name -> ``(shape, dtype)``; ``fill(name, start, stop)`` returns rows
    ``start:stop`` of that array, asked for ``chunk_rows`` rows at a time, in order.
    """

    def write(tmp):
        for name, (shape, dtype) in shapes.items():
            path = tmp / f"{name}.npy"
            array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=tuple(shape))
            for start in range(0, shape[0], chunk_rows):
                stop = min(shape[0], start + chunk_rows)
                array[start:stop] = fill(name, start, stop)
            array.flush()
            del array
            with open(path, "rb+") as stream:
                os.fsync(stream.fileno())
        return list(shapes)

    _write_atomically(Path(entry), write, meta)


def _write_atomically(entry, write_arrays, meta):
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{entry.name}-", dir=entry.parent))
    try:
        names = write_arrays(tmp)
        document = {"format": FORMAT_VERSION, "arrays": names, "meta": meta}
        with open(tmp / _META, "w") as stream:
            json.dump(document, stream, indent=1, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())
        if entry.exists():
            # Another process finished the same entry first; keep theirs if it is readable.
            if read_entry(entry) is not None:
                return
            shutil.rmtree(entry, ignore_errors=True)
        os.rename(tmp, entry)
    finally:  # On success tmp has become the entry; on any failure it is removed.
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _write_npy(path, array):
    with open(path, "wb") as stream:
        np.lib.format.write_array(stream, array, allow_pickle=False)
        stream.flush()
        os.fsync(stream.fileno())


def clear_cache() -> int:
    """Remove every cache entry; return how many were removed."""
    root = cache_root()
    removed = 0
    if root.is_dir():
        for entry in root.iterdir():
            with contextlib.suppress(OSError):
                shutil.rmtree(entry)
                removed += 1
    return removed
