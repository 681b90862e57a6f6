"""Full-batch methods on minibatches: ``full_batch_methods="minibatch"`` in the library,
``NAME@minibatch`` in ``gradwise compare`` (the lecture: L-BFGS "does not transfer very well
to the mini-batch setting")."""

import json
import math

import pytest

from gradwise.cli import main
from gradwise.data import load
from gradwise.estimators import SoftmaxClassifier


@pytest.fixture(scope="module")
def digits():
    ds = load("digits")
    return ds.X_train, ds.y_train


def test_lbfgs_takes_one_step_per_minibatch_when_asked(digits):
    X, y = digits
    full = SoftmaxClassifier(optimizer="lbfgs", epochs=2, batch_size=100).fit(X, y)
    assert len(full.history_.loss) == 2 and full.trains_full_batch()
    mini = SoftmaxClassifier(optimizer="lbfgs", epochs=2, batch_size=100,
                             full_batch_methods="minibatch").fit(X, y)  # fmt: skip
    assert not mini.trains_full_batch()
    assert len(mini.history_.loss) == 2 * math.ceil(len(y) / 100)
    assert mini.score(X, y) > 0.8  # it trains (digits is easy)


def test_a_first_order_method_is_unaffected(digits):
    X, y = digits
    runs = [
        SoftmaxClassifier(optimizer="momentum", epochs=1, full_batch_methods=mode).fit(X, y)
        for mode in ("full", "minibatch")
    ]
    assert runs[0].history_.loss == runs[1].history_.loss


def test_batch_size_none_is_full_batch_for_every_method(digits):
    X, y = digits
    clf = SoftmaxClassifier(optimizer="lbfgs", epochs=1, batch_size=None,
                            full_batch_methods="minibatch").fit(X, y)  # fmt: skip
    assert len(clf.history_.loss) == 1


def test_an_unknown_mode_is_one_clear_error(digits):
    with pytest.raises(ValueError, match="full_batch_methods must be one of 'full', 'minibatch'"):
        SoftmaxClassifier(optimizer="lbfgs", full_batch_methods="mini").fit(*digits)


def test_compare_runs_lbfgs_both_ways(tmp_path):
    out = tmp_path / "cmp"
    code = main(["compare", "--data", "digits", "--epochs", "2", "--batch-size", "200",
                 "--optimizers", "momentum,lbfgs,lbfgs@minibatch", "--quiet",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    runs = {r["optimizer"]: r for r in json.loads((out / "compare.json").read_text())["runs"]}
    assert set(runs) == {"momentum", "lbfgs", "lbfgs@minibatch"}
    full = json.loads((out / "lbfgs" / "history.json").read_text())
    mini = json.loads((out / "lbfgs@minibatch" / "history.json").read_text())
    assert len(full["loss"]) == 2 and len(mini["loss"]) == len(json.loads(
        (out / "momentum" / "history.json").read_text())["loss"])  # fmt: skip


@pytest.mark.parametrize(
    "optimizers, message",
    [
        ("lbfgs@mini", "lbfgs@ must be one of 'full', 'minibatch', got 'mini'"),
        ("lbgfs@minibatch", "unknown optimizer 'lbgfs'"),
    ],
)
def test_compare_refuses_a_bad_label_in_one_line(optimizers, message, tmp_path, capsys):
    code = main(["compare", "--data", "digits", "--optimizers", optimizers,
                 "--out", str(tmp_path / "c")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()


def test_gradwise_train_has_the_flag(tmp_path):
    out = tmp_path / "t"
    code = main(["train", "--data", "digits", "--optimizer", "lbfgs", "--epochs", "1",
                 "--batch-size", "300", "--full-batch-methods", "minibatch", "--quiet",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == math.ceil(summary["n_train"] / 300)
