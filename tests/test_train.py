"""The training loop: batch order, buffers, history, schedules, divergence."""

import json
import math

import numpy as np
import pytest

import gradwise as gw
from gradwise.optim.adam import Adam
from gradwise.optim.lbfgs import LBFGS
from gradwise.optim.schedule import StepDecay
from gradwise.optim.sgd import SGD
from gradwise.training import History, evaluate, fit
from gradwise.training.callbacks import Callback


def blobs(n=120, d=5, c=3, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (c, d))
    y = rng.integers(0, c, n)
    X = centres[y] + rng.normal(0, 1, (n, d))
    return X.astype(dtype), y


class Recorder(Callback):
    """Keeps, per step, the labels of the minibatch and the array that held the batch."""

    def __init__(self):
        self.labels, self.batch_arrays, self.xs = [], [], []

    def on_step_end(self, run):
        self.labels.append(run.objective.y.copy())
        self.batch_arrays.append(run.objective.X)

    def on_epoch_end(self, run, record):
        self.xs.append(run.x.copy())


def index_problem(n=50, d=4, seed=0):
    """Labels 0..n-1 (one class per row), so a batch's labels are its row indices."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    return X, np.arange(n), gw.nn.Linear(d, n, seed=seed)


def test_shuffle_visits_every_row_once_per_epoch_in_the_seeded_order():
    X, y, model = index_problem()
    rec = Recorder()
    fit(
        model,
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.1),
        epochs=3,
        batch_size=16,
        seed=7,
        callbacks=[rec],
    )
    steps = 4  # ceil(50 / 16): three batches of 16 and one of 2
    assert [len(b) for b in rec.labels] == [16, 16, 16, 2] * 3
    rng = np.random.default_rng(7)
    for epoch in range(3):
        seen = np.concatenate(rec.labels[epoch * steps : (epoch + 1) * steps])
        np.testing.assert_array_equal(seen, rng.permutation(50))


def test_replacement_sampling_draws_full_batches_with_replacement():
    X, y, model = index_problem()
    rec = Recorder()
    fit(
        model,
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.1),
        epochs=2,
        batch_size=16,
        seed=3,
        sampling="replacement",
        callbacks=[rec],
    )
    assert [len(b) for b in rec.labels] == [16] * 8
    rng = np.random.default_rng(3)
    for epoch in range(2):
        seen = np.concatenate(rec.labels[epoch * 4 : (epoch + 1) * 4])
        np.testing.assert_array_equal(seen, rng.integers(0, 50, size=64))


def test_minibatches_reuse_one_preallocated_buffer():
    X, y, model = index_problem()
    rec = Recorder()
    fit(
        model,
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.1),
        epochs=2,
        batch_size=16,
        callbacks=[rec],
    )
    full = [a for a in rec.batch_arrays if len(a) == 16]
    assert all(a is full[0] for a in full)
    assert all(np.shares_memory(a, full[0]) for a in rec.batch_arrays)
    assert not np.shares_memory(full[0], X)


def test_full_batch_steps_once_per_epoch_on_the_data_itself():
    X, y = blobs()
    rec = Recorder()
    hist = fit(
        gw.nn.Linear(5, 3),
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.5),
        epochs=4,
        batch_size=None,
        callbacks=[rec],
    )
    assert len(hist.loss) == 4 and all(a is rec.batch_arrays[0] for a in rec.batch_arrays)
    assert len(rec.batch_arrays[0]) == len(y)


def test_fit_equals_a_hand_written_loop_bit_for_bit():
    X, y = blobs(n=100)
    model = gw.nn.Linear(5, 3, seed=1)
    penalty = gw.nn.L2(1e-3)
    fit(
        model,
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.05, momentum=0.9),
        epochs=3,
        batch_size=32,
        seed=5,
        penalty=penalty,
    )

    ref = gw.nn.Linear(5, 3, seed=1)
    f = gw.objective(ref, gw.nn.SoftmaxCrossEntropy(), X[:32], y[:32], penalty)
    opt = SGD(lr=0.05, momentum=0.9)
    rng = np.random.default_rng(5)
    for _ in range(3):
        order = rng.permutation(100)
        for s in range(0, 100, 32):
            idx = order[s : s + 32]
            f.set_data(np.ascontiguousarray(X[idx]), y[idx])
            opt.step(f, f.x)
    np.testing.assert_array_equal(gw.nn.flatten(model)[0], f.x)


def test_same_seed_same_weights_other_seed_other_weights():
    X, y = blobs()

    def train(seed):
        model = gw.nn.Linear(5, 3, seed=0)
        fit(
            model,
            gw.nn.SoftmaxCrossEntropy(),
            (X, y),
            Adam(lr=0.01),
            epochs=2,
            batch_size=8,
            seed=seed,
        )
        return gw.nn.flatten(model)[0].copy()

    np.testing.assert_array_equal(train(1), train(1))
    assert not np.array_equal(train(1), train(2))


def test_history_records_steps_epochs_and_validation():
    X, y = blobs(n=100)
    Xv, yv = blobs(n=40, seed=1)
    model = gw.nn.Linear(5, 3)
    hist = fit(
        model,
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.1, momentum=0.9),
        epochs=5,
        batch_size=25,
        val=(Xv, yv),
        penalty=gw.nn.L2(1e-3),
    )
    assert len(hist.loss) == len(hist.lr) == 20 and hist.lr == [0.1] * 20
    assert [r["epoch"] for r in hist.epochs] == [1, 2, 3, 4, 5]
    assert [r["steps"] for r in hist.epochs] == [4, 8, 12, 16, 20]
    last = hist.epochs[-1]
    objective, accuracy = evaluate(model, gw.nn.SoftmaxCrossEntropy(), X, y, gw.nn.L2(1e-3))
    assert last["train_loss"] == pytest.approx(objective) and last["train_acc"] == accuracy
    assert last["val_loss"] == pytest.approx(
        evaluate(model, gw.nn.SoftmaxCrossEntropy(), Xv, yv, gw.nn.L2(1e-3))[0]
    )
    assert hist.epochs[-1]["train_loss"] < hist.epochs[0]["train_loss"]
    assert last["train_acc"] > 0.9 and hist.stop_reason == "completed"
    assert all(r["seconds"] > 0 for r in hist.epochs)


def test_evaluate_train_false_reports_the_mean_minibatch_loss():
    X, y = blobs(n=100)
    hist = fit(
        gw.nn.Linear(5, 3),
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.1),
        epochs=2,
        batch_size=25,
        evaluate_train=False,
    )
    assert hist.epochs[1]["train_loss"] == pytest.approx(np.mean(hist.loss[4:8]))
    assert hist.epochs[1]["train_acc"] is None


def test_schedule_sets_the_learning_rate_of_every_step():
    X, y = blobs(n=40)
    opt = SGD(lr=1.0)
    hist = fit(
        gw.nn.Linear(5, 3),
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        opt,
        epochs=3,
        batch_size=10,
        schedule=StepDecay(0.1, step_size=4, gamma=0.5),
    )
    assert hist.lr == [0.1] * 4 + [0.05] * 4 + [0.025] * 4


def test_history_round_trips_through_json(tmp_path):
    X, y = blobs(n=40)
    hist = fit(
        gw.nn.Linear(5, 3),
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.1),
        epochs=2,
        batch_size=10,
    )
    path = hist.save(tmp_path / "history.json")
    again = History.load(path)
    assert again.to_dict() == hist.to_dict()
    assert json.loads(path.read_text())["epochs"][0]["epoch"] == 1
    assert History.from_dict(hist.to_dict()).column("train_loss") == hist.column("train_loss")


def test_history_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        History.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a history"):
        History.load(bad)


def test_divergence_stops_keeps_last_finite_weights_and_says_what_to_do():
    X, y = blobs(n=64, d=8)
    model = gw.nn.Sequential(gw.nn.Linear(8, 16, init="he"), gw.nn.ReLU(), gw.nn.Linear(16, 3))
    snapshots = []

    class Snap(Callback):
        def on_step_end(self, run):
            snapshots.append(run.x.copy())

    with np.errstate(all="ignore"), pytest.raises(gw.DivergenceError) as info:
        fit(
            model,
            gw.nn.SoftmaxCrossEntropy(),
            (X * 100, y),
            SGD(lr=1e6, momentum=0.9),
            epochs=50,
            batch_size=16,
            callbacks=[Snap()],
        )
    err = info.value
    message = str(err)
    assert f"step {err.step}" in message and "epoch" in message and "lr=1e+06" in message
    assert "smaller learning rate" in message
    x = gw.nn.flatten(model)[0]
    assert np.isfinite(x).all()
    # Steps 1..m returned finite losses; step m + 1 started where the loss was not finite.
    # The weights kept are where step m started: after step m - 1.
    m = len(err.history.loss)
    assert err.history.stop_reason == "diverged" and err.step == m + 1 and m >= 2
    np.testing.assert_array_equal(x, snapshots[m - 2])
    assert all(math.isfinite(v) for v in err.history.loss)


def test_bad_arguments_raise_at_the_boundary():
    X, y = blobs(n=20)
    loss, model = gw.nn.SoftmaxCrossEntropy(), gw.nn.Linear(5, 3)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, loss, (X, y), SGD(lr=0.1), epochs=-1)
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, loss, (X, y), SGD(lr=0.1), batch_size=0)
    with pytest.raises(ValueError, match="sampling"):
        fit(model, loss, (X, y), SGD(lr=0.1), sampling="bootstrap")
    with pytest.raises(ValueError, match="one label per row"):
        fit(model, loss, (X, y[:-1]), SGD(lr=0.1))
    with pytest.raises(ValueError, match="out of range"):
        fit(model, loss, (X, y + 3), SGD(lr=0.1), batch_size=4)
    with pytest.raises(TypeError, match="pair"):
        fit(model, loss, X, SGD(lr=0.1))
    with pytest.raises(ValueError, match="no learning rate"):

        class NoLr:
            pass

        fit(model, loss, (X, y), NoLr(), schedule=lambda t: 0.1)


def test_lbfgs_full_batch_reaches_a_lower_objective_than_it_started():
    X, y = blobs(n=200, dtype=np.float64)
    model = gw.nn.Linear(5, 3, dtype=np.float64)
    hist = fit(
        model,
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        LBFGS(max_iter=5, line_search_fn="strong_wolfe"),
        epochs=3,
        batch_size=None,
        penalty=gw.nn.L2(1e-2),
    )
    assert hist.epochs[-1]["train_loss"] < hist.loss[0]
    assert hist.epochs[-1]["evaluations"] > hist.epochs[-1]["steps"]  # line searches count


def test_features_of_another_dtype_are_converted_once():
    X, y = blobs(n=30, dtype=np.float64)
    model = gw.nn.Linear(5, 3)  # float32
    rec = Recorder()
    fit(
        model,
        gw.nn.SoftmaxCrossEntropy(),
        (X, y),
        SGD(lr=0.1),
        epochs=1,
        batch_size=10,
        callbacks=[rec],
    )
    assert rec.batch_arrays[0].dtype == np.float32


def test_training_allocates_nothing_the_size_of_the_data():
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 256)).astype(np.float32)  # 20 MB
    y = rng.integers(0, 10, 20000)
    model = gw.nn.Linear(256, 10)
    tracemalloc.start()
    try:
        fit(
            model,
            gw.nn.SoftmaxCrossEntropy(),
            (X, y),
            SGD(lr=0.01, momentum=0.9),
            epochs=2,
            batch_size=128,
            val=(X[:5000], y[:5000]),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Batch buffer (128 rows), evaluation chunks (4096 x 10 scores), small temporaries.
    assert peak < 0.1 * X.nbytes, f"fit allocated {peak / 2**20:.1f} MiB at its peak"
