"""The harness of the hostile-input tables: run a command line as a careless or hostile user
would, in a subprocess under an address-space limit, and check that it ends in one clear line
and that every file that existed before is still there, byte for byte."""

import os
import resource
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import gradwise as gradwise_package

#: The address-space limit of every command line of the tables: a command that would need
#: more must refuse up front, not meet the kernel's OOM killer.
MEMORY_LIMIT = 4 * 2**30


@dataclass
class Row:
    """One case: the command line (``{dir}`` is the case's folder), the exit code, a word the
    one-line error must contain, and the files (relative to ``{dir}``) that must come through
    byte-identical."""

    args: list
    code: int = 2
    says: str = ""
    keeps: list = field(default_factory=list)


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def gradwise(args, cwd, timeout=120, stdin=None):
    # The package under test, whatever folder the command runs in.
    src = str(Path(gradwise_package.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "gradwise.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        preexec_fn=limit_memory,
        stdin=stdin,
        env=env,
    )


def snapshot(folder, names):
    return {name: (Path(folder) / name).read_bytes() for name in names}


def check_row(row, folder):
    """Run ``row`` in ``folder``; assert its exit code, one line, no traceback, files kept."""
    before = snapshot(folder, row.keeps)
    done = gradwise([str(a).format(dir=folder) for a in row.args], cwd=folder)
    err = done.stderr.strip()
    assert done.returncode == row.code, f"exit {done.returncode}: {done.stdout}{done.stderr}"
    assert "Traceback" not in err, err
    if row.code:
        assert err.count("\n") == 0, err
        assert row.says in err, err
    assert snapshot(folder, row.keeps) == before, "a file that was there has changed"
    return done
