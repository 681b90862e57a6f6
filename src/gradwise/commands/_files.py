"""The one check every command makes before it writes a file: a file that is already there
is replaced only with ``--overwrite``, and a file the command reads is never written."""

import os
from pathlib import Path


def check_targets(targets, overwrite, *, inputs=()):
    """Raise ``ValueError`` (one line) when a path of ``targets`` is one of ``inputs``, or
    already exists and ``overwrite`` is false. Call it before any work is done."""
    targets = [Path(t) for t in targets]
    read = {os.path.realpath(p) for p in inputs}
    for path in targets:
        if os.path.realpath(path) in read:
            raise ValueError(f"{path} is a file this command reads; choose another file to write")
    existing = [str(p) for p in targets if p.exists() or p.is_symlink()]
    if existing and not overwrite:
        one = len(existing) == 1
        raise ValueError(
            f"{', '.join(existing)} already exist{'s' if one else ''}; choose another name, "
            f"or pass --overwrite to replace {'it' if one else 'them'}"
        )


def add_overwrite_argument(parser):
    parser.add_argument(
        "--overwrite", action="store_true", help="replace files that are already there"
    )
