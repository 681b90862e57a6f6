"""``gradwise sweep``: resuming after a kill, outputs, bad input (on a Ray cluster:
test_ray_cluster.py)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from gradwise.cli import main

SWEEP = [
    "sweep",
    "--data",
    "digits",
    "--model",
    "linear",
    "--optimizer",
    "sgd,momentum",
    "--lr",
    "1e-3:1:log",
    "--reg",
    "1e-5:1e-1:log",
    "--epochs",
    "10",
    "--batch-size",
    "32",
    "--folds",
    "2",
    "--seed",
    "1",
]
TRIALS = 8


def sweep_command(out, *extra):
    return [
        sys.executable,
        "-m",
        "gradwise.cli",
        *SWEEP,
        "--trials",
        str(TRIALS),
        "--out",
        str(out),
        *extra,
    ]


def run_sweep(out, *extra, timeout=240):
    done = subprocess.run(
        sweep_command(out, *extra), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def trials_of(out):
    """The logged records in trial order, without what differs between runs and executors
    (their timings and the node each ran on)."""
    lines = (out / "trials.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return sorted(
        ({k: v for k, v in r.items() if k not in ("seconds", "node")} for r in records),
        key=lambda r: r["trial"],
    )


def result_of(out):
    result = json.loads((out / "result.json").read_text())
    return {k: result[k] for k in ("best_trial", "best_params", "val_score", "test_score")}


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """The sweep run once, start to end, on the local process pool."""
    out = tmp_path_factory.mktemp("clean")
    run_sweep(out, "--executor", "local", "--workers", "2")
    return out


@pytest.mark.slow
def test_a_killed_and_resumed_sweep_equals_a_clean_run(clean_run, tmp_path):
    clean, killed = clean_run, tmp_path / "killed"

    # Kill the whole process group (the sweep and its workers) once a trial is on disk.
    proc = subprocess.Popen(
        sweep_command(killed, "--workers", "2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    log = killed / "trials.jsonl"
    deadline = time.monotonic() + 120
    while not (log.exists() and log.read_text().count("\n") >= 1):
        assert proc.poll() is None, "the sweep ended before it could be killed"
        assert time.monotonic() < deadline, "no trial finished within 120 s"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    finished_before_kill = len(trials_of(killed))
    assert 1 <= finished_before_kill < TRIALS
    assert not (killed / "result.json").exists()

    out = run_sweep(killed, "--workers", "2")
    assert f"skipped {finished_before_kill} trials" in out
    assert trials_of(killed) == trials_of(clean)
    assert result_of(killed) == result_of(clean)
    assert len(trials_of(killed)) == TRIALS  # each trial once: none repeated on resume


@pytest.mark.slow
def test_sweep_writes_a_ranked_table_result_and_heatmap(tmp_path, capsys):
    code = main(
        [*SWEEP, "--trials", "4", "--epochs", "3", "--out", str(tmp_path), "--executor", "serial"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads((tmp_path / "result.json").read_text())
    records = [json.loads(line) for line in (tmp_path / "trials.jsonl").read_text().splitlines()]
    best = max(records, key=lambda r: (r["val_score"], -r["trial"]))
    assert result["best_params"] == best["params"] and result["val_score"] == best["val_score"]
    assert 0.5 < result["test_score"] <= 1.0 and result["n_trials"] == 4
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("rank "))
    assert lines[header + 1].split()[:2] == ["1", str(best["trial"])]  # best first
    png = (tmp_path / "heatmap.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    # Running it again runs nothing and gives the same answer.
    assert (
        main(
            [
                *SWEEP,
                "--trials",
                "4",
                "--epochs",
                "3",
                "--out",
                str(tmp_path),
                "--executor",
                "serial",
            ]
        )
        == 0
    )
    assert "skipped 4 trials" in capsys.readouterr().out
    assert json.loads((tmp_path / "result.json").read_text())["test_score"] == result["test_score"]


def test_sweep_searches_augmentations_and_draws_a_panel_for_each(tmp_path, capsys):
    flags = ["--augment", "none,flip", "--optimizer", "sgd", "--lr", "1e-2:1e-1:log"]
    flags += ["--reg", "1e-4:1e-2:log", "--epochs", "2", "--trials", "6", "--seed", "2"]
    flags += ["--out", str(tmp_path), "--executor", "serial"]
    code = main(["sweep", "--data", "digits", *flags])
    assert code == 0, capsys.readouterr().err
    records = [json.loads(line) for line in (tmp_path / "trials.jsonl").read_text().splitlines()]
    assert {r["params"]["augment"] for r in records} == {"none", "flip"}
    assert all(r["status"] == "ok" for r in records)
    # Two panels side by side: the picture is wider than a one-panel heat-map.
    from PIL import Image

    width, height = Image.open(tmp_path / "heatmap.png").size
    assert width > 2 * height  # one panel: about 1.35 x its height


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--lr", "1e-1:1e-4:log"], "--lr: range low must be <= high"),
        (["--optimizer", ""], "--optimizer: empty name"),
        (["--reg", "1e-3,,1"], "--reg: empty value"),
        (["--reg", ","], "--reg: empty list of values"),
        (["--hidden", "10,20"], "--hidden is only searched with --model mlp"),
        (["--trials", "0"], "--trials must be >= 1"),
        (["--folds", "1"], "folds must be an integer >= 2"),
        (["--optimizer", "sgd,adamax"], "--optimizer: unknown optimizer 'adamax'"),
        (["--augment", "none,rotate"], "--augment: augment must be one of"),
        (["--schedule", "cosine,warp:3"], "--schedule: "),
        (["--time-limit", "5"], "--time-limit is only used with the ray executor"),
        (["--ship", "pip", "--executor", "serial"], "--ship is only used with the ray executor"),
        (["--executor", "ray", "--time-limit", "0"], "time_limit must be > 0"),
        (["--executor", "ray", "--workers", "0"], "workers must be an integer >= 1"),
        (["--executor", "ray", "--address", "ray://host"], "or 'ray://HOST:PORT', got"),
    ],
)
def test_sweep_bad_input_is_one_line_exit_2(flags, message, tmp_path, capsys):
    base = ["sweep", "--data", "digits", "--lr", "0.1", "--out", str(tmp_path)]
    assert main([*base, *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().count("\n") == 0


def test_sweep_with_nothing_to_search_is_refused(capsys):
    assert main(["sweep", "--data", "digits"]) == 2
    assert "nothing to search" in capsys.readouterr().err


def test_sweep_on_a_ray_address_that_does_not_answer_fails_fast(ray, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gradwise.cli",
            "sweep",
            "--data",
            "digits",
            "--lr",
            "0.1,0.2",
            "--executor",
            "ray",
            "--address",
            f"127.0.0.1:{port}",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "no Ray cluster answers at" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # refused before any file was written
    assert time.monotonic() - started < 60  # seconds, not the minutes Ray would wait
