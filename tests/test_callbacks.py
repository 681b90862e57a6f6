"""Callbacks: JSON-lines logging, checkpoints, early stopping, printing, stopping a run."""

import io
import json

import numpy as np
import pytest

import gradwise as gw
from gradwise.optim.sgd import SGD
from gradwise.training import fit
from gradwise.training.callbacks import Callback, Checkpoint, EarlyStopping, JSONLogger, PrintEpochs
from gradwise.training.checkpoint import load_checkpoint


def problem(n=120, d=6, c=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2, (c, d))
    y = rng.integers(0, c, n)
    return (centres[y] + rng.normal(0, 1, (n, d))).astype(np.float32), y


def test_json_logger_writes_one_object_per_line(tmp_path):
    X, y = problem()
    path = tmp_path / "log.jsonl"
    fit(
        gw.nn.Linear(6, 3),
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.1),
        epochs=3,
        batch_size=40,
        callbacks=[JSONLogger(path, every_steps=2)],
    )
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    events = [line["event"] for line in lines]
    assert events[0] == "start" and events[-1] == "end"
    assert events.count("epoch") == 3 and events.count("step") == 4  # steps 2, 4, 6, 8 of 9
    epochs = [line for line in lines if line["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert lines[-1]["stop_reason"] == "completed"


def test_checkpoint_saves_every_n_steps_and_at_the_end(tmp_path):
    X, y = problem()
    path = tmp_path / "ckpt.npz"

    class Spy(Callback):
        steps = []

        def on_step_end(self, run):
            if run.step % 4 == 0:
                Spy.steps.append(load_checkpoint(path).step)

    ckpt = Checkpoint(path, every_epochs=0, every_steps=4)
    model = gw.nn.Linear(6, 3)
    fit(
        model,
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.1),
        epochs=3,
        batch_size=30,
        callbacks=[ckpt, Spy()],
    )
    assert Spy.steps == [4, 8, 12]
    assert ckpt.saves == 4  # three periodic saves and the final one
    final = load_checkpoint(path)
    assert final.epoch == 3 and final.step == 12 and final.step_in_epoch == 0
    np.testing.assert_array_equal(final.x, gw.nn.flatten(model)[0])
    assert len(final.history["epochs"]) == 3


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = problem(n=60)
    rng = np.random.default_rng(1)
    Xv, yv = X + rng.normal(0, 3, X.shape).astype(np.float32), rng.integers(0, 3, 60)
    per_epoch = []

    class Keep(Callback):
        def on_epoch_end(self, run, record):
            per_epoch.append((record["val_loss"], run.x.copy()))

    model = gw.nn.Linear(6, 3)
    stopper = EarlyStopping(patience=2)
    hist = fit(
        model,
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.5, momentum=0.9),
        epochs=100,
        batch_size=10,
        val=(Xv, yv),
        callbacks=[Keep(), stopper],
    )
    assert hist.stop_reason == "early stopping" and len(hist.epochs) < 100
    val = [v for v, _ in per_epoch]
    best = int(np.argmin(val))
    assert len(val) == best + 1 + 2  # stopped two epochs after the best one
    np.testing.assert_array_equal(gw.nn.flatten(model)[0], per_epoch[best][1])
    assert stopper.best_epoch == best + 1 and "did not improve" in hist.message


def test_early_stopping_needs_validation_data():
    X, y = problem(n=30)
    with pytest.raises(ValueError, match="val="):
        fit(
            gw.nn.Linear(6, 3),
            gw.nn.SoftmaxCrossEntropy(),
            (X, y),
            SGD(lr=0.1),
            epochs=2,
            batch_size=10,
            callbacks=[EarlyStopping(patience=1)],
        )
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)


def test_a_callback_can_stop_training_mid_epoch():
    X, y = problem(n=100)

    class StopAt(Callback):
        def on_step_end(self, run):
            if run.step == 7:
                run.stop_training, run.stop_reason = True, "enough"

    hist = fit(
        gw.nn.Linear(6, 3),
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.1),
        epochs=5,
        batch_size=10,
        callbacks=[StopAt()],
    )
    assert len(hist.loss) == 7 and hist.epochs == [] and hist.stop_reason == "enough"


def test_print_epochs_prints_one_line_per_epoch():
    X, y = problem(n=40)
    stream = io.StringIO()
    fit(
        gw.nn.Linear(6, 3),
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.1),
        epochs=3,
        batch_size=10,
        val=(X, y),
        callbacks=[PrintEpochs(stream)],
    )
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and lines[2].startswith("epoch   3") and "val acc" in lines[2]
