"""Checkpoints and resume: an interrupted run, resumed, ends bit-identical to an
uninterrupted one (in process, and through the command line after SIGKILL)."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import gradwise as gw
from gradwise.errors import ModelFileError
from gradwise.estimators.model_file import load_model
from gradwise.optim.adagrad import Adagrad
from gradwise.optim.adam import Adam
from gradwise.optim.lbfgs import LBFGS
from gradwise.optim.rmsprop import RMSprop
from gradwise.optim.sgd import SGD
from gradwise.training import History, fit
from gradwise.training.callbacks import Callback, Checkpoint, EarlyStopping
from gradwise.training.checkpoint import load_checkpoint, save_checkpoint

OPTIMIZERS = {
    "momentum": lambda: SGD(lr=0.05, momentum=0.9),
    "nesterov": lambda: SGD(lr=0.05, momentum=0.9, nesterov=True),
    "adagrad": lambda: Adagrad(lr=0.05),
    "rmsprop": lambda: RMSprop(lr=0.01),
    "adam": lambda: Adam(lr=0.01),
}


class Interrupted(Exception):
    pass


class CrashAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, run):
        if run.step == self.step:
            raise Interrupted


def problem(n=90, d=6, c=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.5, (c, d))
    y = rng.integers(0, c, n)
    return (centres[y] + rng.normal(0, 1, (n, d))).astype(np.float32), y


def mlp(seed):
    return gw.nn.Sequential(
        gw.nn.Linear(6, 8, init="he", seed=seed), gw.nn.ReLU(), gw.nn.Linear(8, 3, seed=seed + 1)
    )


def train(make_optimizer, path, *, crash_at=None, resume=False, seed_model=0, **kw):
    X, y = problem()
    Xv, yv = problem(n=30, seed=1)
    model = mlp(seed_model)
    # Only the run that crashes saves mid-run: at the step it crashes after.
    every = crash_at or 0
    callbacks = [EarlyStopping(patience=3), Checkpoint(path, every_epochs=0, every_steps=every)]
    if crash_at is not None:
        callbacks.append(CrashAt(crash_at))
    history = fit(
        model,
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        make_optimizer(),
        penalty=gw.nn.L2(1e-3),
        epochs=kw.pop("epochs", 6),
        val=(Xv, yv),
        callbacks=callbacks,
        resume=path if resume else None,
        seed=4,
        **kw,
    )
    return gw.nn.flatten(model)[0].copy(), history


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("sampling", ["shuffle", "replacement"])
@pytest.mark.parametrize("crash_at", [5, 8])  # inside epoch 2, and at its last step
def test_interrupted_run_resumes_bit_identical(tmp_path, name, sampling, crash_at):
    make = OPTIMIZERS[name]
    x_ref, h_ref = train(make, tmp_path / "ref.npz", sampling=sampling, batch_size=20)
    with pytest.raises(Interrupted):
        train(make, tmp_path / "run.npz", crash_at=crash_at, sampling=sampling, batch_size=20)
    saved = load_checkpoint(tmp_path / "run.npz")
    assert saved.step == crash_at
    # A different initial model proves the weights come from the checkpoint.
    x, h = train(
        make, tmp_path / "run.npz", resume=True, seed_model=99, sampling=sampling, batch_size=20
    )
    np.testing.assert_array_equal(x, x_ref)
    assert h.loss == h_ref.loss and h.lr == h_ref.lr
    assert h.column("val_loss") == h_ref.column("val_loss")


def test_full_batch_lbfgs_resumes_bit_identical(tmp_path):
    def make():
        return LBFGS(max_iter=3, line_search_fn="strong_wolfe")

    x_ref, h_ref = train(make, tmp_path / "ref.npz", batch_size=None, epochs=5)
    with pytest.raises(Interrupted):
        train(make, tmp_path / "run.npz", crash_at=2, batch_size=None, epochs=5)
    x, h = train(make, tmp_path / "run.npz", resume=True, seed_model=7, batch_size=None, epochs=5)
    np.testing.assert_array_equal(x, x_ref)
    assert h.loss == h_ref.loss


def test_early_stopping_state_survives_a_resume(tmp_path):
    make = OPTIMIZERS["momentum"]
    x_ref, h_ref = train(make, tmp_path / "ref.npz", batch_size=10, epochs=40)
    assert h_ref.stop_reason == "early stopping"
    stop_step = len(h_ref.loss)
    with pytest.raises(Interrupted):
        train(make, tmp_path / "run.npz", crash_at=stop_step - 3, batch_size=10, epochs=40)
    x, h = train(make, tmp_path / "run.npz", resume=True, batch_size=10, epochs=40)
    np.testing.assert_array_equal(x, x_ref)
    assert h.stop_reason == "early stopping" and len(h.epochs) == len(h_ref.epochs)


def test_resume_refuses_a_different_run(tmp_path):
    make = OPTIMIZERS["adam"]
    with pytest.raises(Interrupted):
        train(make, tmp_path / "run.npz", crash_at=3, batch_size=20)
    with pytest.raises(ValueError, match="batch_size"):
        train(make, tmp_path / "run.npz", resume=True, batch_size=30)
    with pytest.raises(ValueError, match="optimizer"):
        train(OPTIMIZERS["momentum"], tmp_path / "run.npz", resume=True, batch_size=20)


def test_checkpoint_round_trip_keeps_types_and_dtypes(tmp_path):
    state = {
        "x": np.arange(5, dtype=np.float32),
        "optimizer": {
            "step": 3,
            "momentum_buffer": np.ones(5, np.float32),
            "t": np.float32(0.5),
            "d": None,
            "pairs": [np.zeros(2), np.ones(2)],
        },
        "rng_state": np.random.default_rng(1).bit_generator.state,
        "epoch": 1,
        "step": 3,
        "step_in_epoch": 1,
        "evaluations": 3,
        "epoch_loss_sum": 1.25,
        "history": History(loss=[1.0, 0.5]).to_dict(),
        "callbacks": [],
        "config": {"seed": 1},
    }
    save_checkpoint(tmp_path / "c.npz", state, extra={"note": "hi"})
    back = load_checkpoint(tmp_path / "c.npz")
    np.testing.assert_array_equal(back.x, state["x"])
    assert back.optimizer["t"] == np.float32(0.5) and back.optimizer["t"].dtype == np.float32
    assert back.optimizer["d"] is None and back.optimizer["step"] == 3
    assert back.optimizer["momentum_buffer"].dtype == np.float32
    np.testing.assert_array_equal(back.optimizer["pairs"][1], np.ones(2))
    assert back.rng_state == state["rng_state"] and back.extra == {"note": "hi"}
    rng = np.random.default_rng()
    rng.bit_generator.state = back.rng_state
    assert rng.integers(0, 10**9) == np.random.default_rng(1).integers(0, 10**9)


def test_a_corrupt_or_foreign_checkpoint_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelFileError):
        load_checkpoint(path)
    with pytest.raises(ModelFileError, match="no such"):
        load_checkpoint(tmp_path / "missing.npz")


def run_cli(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "gradwise.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_cli_training_killed_with_sigkill_resumes_bit_identical(tmp_path):
    settings = ["--epochs", "2", "--batch-size", "250", "--checkpoint-every-steps", "1", "--quiet"]
    reference = tmp_path / "reference"
    done = run_cli("train", "--out", reference, *settings)
    assert done.returncode == 0, done.stderr

    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradwise.cli", "train", "--out", str(out), *settings],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoint = out / "checkpoint.npz"
    deadline = time.monotonic() + 120
    try:
        # Kill it in the middle of the first epoch (18 steps of 250 rows per epoch).
        while time.monotonic() < deadline and proc.poll() is None:
            if checkpoint.exists() and load_checkpoint(checkpoint).step >= 8:
                break
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (out / "model.npz").exists()
    killed_at = load_checkpoint(checkpoint).step
    assert 8 <= killed_at < 36

    resumed = run_cli("train", "--out", out, "--resume", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    a, b = load_model(reference / "model.npz"), load_model(out / "model.npz")
    for (_, ma, name), (_, mb, _) in zip(
        a.model.named_parameters(), b.model.named_parameters(), strict=True
    ):
        np.testing.assert_array_equal(getattr(ma, name), getattr(mb, name))
    ha, hb = History.load(reference / "history.json"), History.load(out / "history.json")
    assert ha.loss == hb.loss and len(hb.loss) == 36
    assert ha.column("val_acc") == hb.column("val_acc")
