"""Brute-force search (``random-search``, ``random-local-search``) and the loss-only path it
runs on: ``Objective.value_only`` and the fused kernel's forward half."""

import json

import numpy as np
import pytest

from gradwise import nn
from gradwise.calculus.fused import FusedLinearLoss
from gradwise.calculus.objective import objective
from gradwise.cli import main
from gradwise.errors import DivergenceError
from gradwise.landscape.surfaces import Beale
from gradwise.optim import get
from gradwise.optim.random_search import RandomLocalSearch, RandomSearch, loss_only


def problem(dtype=np.float64, loss=None, n=300, d=12, c=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, c, n)
    model = nn.Linear(d, c, seed=seed, dtype=dtype)
    return objective(model, loss or nn.MulticlassHinge(), X, y, nn.L2(1e-3))


# -- the loss-only path ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", [nn.SoftmaxCrossEntropy(), nn.MulticlassHinge()], ids=str)
def test_value_is_the_loss_of_a_full_evaluation_and_leaves_the_gradient_alone(dtype, loss):
    f = problem(dtype, loss)
    assert f._fused is not None  # the fused kernel is what is being tested
    f.g.fill(np.nan)  # a gradient written anywhere would replace these
    value = f.value_only(f.x)
    assert np.isnan(f.g).all()
    full, _ = f(f.x)
    assert value == full


def test_value_through_the_modules_runs_no_backward(monkeypatch):
    model = nn.Sequential(nn.Linear(12, 8, seed=1), nn.ReLU(), nn.Linear(8, 4, seed=2))
    f = problem()
    f = objective(model, nn.SoftmaxCrossEntropy(), f.X, f.y, nn.L2(1e-3))
    full, _ = f(f.x)

    def refuse(*args, **kwargs):
        raise AssertionError("backward called for a loss-only evaluation")

    monkeypatch.setattr(nn.Sequential, "backward", refuse)
    monkeypatch.setattr(nn.L2, "backward", refuse)
    assert f.value_only(f.x) == full


def test_value_of_another_point_loads_it_and_counts_a_call():
    f = problem()
    other = f.x + 0.1
    calls = f.calls
    value = f.value_only(other)
    np.testing.assert_array_equal(f.x, other)
    assert f.calls == calls + 1 and value == f(other)[0]


def test_threaded_value_equals_the_threaded_evaluation():
    f = problem(np.float64, nn.SoftmaxCrossEntropy(), n=2000)
    kernel = FusedLinearLoss(f.loss, block_bytes=4096, threads=3)  # many blocks, 3 threads
    m = f.model
    grad_W, grad_b = np.empty_like(m.weight), np.empty_like(m.bias)
    full = kernel(f.X, f.y, m.weight, m.bias, grad_W, grad_b)
    assert kernel.value_only(f.X, f.y, m.weight, m.bias) == pytest.approx(full, rel=1e-14)


def test_loss_only_falls_back_to_a_plain_callable():
    assert loss_only(lambda x: (float(x @ x), 2 * x), np.array([1.0, 2.0])) == 5.0


# -- the two searches ------------------------------------------------------------------------


def draw(seed, k, shape):
    """Candidate k's standard normal numbers, as the searches draw them."""
    return np.random.default_rng([seed, k]).standard_normal(shape)


def test_random_search_is_the_sources_loop():
    """The lecture source's loop (draw W, compute its loss, keep the best) with the same
    random numbers; the starting point is the first candidate."""
    reference, scale, seed, tries = problem(), 0.05, 7, 40
    best_W = reference.x.copy()
    best_loss = reference.value_only(best_W.copy())
    for k in range(tries):
        W = draw(seed, k, best_W.shape) * scale
        loss = reference.value_only(W)
        if loss < best_loss:
            best_loss, best_W = loss, W
    f, search = problem(), RandomSearch(scale, seed=seed)
    for _ in range(tries):
        search.step(f, f.x)
    np.testing.assert_array_equal(f.x, best_W)
    assert search.state["best_loss"] == best_loss


def test_random_local_search_is_the_sources_loop():
    reference, step_size, seed, tries = problem(), 0.02, 3, 60
    W = reference.x.copy()
    best_loss = reference.value_only(W.copy())
    for k in range(tries):
        W_try = W + draw(seed, k, W.shape) * step_size
        loss = reference.value_only(W_try)
        if loss < best_loss:
            W, best_loss = W_try, loss
    f, search = problem(), RandomLocalSearch(step_size, seed=seed)
    for _ in range(tries):
        search.step(f, f.x)
    np.testing.assert_array_equal(f.x, W)
    assert search.state["best_loss"] == best_loss


@pytest.mark.parametrize("name", ["random-search", "random-local-search"])
def test_the_loss_never_rises(name):
    f = problem()
    search = get(name, seed=1)
    losses = [search.step(f, f.x) for _ in range(30)]
    assert all(a >= b for a, b in zip(losses, losses[1:], strict=False))
    assert losses[-1] < losses[0]  # 30 tries found something better than the start


