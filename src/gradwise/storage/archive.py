"""The container of model files and checkpoints: an uncompressed ``.npz`` (a zip of ``.npy``
arrays, never a pickle) plus one JSON metadata record under ``__metadata__``.

The metadata gains ``format``, ``format_version``, ``gradwise_version`` and ``arrays`` (the
shape, dtype and SHA-256 of every array), so a file that was truncated, edited or mixed up
is refused on reading. :func:`pack_tree` / :func:`unpack_tree` carry JSON trees with arrays
inside (optimizer state, preprocessing) through it.
"""

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import ModelFileError
from .atomic import write_file

FORMAT_VERSION = 1
METADATA_KEY = "__metadata__"


# -- the container ----------------------------------------------------------------------


def write_archive(path, arrays, metadata, *, format, durable=True):
    """Write ``arrays`` (name -> ndarray) and the JSON ``metadata`` to ``path`` atomically.

    ``metadata`` gains ``format``, ``format_version``, ``gradwise_version`` and ``arrays``
    (shape, dtype and SHA-256 of each array). The rename makes the write atomic for a
    process that is killed; ``durable`` also flushes the file to disk before the rename
    (``fsync``), so it survives a power cut too (checkpoints, rewritten every few steps,
    skip that cost).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: no such directory")
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    for name, a in arrays.items():
        if a.dtype.hasobject:
            raise TypeError(f"array {name!r} holds Python objects; only numeric arrays are saved")
    record = dict(metadata)
    record.update(
        format=format,
        format_version=FORMAT_VERSION,
        gradwise_version=__version__,
        arrays={name: _describe_array(a) for name, a in arrays.items()},
    )
    payload = dict(arrays)
    payload[METADATA_KEY] = np.array(json.dumps(record, allow_nan=True, sort_keys=True))
    return write_file(path, lambda handle: np.savez(handle, **payload), durable=durable)


def read_archive(path, *, format, what="model file"):
    """``(arrays, metadata)`` of a file written by :func:`write_archive`, fully checked.

    Raises :class:`ModelFileError` (one clear line) if the file is missing, not an ``.npz``,
    corrupt, of another format or a newer format version, or if any array does not match
    the shape, dtype and checksum the metadata records.
    """
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path}: is a directory, not a {what}")
    if not path.is_file():
        raise ModelFileError(f"{path}: no such {what}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if METADATA_KEY not in names:
                raise ModelFileError(f"{path}: not a gradwise {what} (no metadata record)")
            arrays = {name: archive[name] for name in names}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
        raise ModelFileError(f"{path}: not a readable gradwise {what} ({_reason(err)})") from None
    metadata = _parse_metadata(path, arrays.pop(METADATA_KEY), what)
    if metadata.get("format") != format:
        raise ModelFileError(
            f"{path}: is a {metadata.get('format', 'unknown')!r} file, not a {what} ({format!r})"
        )
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: format version {version!r} is newer than this gradwise "
            f"({__version__}) reads (version {FORMAT_VERSION}); upgrade gradwise"
        )
    _check_arrays(path, arrays, metadata.get("arrays"))
    return arrays, metadata


def _reason(err):
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _parse_metadata(path, raw, what):
    if raw.ndim != 0 or raw.dtype.kind != "U":
        raise ModelFileError(f"{path}: the metadata record of this {what} is not text")
    try:
        metadata = json.loads(str(raw))
    except json.JSONDecodeError as err:
        raise ModelFileError(
            f"{path}: the metadata of this {what} is not valid JSON ({err})"
        ) from None
    except RecursionError:
        raise ModelFileError(f"{path}: the metadata of this {what} is nested too deeply") from None
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{path}: the metadata of this {what} is not a JSON object")
    return metadata


def _describe_array(a):
    return {
        "shape": list(a.shape),
        "dtype": a.dtype.str,
        "sha256": hashlib.sha256(a.tobytes()).hexdigest(),
    }


def _check_arrays(path, arrays, described):
    if not isinstance(described, dict):
        raise ModelFileError(f"{path}: the metadata does not describe the file's arrays")
    if set(described) != set(arrays):
        missing = sorted(set(described) - set(arrays))
        extra = sorted(set(arrays) - set(described))
        raise ModelFileError(
            f"{path}: arrays do not match the metadata (missing {missing}, unexpected {extra})"
        )
    for name, a in arrays.items():
        if _describe_array(a) != described[name]:
            raise ModelFileError(
                f"{path}: array {name!r} does not match its recorded shape, dtype or checksum "
                "(the file was modified or is corrupt)"
            )


# -- JSON trees with arrays inside (optimizer state, preprocessing) ----------------------


def pack_tree(tree, arrays, prefix):
    """A JSON-able copy of ``tree`` with every array moved into ``arrays`` under ``prefix``.

    Dicts (string keys), lists, tuples (saved as lists), numbers, strings, booleans and
    ``None`` are kept; an ndarray or NumPy scalar becomes ``{"__array__": key}`` (plus
    ``"scalar": true`` for a NumPy scalar, restored with its exact dtype).
    """
    if isinstance(tree, np.ndarray | np.generic):
        arrays[prefix] = np.asarray(tree)
        ref = {"__array__": prefix}
        if isinstance(tree, np.generic):
            ref["scalar"] = True
        return ref
    if isinstance(tree, dict):
        packed = {}
        for key, value in tree.items():
            if not isinstance(key, str):
                raise TypeError(f"only string keys can be saved, got {key!r} under {prefix!r}")
            packed[key] = pack_tree(value, arrays, f"{prefix}/{key}")
        return packed
    if isinstance(tree, list | tuple):
        return [pack_tree(v, arrays, f"{prefix}/{i}") for i, v in enumerate(tree)]
    if tree is None or isinstance(tree, bool | int | float | str):
        return tree
    raise TypeError(f"cannot save a {type(tree).__name__} (under {prefix!r})")


def unpack_tree(tree, arrays):
    """Inverse of :func:`pack_tree`: array references become (copies of) the arrays."""
    if isinstance(tree, dict):
        if "__array__" in tree:
            key = tree["__array__"]
            if key not in arrays:
                raise ModelFileError(f"the file refers to an array {key!r} it does not hold")
            value = np.array(arrays[key], copy=True)
            return value[()] if tree.get("scalar") else value
        return {k: unpack_tree(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [unpack_tree(v, arrays) for v in tree]
    return tree
