"""Hostile values: numbers and shapes that used to train uphill, print nonsense or end in
NumPy's internals now end in one clear error naming the argument.

One table: library rows (a call, the exception type, a word of its message) and command-line
rows (:class:`tests.hostile.Row`, run by :func:`tests.hostile.check_row`: exit 2, one line
on stderr, no traceback, no file written and the files that were there kept)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import gradwise
from gradwise.estimators import MLPClassifier, SoftmaxClassifier
from gradwise.nn import Linear, ReLU
from gradwise.optim import LBFGS, SGD, Adagrad, Adam, RMSprop
from gradwise.optim.schedule import CosineDecay, ExponentialDecay, LinearWarmup, StepDecay
from hostile import Row, check_row


@dataclass
class Call:
    """A library row: ``call()`` must raise ``error`` with ``says`` in its message."""

    call: object
    error: type
    says: str


def bowl(x):
    return float(x @ x), 2 * x


def step_once(optimizer, x=None):
    return optimizer.step(bowl, np.ones(3) if x is None else x)


def adam_from_state(state):
    adam = Adam()
    adam.load_state_dict(state)
    return step_once(adam)


def features(n=40, d=3):
    return np.random.default_rng(0).normal(size=(n, d))


def classifier_fit(clf, y=None):
    return clf.fit(features(), np.arange(40) % 2 if y is None else y)


def labels_with(value):
    y = np.array(["a", "b"] * 20, dtype=object)
    y[3] = value
    return y


SWEEP = ["sweep", "--data", "digits", "--trials", "1", "--executor", "serial"]
SWEEP += ["--out", "{dir}/out"]

TABLE = {
    # 1. a schedule whose value is negative, NaN or infinite
    "sgd lr schedule negative": Call(
        lambda: step_once(SGD(lr=lambda t: -1.0)), ValueError, "lr from its schedule is -1.0"
    ),
    "sgd lr schedule nan": Call(
        lambda: step_once(SGD(lr=lambda t: float("nan"))), ValueError, "lr from its schedule"
    ),
    "sgd lr schedule turns negative later": Call(
        lambda: [step_once(o := SGD(lr=lambda t: 0.1 - t)), step_once(o)],
        ValueError,
        "at step 1",
    ),
    "sgd momentum schedule inf": Call(
        lambda: step_once(SGD(lr=0.1, momentum=lambda t: float("inf"))), ValueError, "momentum"
    ),
    "adam eps schedule negative": Call(
        lambda: step_once(Adam(eps=lambda t: -1e-8)), ValueError, "eps from its schedule"
    ),
    "adam beta schedule nan": Call(
        lambda: step_once(Adam(betas=(lambda t: float("nan"), 0.999))), ValueError, "betas[0]"
    ),
    "adagrad lr schedule negative": Call(
        lambda: step_once(Adagrad(lr=lambda t: -1.0)), ValueError, "lr from its schedule"
    ),
    "rmsprop lr schedule negative": Call(
        lambda: step_once(RMSprop(lr=lambda t: -1.0)), ValueError, "lr from its schedule"
    ),
    "lbfgs lr schedule negative": Call(
        lambda: step_once(LBFGS(lr=lambda t: -1.0)), ValueError, "lr from its schedule"
    ),
    "cosine final negative": Call(lambda: CosineDecay(0.1, 10, final=-1), ValueError, "final"),
    "step initial negative": Call(lambda: StepDecay(-0.1, 10), ValueError, "initial"),
    "exponential initial nan": Call(
        lambda: ExponentialDecay(float("nan"), 0.1), ValueError, "initial"
    ),
    "warmup target negative": Call(lambda: LinearWarmup(-1.0, 5), ValueError, "target"),
    "classifier schedule callable negative": Call(
        lambda: classifier_fit(SoftmaxClassifier(epochs=1, schedule=lambda t: -0.1)),
        ValueError,
        "lr from its schedule is -0.1",
    ),
    "classifier schedule cosine negative final": Call(
        lambda: classifier_fit(SoftmaxClassifier(epochs=1, schedule="cosine:-1")),
        ValueError,
        "cosine:-1",
    ),
    "classifier schedule exp nan": Call(
        lambda: classifier_fit(SoftmaxClassifier(epochs=1, schedule="exp:nan")),
        ValueError,
        "exp:nan",
    ),
    "train schedule cosine negative final": Row(
        ["train", "--data", "digits", "--epochs", "1", "--schedule", "cosine:-1"]
        + ["--out", "{dir}/out"],
        says="cosine:-1",
    ),
    # 2. explain's margin
    "explain margin nan": Row(
        ["explain", "{dir}/model.npz", "{dir}/image.png", "--margin", "nan"],
        says="--margin",
        keeps=["model.npz", "image.png"],
    ),
    "explain margin inf": Row(
        ["explain", "{dir}/model.npz", "{dir}/image.png", "--margin", "inf"], says="--margin"
    ),
    "explain margin negative": Row(
        ["explain", "{dir}/model.npz", "{dir}/image.png", "--margin", "-1"], says="--margin"
    ),
    # 3. every value of a sweep, before a file is written
    "sweep lr nan": Row([*SWEEP, "--lr", "nan"], says="--lr"),
    "sweep lr inf": Row([*SWEEP, "--lr", "0.1,inf"], says="--lr"),
    "sweep lr range to inf": Row([*SWEEP, "--lr", "1e-3:inf:log"], says="--lr"),
    "sweep lr range from 0": Row([*SWEEP, "--lr", "0:1"], says="--lr"),
    "sweep reg nan": Row([*SWEEP, "--reg", "nan"], says="--reg"),
    "sweep reg negative": Row([*SWEEP, "--reg", "-1"], says="--reg"),
    "sweep reg negative in a list": Row([*SWEEP, "--reg=0.1,-1"], says="--reg"),
    "sweep epochs 0": Row([*SWEEP, "--epochs", "0"], says="--epochs"),
    "sweep epochs range from 0": Row([*SWEEP, "--epochs", "0:3:int"], says="--epochs"),
    "sweep epochs fractional range": Row([*SWEEP, "--epochs", "1:3"], says="--epochs"),
    "sweep batch size 0": Row([*SWEEP, "--batch-size", "0,64"], says="--batch-size"),
    "sweep hidden 0": Row([*SWEEP, "--model", "mlp", "--hidden", "0"], says="--hidden"),
    "sweep hidden fractional": Row([*SWEEP, "--model", "mlp", "--hidden", "10.5"], says="--hidden"),
    "sweep keeps an earlier search": Row(
        [*SWEEP[:-1], "{dir}/old", "--lr", "nan"], says="--lr", keeps=["old/sweep.json"]
    ),
    # 4. data show's images per class
    "data show per class beyond the largest class": Row(
        ["data", "show", "digits", "--per-class", "100000", "--out", "{dir}/out.png"],
        says="--per-class",
    ),
    # 5. type and shape errors that ended in NumPy's or Python's internals
    "linear backward before forward": Call(
        lambda: Linear(3, 2).backward(np.ones((4, 2))), ValueError, "before forward"
    ),
    "relu backward before forward": Call(
        lambda: ReLU().backward(np.ones((4, 2))), ValueError, "before forward"
    ),
    "lbfgs 2-D x": Call(lambda: step_once(LBFGS(), np.ones((2, 3))), ValueError, "1-D"),
    "gradient of the wrong shape": Call(
        lambda: SGD(lr=0.1).step(lambda x: (1.0, np.ones(2)), np.ones(3)), ValueError, "shape"
    ),
    "gradient that is not an array": Call(
        lambda: SGD(lr=0.1).step(lambda x: (1.0, 0.5), np.ones(3)), ValueError, "shape"
    ),
    "lbfgs gradient of the wrong shape": Call(
        lambda: LBFGS().step(lambda x: (1.0, np.ones(2)), np.ones(3)), ValueError, "shape"
    ),
    "adam state step negative": Call(lambda: adam_from_state({"step": -5}), ValueError, "step"),
    "adam state step fractional": Call(lambda: adam_from_state({"step": 2.5}), ValueError, "step"),
    "adam state step a string": Call(lambda: adam_from_state({"step": "3"}), ValueError, "step"),
    "labels with None": Call(
        lambda: classifier_fit(SoftmaxClassifier(epochs=1), labels_with(None)), TypeError, "None"
    ),
    "labels mixing numbers and strings": Call(
        lambda: classifier_fit(SoftmaxClassifier(epochs=1), labels_with(3)), TypeError, "mixes"
    ),
    "labels with NaN": Call(
        lambda: classifier_fit(
            SoftmaxClassifier(epochs=1), np.array([0.0, 1.0] * 19 + [np.nan, 1])
        ),
        ValueError,
        "NaN",
    ),
    "mlp fractional hidden": Call(
        lambda: classifier_fit(MLPClassifier(hidden=(10.5,), epochs=1)), ValueError, "hidden"
    ),
}


def prepare(folder, row):
    """The files a row must keep, made before it runs."""
    for name in row.keeps:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"made before the command ran\n")


@pytest.mark.parametrize("case", list(TABLE.values()), ids=list(TABLE))
def test_hostile_value_ends_in_one_clear_error(case, tmp_path, monkeypatch):
    if isinstance(case, Call):
        with pytest.raises(case.error) as raised:
            case.call()
        assert case.says in str(raised.value), str(raised.value)
        return
    # The command line runs the gradwise under test, whatever PYTHONPATH said relative to
    # the folder pytest started in (the row runs in its own folder).
    monkeypatch.setenv("PYTHONPATH", str(Path(gradwise.__file__).resolve().parents[1]))
    prepare(tmp_path, case)
    check_row(case, tmp_path)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.png").exists()


def test_valid_schedules_and_state_still_run():
    """What the checks must let through: a schedule that ends at 0, a step count saved as a
    float (as JSON and PyTorch keep it), whole-number layer sizes given as floats."""
    x = np.ones(3)
    sgd = SGD(lr=CosineDecay(0.1, 2))
    for _ in range(4):
        sgd.step(bowl, x)
    assert np.all(np.isfinite(x)) and sgd.state["step"] == 4
    adam = Adam()
    adam.load_state_dict({"step": 3.0})
    assert adam.state["step"] == 3 and isinstance(adam.state["step"], int)
    assert MLPClassifier(hidden=(8.0,))._layer_sizes(3, 2) == [3, 8, 2]