@pytest.mark.parametrize("name", ["random-search", "random-local-search"])
def test_a_step_takes_one_loss_and_no_gradient(name):
    f = problem()
    calls = {"value": 0}

    class LossOnly:
        def __call__(self, x):
            raise AssertionError("a gradient was asked for")

        def value_only(self, x):
            calls["value"] += 1
            return f.value_only(x)

    search, x = get(name, seed=0), f.x
    for _ in range(10):
        search.step(LossOnly(), x)
    assert calls["value"] == 10 + 1  # one candidate a step, the start measured once


def test_reevaluate_measures_the_start_at_every_step():
    f = problem()
    search = RandomLocalSearch(0.01, reevaluate=True)
    calls = f.calls
    for _ in range(5):
        search.step(f, f.x)
    assert f.calls - calls == 10


def test_a_point_changed_between_steps_is_measured_again():
    f = problem()
    search = RandomLocalSearch(0.01)
    search.step(f, f.x)
    f.x += 1.0  # moved by someone else: the remembered loss no longer applies
    expected = f.value_only(f.x.copy())
    assert search.step(f, f.x) == expected


@pytest.mark.parametrize("cls", [RandomSearch, RandomLocalSearch])
def test_seeded_runs_are_reproducible_and_seeds_differ(cls):
    runs = {}
    for seed in (0, 0, 1):
        f = problem()
        opt = cls(0.05, seed=seed)
        for _ in range(20):
            opt.step(f, f.x)
        runs.setdefault(seed, []).append(f.x.copy())
    np.testing.assert_array_equal(*runs[0])
    assert not np.array_equal(runs[0][0], runs[1][0])


@pytest.mark.parametrize("cls", [RandomSearch, RandomLocalSearch])
def test_state_dict_resumes_exactly(cls):
    f = problem()
    straight = cls(0.05, seed=2)
    for _ in range(30):
        straight.step(f, f.x)
    end = f.x.copy()

    f = problem()
    first = cls(0.05, seed=2)
    for _ in range(12):
        first.step(f, f.x)
    resumed = cls(0.05, seed=2)
    resumed.load_state_dict(first.state_dict())
    for _ in range(18):
        resumed.step(f, f.x)
    np.testing.assert_array_equal(f.x, end)


def test_float32_candidates_stay_float32():
    f = problem(np.float32)
    x = f.x
    RandomLocalSearch(0.01).step(f, x)
    assert x.dtype == np.float32 and f.x is x


def test_a_candidate_with_a_non_finite_loss_is_rejected():
    calls = {"n": 0}

    def f(x):  # finite at the start, infinite for every candidate
        calls["n"] += 1
        return (1.0 if calls["n"] == 1 else np.inf), np.zeros_like(x)

    x = np.ones(3)
    search = RandomSearch(1.0)
    assert search.step(f, x) == 1.0
    np.testing.assert_array_equal(x, np.ones(3))


def test_a_non_finite_start_is_a_clear_error():
    x = np.ones(3)
    with pytest.raises(DivergenceError, match="non-finite loss at the starting point"):
        RandomLocalSearch(0.1).step(lambda v: (np.nan, v), x)
    np.testing.assert_array_equal(x, np.ones(3))


@pytest.mark.parametrize(
    "keywords, error, match",
    [
        (dict(scale=-1.0), ValueError, "scale must be > 0"),
        (dict(scale=float("inf")), ValueError, "finite"),
        (dict(seed=True), ValueError, "seed must be an integer"),
    ],
)
def test_bad_settings_are_refused(keywords, error, match):
    with pytest.raises(error, match=match):
        RandomSearch(**keywords)


def test_train_and_compare_run_them(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", "--data", "digits", "--epochs", "3", "--quiet", "--out", str(out),
                 "--optimizers", "random-search,random-local-search,sgd"])  # fmt: skip
    assert code == 0
    runs = {r["optimizer"]: r for r in json.loads((out / "compare.json").read_text())["runs"]}
    for name in ("random-search", "random-local-search"):
        assert runs[name]["status"] == "ok" and runs[name]["epochs"] == 3
        assert runs[name]["evaluations"] == 3 + 1  # one loss a try, and the start's
    code = main(["train", "--data", "digits", "--optimizer", "random-local-search",
                 "--lr", "0.01", "--epochs", "2", "--quiet",
                 "--out", str(tmp_path / "t")])  # fmt: skip
    assert code == 0


@pytest.mark.parametrize("name", ["random-search", "random-local-search"])
def test_they_race_on_a_surface(name):
    # A surface's own value(x, y) is not a loss-only objective: the searches use f(x)[0].
    from gradwise.landscape import race

    path = race([name], "beale", steps=40)[name]
    values = [Beale().value(*p) for p in path.positions]
    np.testing.assert_allclose(values, path.values)
    assert all(a >= b for a, b in zip(values, values[1:], strict=False)) and values[-1] < values[0]
