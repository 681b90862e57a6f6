"""Hostile files and streams: a closed stdout, a run replaced by --overwrite, targets that
already exist, poisoned checkpoints, divergences and non-finite data. Every command line ends
in one clear line (or finishes its work) and no file that was there is lost."""

import subprocess
import sys

import pytest

from hostile import limit_memory

#: Small and fast: the packaged digits, one or two epochs.
TRAIN = ["train", "--data", "digits", "--epochs", "1", "--quiet"]


def closed_stdout(args, cwd):
    """Run ``args`` with stdout a pipe that is closed after its first line is read."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradwise.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        preexec_fn=limit_memory,
    )
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return proc.wait(timeout=120), err


SIGPIPE_ROWS = [
    (["train", "--data", "digits", "--epochs", "3", "--out", "D"],
     ["D/model.npz", "D/summary.json"]),
    (["compare", "--data", "digits", "--epochs", "1", "--optimizers", "sgd,adam", "--out", "C"],
     ["C/compare.json"]),
    (["knn", "--data", "digits", "--k", "1,3", "--folds", "2", "--out", "K"], ["K/result.json"]),
    (["landscape", "--surface", "beale", "--steps", "20", "--out", "L.png"], ["L.png"]),
    (["data", "info", "digits"], []),
]  # fmt: skip


@pytest.mark.parametrize("args, made", SIGPIPE_ROWS, ids=[r[0][0] for r in SIGPIPE_ROWS])
def test_a_closed_stdout_does_not_stop_the_work(args, made, tmp_path):
    code, err = closed_stdout(args, tmp_path)
    assert code == 0, err
    assert "error" not in err and "Traceback" not in err and "Broken pipe" not in err, err
    for name in made:
        assert (tmp_path / name).is_file(), name
