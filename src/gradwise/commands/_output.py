"""Where a command writes its files: ``--out``, or a new dated folder under ``runs/``."""

import time
from pathlib import Path


def output_folder(out, prefix):
    """``out`` (a :class:`~pathlib.Path` or ``None``) checked not to be a file; ``None``
    becomes ``runs/PREFIX-YYYYmmdd-HHMMSS`` (``-2``, ``-3``, ... when that is taken)."""
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{prefix}-{stamp}"
        n = 2
        while out.exists():
            out = Path("runs") / f"{prefix}-{stamp}-{n}"
            n += 1
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    return out
