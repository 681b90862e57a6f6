"""Search spaces, validation splits, grid and random search, the resumable trial log."""

import json
import math

import numpy as np
import pytest

from gradwise import GradwiseError
from gradwise.data import kfold, load
from gradwise.estimators.knn import KNNClassifier
from gradwise.selection.search import GridSearch, RandomSearch, validation_splits
from gradwise.selection.space import (
    Choice,
    LogUniform,
    Uniform,
    grid_configs,
    make_space,
    parse_dimension,
    random_configs,
)
from gradwise.selection.trial_log import TrialLog


@pytest.fixture(scope="module")
def digits():
    ds = load("digits")
    return ds.X_train, ds.y_train, ds.X_test, ds.y_test


def without_times(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


# -- spaces ----------------------------------------------------------------------------------


def test_parse_dimension_forms():
    assert parse_dimension("sgd,adam") == Choice(["sgd", "adam"])
    assert parse_dimension("32, 64,256") == Choice([32, 64, 256])
    assert parse_dimension("0.5") == Choice([0.5])
    assert parse_dimension("1e-4:1e-1:log") == LogUniform(1e-4, 1e-1)
    assert parse_dimension("0:1") == Uniform(0.0, 1.0)
    assert parse_dimension("16:512:log:int") == LogUniform(16, 512, integer=True)
    assert parse_dimension("1:9:int") == Uniform(1, 9, integer=True)
    assert str(parse_dimension("1e-4:1e-1:log")) == "0.0001:0.1:log"


@pytest.mark.parametrize(
    "text, message",
    [
        ("1e-1:1e-4:log", "low must be <= high"),
        ("0:1:log", "log range needs low > 0"),
        ("1:2:cube", "optional ':log' and ':int'"),
        ("a:b", "bounds must be numbers"),
        ("", "empty list of values"),
        ("sgd,,adam", "empty value"),
        ("0.2:0.8:int", "holds no integer"),
        ("1:inf", "must be finite"),
    ],
)
def test_parse_dimension_refuses_bad_text(text, message):
    with pytest.raises(ValueError, match=message):
        parse_dimension(text)


def test_empty_spaces_are_refused():
    with pytest.raises(ValueError, match="search space is empty"):
        make_space({})
    with pytest.raises(ValueError, match="k: a choice needs at least one value"):
        make_space({"k": []})
    with pytest.raises(ValueError, match="search space is empty"):
        GridSearch(KNNClassifier(), {})


def test_unknown_parameter_names_are_refused():
    with pytest.raises(ValueError, match=r"no parameter 'n_neighbors'.*k, metric"):
        RandomSearch(KNNClassifier(), {"n_neighbors": [1, 3]}, n_trials=2)
    with pytest.raises(TypeError, match="not an estimator"):
        RandomSearch(object(), {"k": [1]}, n_trials=1)


def test_random_configs_are_seeded_in_bounds_and_extend():
    space = {"lr": "1e-4:1e-1:log", "reg": "0:1", "batch": "8:64:log:int", "opt": "sgd,adam"}
    a = random_configs(space, 40, seed=3)
    assert a == random_configs(space, 40, seed=3)
    assert a != random_configs(space, 40, seed=4)
    assert random_configs(space, 15, seed=3) == a[:15]  # a longer search extends a shorter one
    for c in a:
        assert 1e-4 <= c["lr"] <= 1e-1 and 0 <= c["reg"] <= 1
        assert isinstance(c["batch"], int) and 8 <= c["batch"] <= 64
        assert c["opt"] in ("sgd", "adam")
    json.dumps(a)  # plain Python values


def test_log_uniform_is_uniform_in_the_logarithm():
    draws = [c["lr"] for c in random_configs({"lr": "1e-6:1:log"}, 4000, seed=0)]
    decades = np.histogram(np.log10(draws), bins=6, range=(-6, 0))[0]
    assert decades.min() > 550 and decades.max() < 800  # about 667 per decade
    # A plain uniform range puts almost everything in the top decade.
    plain = [c["lr"] for c in random_configs({"lr": "1e-6:1"}, 4000, seed=0)]
    assert np.mean(np.asarray(plain) > 0.1) > 0.85


def test_grid_configs_cover_every_combination():
    grid = grid_configs({"lr": "1e-3:1e-1:log", "opt": "sgd,adam", "h": "1:3:int"}, points=3)
    assert len(grid) == 3 * 2 * 3
    assert sorted({c["lr"] for c in grid}) == pytest.approx([1e-3, 1e-2, 1e-1])
    assert sorted({c["h"] for c in grid}) == [1, 2, 3]
    assert len({json.dumps(c, sort_keys=True) for c in grid}) == len(grid)
    assert len(grid_configs({"h": "1:2:int"}, points=5)) == 2  # rounding repeats are merged


# -- validation ------------------------------------------------------------------------------


def test_validation_split_is_stratified_and_folds_partition():
    y = np.repeat(np.arange(4), [50, 30, 20, 100])
    [(train, val)] = validation_splits(y, folds=None, val_fraction=0.2, seed=1)
    assert len(val) == 40 and len(np.intersect1d(train, val)) == 0
    np.testing.assert_array_equal(np.bincount(y[val]), [10, 6, 4, 20])
    folds = validation_splits(y, folds=5, seed=1)
    assert len(folds) == 5
    np.testing.assert_array_equal(np.sort(np.concatenate([v for _, v in folds])), np.arange(200))


def test_search_scores_match_an_independent_cross_validation(digits):
    X, y, X_test, y_test = digits
    search = GridSearch(
        KNNClassifier(), {"k": [1, 5, 25], "metric": "l1,l2"}, folds=3, seed=2, executor="serial"
    ).fit(X, y)
    expected = {}
    for k in (1, 5, 25):
        for metric in ("l1", "l2"):
            scores = [
                KNNClassifier(k, metric).fit(X[tr], y[tr]).score(X[va], y[va])
                for tr, va in kfold(len(y), 3, seed=2)
            ]
            expected[(k, metric)] = np.mean(scores)
    for record in search.trials_:
        key = (record["params"]["k"], record["params"]["metric"])
        assert record["val_score"] == pytest.approx(expected[key], abs=1e-12)
    best = max(expected, key=lambda key: expected[key])
    assert (search.best_params_["k"], search.best_params_["metric"]) == best
    assert search.best_score_ == max(expected.values())
    # Refit on all the data, scored once on the test set.
    refit = KNNClassifier(*best).fit(X, y)
    assert len(search.best_estimator_._X) == len(X)
    assert search.score(X_test, y_test) == refit.score(X_test, y_test)
    assert search.ranked_[0]["val_score"] >= search.ranked_[-1]["val_score"]
    assert "rank" in search.table() and len(search.table(top=2).splitlines()) == 3


def test_any_estimator_with_the_interface_can_be_searched(digits, sklearn):
    from sklearn.linear_model import SGDClassifier

    assert sklearn
    X, y = digits[0].reshape(len(digits[0]), -1) / 255.0, digits[1]
    estimator = SGDClassifier(learning_rate="constant", eta0=0.01, max_iter=5, tol=None)
    search = RandomSearch(
        estimator, {"alpha": "1e-6:1e-1:log"}, n_trials=4, seed=0, executor="serial"
    ).fit(X, y)
    assert all(r["status"] == "ok" for r in search.trials_)
    assert 0.5 < search.best_score_ <= 1.0
    assert search.best_estimator_.get_params()["alpha"] == search.best_params_["alpha"]


def test_failed_and_diverged_trials_are_recorded_and_the_search_goes_on(digits, tmp_path):
    from gradwise.estimators import SoftmaxClassifier

    X, y = digits[0], digits[1]
    search = GridSearch(
        SoftmaxClassifier(optimizer="sgd", epochs=2, reg=1.0),
        {"lr": [0.1, 1e3], "batch_size": [64, 0]},
        seed=0,
        out=tmp_path,
        executor="serial",
    ).fit(X, y)
    by_params = {(r["params"]["lr"], r["params"]["batch_size"]): r for r in search.trials_}
    assert by_params[(0.1, 64)]["status"] == "ok"
    diverged = by_params[(1e3, 64)]
    assert diverged["status"] == "failed" and diverged["error"].startswith("DivergenceError")
    assert by_params[(0.1, 0)]["error"].startswith("ValueError: batch_size must be")
    assert search.best_params_ == {"batch_size": 64, "lr": 0.1}
    logged = TrialLog(tmp_path / "trials.jsonl").read()
    assert sum(r["status"] == "failed" for r in logged) == 3
    assert search.ranked_[-1]["status"] == "failed"


def test_every_trial_failing_is_an_error(digits):
    X, y = digits[0][:30], digits[1][:30]
    with pytest.raises(GradwiseError, match="every trial failed.*larger than"):
        GridSearch(KNNClassifier(), {"k": [500, 600]}, executor="serial").fit(X, y)


# -- resuming --------------------------------------------------------------------------------


def test_trial_log_appends_lines_and_skips_a_torn_last_line(tmp_path):
    log = TrialLog(tmp_path / "t.jsonl")
    log.append({"trial": 0, "x": 1.5})
    log.append({"trial": 1, "x": 2.5})
    with open(log.path, "a") as f:
        f.write('{"trial": 2, "x"')  # killed mid-write
    with pytest.warns(RuntimeWarning, match="unreadable line"):
        assert log.read() == [{"trial": 0, "x": 1.5}, {"trial": 1, "x": 2.5}]
    log.append({"trial": 2, "x": 3.5})  # the rerun trial starts a line of its own
    with pytest.warns(RuntimeWarning, match="t.jsonl:3: unreadable line"):
        assert log.read()[-1] == {"trial": 2, "x": 3.5}
    with pytest.raises(ValueError):
        log.append({"trial": 3, "x": math.nan})  # never writes a non-JSON number


def test_resumed_search_skips_finished_trials_and_gives_the_same_results(digits, tmp_path):
    X, y = digits[0], digits[1]
    space = {"k": "1:40:int", "metric": "l1,l2"}
    clean = RandomSearch(KNNClassifier(), space, n_trials=6, folds=3, executor="serial")
    clean.fit(X, y)

    seen = []
    first = RandomSearch(
        KNNClassifier(), space, n_trials=6, folds=3, out=tmp_path, executor="serial"
    )
    first.on_trial = seen.append
    first.fit(X, y)
    assert len(seen) == 6 and first.n_skipped_ == 0
    # Keep only two finished trials, as if the search had been killed after them.
    lines = (tmp_path / "trials.jsonl").read_text().splitlines()
    (tmp_path / "trials.jsonl").write_text("\n".join(lines[:2]) + "\n")

    seen.clear()
    resumed = RandomSearch(
        KNNClassifier(), space, n_trials=6, folds=3, out=tmp_path, executor="serial"
    )
    resumed.on_trial = seen.append
    resumed.fit(X, y)
    assert resumed.n_skipped_ == 2 and len(seen) == 4
    assert without_times(resumed.trials_) == without_times(clean.trials_)
    assert resumed.best_params_ == clean.best_params_
    # A longer search with the same seed reuses all six and runs two more.
    longer = RandomSearch(
        KNNClassifier(), space, n_trials=8, folds=3, out=tmp_path, executor="serial"
    ).fit(X, y)
    assert longer.n_skipped_ == 6 and len(longer.trials_) == 8


def test_a_different_search_in_the_same_folder_is_refused(digits, tmp_path):
    X, y = digits[0], digits[1]
    RandomSearch(KNNClassifier(), {"k": [1, 3]}, n_trials=2, out=tmp_path, executor="serial").fit(
        X, y
    )
    with pytest.raises(GradwiseError, match="different sweep.*search"):
        RandomSearch(
            KNNClassifier(), {"k": [1, 5]}, n_trials=2, out=tmp_path, executor="serial"
        ).fit(X, y)
    with pytest.raises(GradwiseError, match="different sweep.*data"):
        RandomSearch(
            KNNClassifier(), {"k": [1, 3]}, n_trials=2, out=tmp_path, executor="serial"
        ).fit(X[:-1], y[:-1])


def test_bad_search_settings_are_refused():
    with pytest.raises(ValueError, match="folds must be an integer >= 2"):
        RandomSearch(KNNClassifier(), {"k": [1]}, n_trials=1, folds=1)
    with pytest.raises(ValueError, match="val_fraction must be > 0"):
        RandomSearch(KNNClassifier(), {"k": [1]}, n_trials=1, val_fraction=0)
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1"):
        RandomSearch(KNNClassifier(), {"k": [1]}, n_trials=0)
    with pytest.raises(ValueError, match="points must be an integer >= 1"):
        GridSearch(KNNClassifier(), {"k": "1:5:int"}, points=0)
    with pytest.raises(ValueError, match="executor must be one of"):
        RandomSearch(KNNClassifier(), {"k": [1]}, n_trials=1, executor="cloud").fit(
            np.zeros((10, 2)), np.arange(10) % 2
        )
