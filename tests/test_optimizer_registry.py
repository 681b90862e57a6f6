"""An optimizer's registry entry is all any caller knows of it: a name registered here, in the
test, trains through ``gw.fit`` and the classifiers with its own defaults, and every registered
name trains from ``gradwise train`` on the packaged digits."""

import json
from functools import partial

import numpy as np
import pytest

import gradwise as gw
from gradwise.cli import main
from gradwise.estimators import SoftmaxClassifier
from gradwise.optim import SGD, Optimizer, registry


class HalfStepGD(Optimizer):
    """Gradient descent with a step of ``lr / 2``: defined here, known to no other file."""

    def __init__(self, lr=0.3):
        super().__init__()
        self.lr = lr

    def update(self, x, g):
        x -= 0.5 * self.hyper("lr") * g


@pytest.fixture
def half_step():
    registry.register("test-half-step", HalfStepGD, summary="a test optimizer")
    yield "test-half-step"
    registry.unregister("test-half-step")


def digits():
    ds = gw.data.load("digits")
    return ds.X_train, ds.y_train


def test_a_registered_optimizer_trains_through_fit(half_step):
    X, y = digits()
    X = (X / 16.0).reshape(len(X), -1).astype(np.float32)
    model = gw.nn.Linear(X.shape[1], 10, seed=0)
    history = gw.fit(
        model, gw.nn.SoftmaxCrossEntropy(), (X, y), registry.get(half_step), epochs=3,
        batch_size=64,
    )  # fmt: skip
    assert history.loss[0] == pytest.approx(np.log(10), abs=0.05)  # small initial weights
    assert history.epochs[-1]["train_loss"] < 0.4 * history.loss[0]


def test_a_registered_optimizer_trains_a_classifier_with_its_own_defaults(half_step):
    X, y = digits()
    clf = SoftmaxClassifier(optimizer=half_step, epochs=3, schedule="none").fit(X, y)
    assert type(clf.optimizer_) is HalfStepGD
    assert clf.optimizer_.lr == 0.3  # the factory's default, not another optimizer's
    assert clf.score(X, y) > 0.8


def test_a_registered_training_learning_rate_is_the_classifiers_start():
    registry.register("test-slow-sgd", partial(SGD, momentum=0.5), lr=0.004)
    try:
        clf = SoftmaxClassifier(optimizer="test-slow-sgd", epochs=1, schedule="none")
        clf.fit(*digits())
        assert (clf.optimizer_.lr, clf.optimizer_.momentum) == (0.004, 0.5)
    finally:
        registry.unregister("test-slow-sgd")


def test_a_registered_full_batch_method_trains_full_batch_everywhere():
    from gradwise.optim import LBFGS

    registry.register("test-lbfgs", partial(LBFGS, history_size=5))
    try:
        assert registry.spec("test-lbfgs").is_full_batch
        clf = SoftmaxClassifier(optimizer="test-lbfgs", epochs=2, batch_size=32).fit(*digits())
        assert len(clf.history_.loss) == 2  # one step per epoch: the whole training set
    finally:
        registry.unregister("test-lbfgs")


def test_registered_names_reach_the_command_line_help(half_step, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert half_step in capsys.readouterr().out


@pytest.mark.parametrize("name", registry.names())
def test_every_registered_name_trains_from_gradwise_train_on_digits(name, tmp_path):
    out = tmp_path / name
    code = main(["train", "--data", "digits", "--optimizer", name, "--epochs", "2", "--quiet",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    # Two tries of a brute-force search (loss only) are at chance level; the rest learn.
    floor = 0.1 if registry.spec(name).is_loss_only else 0.5
    assert summary["test_acc"] > floor and summary["settings"]["optimizer"] == name
    steps = summary["steps"]
    assert steps == 2 if registry.spec(name).is_full_batch else steps > 2


def test_a_dense_method_too_large_for_memory_is_refused_in_one_line(tmp_path, capsys):
    # 100 x 100 x 3 images, 10 classes: 300,010 parameters, a 670 GiB dense matrix.
    X = np.zeros((20, 100, 100, 3), np.uint8)
    y = np.arange(20) % 10
    clf = SoftmaxClassifier(optimizer="bfgs", epochs=1)
    with pytest.raises(ValueError, match=r"BFGS on 300010 parameters .* use LBFGS"):
        clf.fit(X, y)
    assert getattr(clf, "model", None) is None  # refused before anything was built


def test_unknown_names_list_the_registered_ones(half_step):
    with pytest.raises(ValueError, match="unknown optimizer 'adamax'; known: .*test-half-step"):
        SoftmaxClassifier(optimizer="adamax").fit(*digits())


def test_compare_gives_full_batch_methods_one_iteration_per_epoch(tmp_path):
    out = tmp_path / "cmp"
    code = main(["compare", "--data", "digits", "--epochs", "3", "--optimizers",
                 "sgd,lbfgs,bfgs", "--quiet", "--out", str(out)])  # fmt: skip
    assert code == 0
    runs = {r["optimizer"]: r for r in json.loads((out / "compare.json").read_text())["runs"]}
    assert runs["sgd"]["passes"] == 3
    for name in ("lbfgs", "bfgs"):  # one iteration: its start and one line-search point
        assert runs[name]["passes"] <= 2 * 3, runs[name]
