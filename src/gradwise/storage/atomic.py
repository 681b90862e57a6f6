"""The one way gradwise writes a file: a temporary file in the destination folder, then a
rename over the destination.

A reader (or a process killed mid-write) never sees half a file, an existing file is
replaced only once the new one is complete, and on any error the temporary file is removed.
The temporary file is opened like any other file (``open(..., "xb")``), so the result gets
the usual permissions (``0o666`` less the umask), not a temp-file helper's owner-only mode.
"""

import json
import os
import uuid
from pathlib import Path


def write_file(path, write, *, durable=False, make_parents=False):
    """Call ``write(handle)`` on a binary file that becomes ``path``; return ``path``.

    ``durable`` flushes the file to disk before the rename (``fsync``), so it survives a
    power cut too; ``make_parents`` creates missing parent folders.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: no such directory")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as handle:
            write(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path, text, **keywords):
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    data = text.encode("utf-8")
    return write_file(path, lambda handle: handle.write(data), **keywords)


def write_json(path, obj, *, indent=1, sort_keys=False, **keywords):
    """Write ``obj`` as JSON (NaN allowed, as Python's ``json`` writes it) plus a newline."""
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, allow_nan=True) + "\n"
    return write_text(path, text, **keywords)
