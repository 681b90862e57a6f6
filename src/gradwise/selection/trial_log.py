"""The trial log of a search: one complete JSON line per finished trial, appended the
moment it completes (flushed and fsync'ed), so a search killed mid-way loses at most the
trials in flight."""

import json
import os
import warnings
from pathlib import Path

TRIALS_FILE = "trials.jsonl"


class TrialLog:
    """``trials.jsonl``: one JSON object per finished trial, appended as each completes."""

    def __init__(self, path):
        self.path = Path(path)

    def read(self):
        """The records written so far (a torn last line, from a kill mid-write, is skipped)."""
        if not self.path.exists():
            return []
        records = []
        with open(self.path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    warnings.warn(
                        f"{self.path}:{number}: unreadable line skipped", RuntimeWarning, 2
                    )
                    continue
                records.append(record)
        return records

    def append(self, record):
        """Append ``record`` as one line, on disk before this returns.

        If a kill tore the last line (no newline at the end), the record starts a new line,
        so the torn fragment stays the only unreadable line.
        """
        line = (json.dumps(record, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab+") as f:
            if f.tell() > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    line = b"\n" + line
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
