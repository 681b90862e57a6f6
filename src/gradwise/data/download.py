"""Download a file over HTTP(S) with a progress bar, resuming, and an MD5 check before use.

The bytes go to ``<destination>.part``. If a ``.part`` file is already there the request asks
for the rest (``Range: bytes=<size>-``); a server that answers ``206 Partial Content`` from that
offset is appended to, any other answer restarts the file from zero. Only when every byte has
arrived and the MD5 matches is ``.part`` renamed to ``destination`` (an atomic rename on the
same filesystem), so ``destination`` either does not exist or is the whole, verified file.
An interrupted download keeps its ``.part`` for the next call; a complete download whose MD5
does not match is deleted.
"""

import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from .._version import __version__
from ..errors import DataError
from .cache import file_digest

CHUNK_SIZE = 1 << 20


def download(
    url,
    destination,
    *,
    md5=None,
    progress=True,
    opener=None,
    timeout=60.0,
    chunk_size=CHUNK_SIZE,
) -> Path:
    """Fetch ``url`` to ``destination`` (see the module docstring); return ``destination``.

    ``md5``: the expected hex digest (checked before the file is renamed into place; ``None``
    skips the check). ``opener``: a callable ``(request, timeout=...) -> response`` (default
    :func:`urllib.request.urlopen`). Raises :class:`DataError` on a network failure (the
    ``.part`` file is kept so that the next call resumes) or a checksum mismatch.
    """
    destination = Path(destination)
    opener = opener or urllib.request.urlopen
    if destination.exists():
        if md5 and file_digest(destination, "md5") != md5:
            raise DataError(
                f"{destination} exists but its MD5 is not {md5}; delete it and download again"
            )
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    try:
        _fetch(url, part, opener, timeout, chunk_size, progress)
    except urllib.error.HTTPError as err:
        if err.code != 416 or not part.exists():  # 416: the .part already holds every byte
            raise DataError(f"download of {url} failed: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise DataError(
            f"download of {url} failed ({reason}); run it again to resume from {part}"
        ) from err
    if md5:
        got = file_digest(part, "md5")
        if got != md5:
            part.unlink()
            raise DataError(
                f"downloaded {url} has MD5 {got}, expected {md5}; the file was deleted, "
                "run the download again"
            )
    os.replace(part, destination)
    return destination


def _fetch(url, part, opener, timeout, chunk_size, progress):
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": f"gradwise/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    with opener(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
        status = getattr(response, "status", None) or response.getcode()
        resumed = offset and status == 206 and _range_start(response) == offset
        if not resumed:
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with (
            open(part, "ab" if resumed else "wb") as out,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name[: -len(".part")],
                disable=not progress,
            ) as bar,
        ):
            while chunk := response.read(chunk_size):
                out.write(chunk)
                bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
    size = part.stat().st_size
    if total is not None and size != total:
        raise OSError(f"connection closed after {size} of {total} bytes")


def _range_start(response):
    """The first byte offset of a ``Content-Range: bytes <start>-<end>/<total>`` answer."""
    value = response.headers.get("Content-Range", "")
    try:
        unit, _, rest = value.partition(" ")
        return int(rest.split("-", 1)[0]) if unit == "bytes" else None
    except ValueError:
        return None
