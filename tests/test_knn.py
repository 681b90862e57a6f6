"""k-nearest neighbours: distances, the tie rule, parity with scikit-learn, memory, CLI."""

import json
import tracemalloc

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from gradwise.cli import main
from gradwise.estimators.knn import KNNClassifier

SKLEARN_METRIC = {"l1": "manhattan", "l2": "euclidean"}


def naive_distances(queries, train, metric):
    """Distances by a plain double loop in float64 (the reference)."""
    D = np.empty((len(queries), len(train)))
    for i, q in enumerate(queries.astype(np.float64)):
        for j, x in enumerate(train.astype(np.float64)):
            diff = q - x
            D[i, j] = np.abs(diff).sum() if metric == "l1" else np.sqrt((diff * diff).sum())
    return D


@pytest.fixture(scope="module")
def sklearn_knn(sklearn):
    """``sklearn_knn(k, metric, X, y)``: scikit-learn's brute-force classifier, fitted."""
    from sklearn.neighbors import KNeighborsClassifier

    def fit(k, metric, X, y):
        return KNeighborsClassifier(
            n_neighbors=k, metric=SKLEARN_METRIC[metric], algorithm="brute"
        ).fit(X, y)

    return fit


@pytest.fixture(scope="module")
def digits(sklearn_digits):
    X, y = sklearn_digits
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order], y[order]
    return X[:1200], y[:1200], X[1200:1500], y[1200:1500]


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_distances_match_a_naive_loop(metric, rng):
    train = rng.normal(size=(70, 13)) * 3.0
    queries = rng.normal(size=(23, 13)) * 3.0
    # A tiny budget forces many slabs and blocks.
    model = KNNClassifier(k=len(train), metric=metric, chunk_mb=0.002).fit(train, np.arange(70))
    dist, idx = model.kneighbors(queries)
    reference = naive_distances(queries, train, metric)
    np.testing.assert_allclose(dist, np.sort(reference, axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(idx, np.argsort(reference, axis=1, kind="stable"))


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_predictions_match_sklearn_on_digits(metric, digits, sklearn_knn):
    X, y, X_test, _ = digits
    ks = [1, 2, 3, 5, 10, 20, 50]
    ours = KNNClassifier(metric=metric).fit(X, y)
    each = ours.predict_each_k(X_test, ks)
    diff = X_test[:, None, :] - X[None, :, :]
    reference = np.abs(diff).sum(axis=2) if metric == "l1" else (diff * diff).sum(axis=2)
    sorted_reference = np.sort(reference, axis=1)
    boundary_ties = 0
    for k in ks:
        # One OpenMP thread: scikit-learn then pushes each query's points through one heap.
        with threadpool_limits(1, user_api="openmp"):
            theirs = sklearn_knn(k, metric, X, y)
            their_pred = theirs.predict(X_test)
            their_proba = theirs.predict_proba(X_test)
            their_idx = theirs.kneighbors(X_test, return_distance=False)
        ours.set_params(k=k)
        np.testing.assert_array_equal(each[k], their_pred)
        np.testing.assert_array_equal(ours.predict_proba(X_test), their_proba)
        _, our_idx = ours.kneighbors(X_test)
        np.testing.assert_array_equal(np.sort(our_idx, axis=1), np.sort(their_idx, axis=1))
        boundary_ties += int(np.sum(sorted_reference[:, k - 1] == sorted_reference[:, k]))
    # The comparison must exercise the tie rule: digits are integers, ties are common.
    assert boundary_ties > 50


def test_predictions_match_sklearn_on_a_cifar10_subset(sklearn_knn):
    from gradwise.data import load
    from gradwise.selection.search import stratified_subset

    ds = load("cifar10-sample")
    X, y = stratified_subset(ds.X_train, ds.y_train, 600, seed=1)
    X_test, _ = stratified_subset(ds.X_test, ds.y_test, 120, seed=1)
    rows, rows_test = X.reshape(len(X), -1), X_test.reshape(len(X_test), -1)
    for metric in ("l2", "l1"):
        ours = KNNClassifier(metric=metric).fit(X, y)  # images as they are: (N, 32, 32, 3) uint8
        each = ours.predict_each_k(X_test, [1, 3, 10])
        for k in (1, 3, 10):
            with threadpool_limits(1, user_api="openmp"):
                theirs = sklearn_knn(k, metric, rows, y).predict(rows_test)
            np.testing.assert_array_equal(each[k], theirs)


def test_heap_tie_rule_on_a_constructed_example(sklearn_knn):
    # Distances from the query at 0: [5, 5, 5, 3, 3]. The two 3s are kept; of the three
    # points at distance 5 the k=3 heap keeps index 1 (not the lowest index, 0).
    train = np.array([[5.0], [-5.0], [5.0], [3.0], [-3.0]])
    y = np.array([0, 1, 2, 3, 4])
    ours = KNNClassifier(k=3, metric="l1").fit(train, y)
    _, idx = ours.kneighbors(np.zeros((1, 1)))
    assert sorted(idx[0].tolist()) == [1, 3, 4]
    with threadpool_limits(1, user_api="openmp"):
        theirs = sklearn_knn(3, "l1", train, y).kneighbors(np.zeros((1, 1)), return_distance=False)
    assert sorted(theirs[0].tolist()) == [1, 3, 4]


def test_vote_tie_goes_to_the_smallest_label():
    train = np.array([[1.0], [-1.0], [10.0]])
    y = np.array([7, 3, 3])
    model = KNNClassifier(k=2).fit(train, y)  # neighbours of 0: labels 7 and 3, one vote each
    assert model.predict(np.zeros((1, 1)))[0] == 3
    np.testing.assert_array_equal(model.predict_proba(np.zeros((1, 1))), [[0.5, 0.5]])
    assert list(model.classes_) == [3, 7]


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_chunk_size_does_not_change_results(metric, rng):
    X = rng.integers(0, 8, size=(300, 20))  # small integers: many exact ties
    y = rng.integers(0, 4, size=300)
    Q = rng.integers(0, 8, size=(90, 20))
    big = KNNClassifier(k=7, metric=metric).fit(X, y)
    small = KNNClassifier(k=7, metric=metric, chunk_mb=0.003).fit(X, y)
    np.testing.assert_array_equal(big.predict(Q), small.predict(Q))
    np.testing.assert_array_equal(big.kneighbors(Q)[1], small.kneighbors(Q)[1])


def test_predict_each_k_equals_predict_for_each_k(rng):
    X = rng.integers(0, 5, size=(200, 6))
    y = rng.integers(0, 3, size=200)
    Q = rng.integers(0, 5, size=(50, 6))
    model = KNNClassifier(metric="l1").fit(X, y)
    each = model.predict_each_k(Q, [1, 4, 9, 200])
    for k, predictions in each.items():
        np.testing.assert_array_equal(predictions, model.set_params(k=k).predict(Q))
    assert model.set_params(k=9).score(Q, each[9]) == 1.0


def test_distance_slabs_stay_within_the_memory_budget(rng):
    # The full distance matrix would take 1,000 x 20,000 x 8 bytes = 160 MB.
    X = rng.normal(size=(20_000, 4))
    y = rng.integers(0, 10, size=20_000)
    Q = rng.normal(size=(1_000, 4))
    model = KNNClassifier(k=5, chunk_mb=4).fit(X, y)
    tracemalloc.start()
    try:
        model.predict(Q)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * 2**20, f"peak {peak / 2**20:.1f} MB"


def test_bad_input_is_refused_clearly(rng):
    X, y = rng.normal(size=(10, 3)), np.arange(10) % 2
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        KNNClassifier(k=0).fit(X, y)
    with pytest.raises(ValueError, match="larger than the 10 training points"):
        KNNClassifier(k=11).fit(X, y)
    with pytest.raises(ValueError, match="metric must be one of"):
        KNNClassifier(metric="cosine").fit(X, y)
    with pytest.raises(ValueError, match="not fitted"):
        KNNClassifier().predict(X)
    model = KNNClassifier().fit(X, y)
    with pytest.raises(ValueError, match="4 features per row"):
        model.predict(rng.normal(size=(2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full((1, 3), np.nan))
    with pytest.raises(ValueError, match="no parameter 'n_neighbors'"):
        model.set_params(n_neighbors=3)
    assert model.get_params() == {"k": 1, "metric": "l2", "chunk_mb": 256}


def test_cli_knn_chooses_k_by_cross_validation(tmp_path, capsys):
    code = main(
        ["knn", "--data", "digits", "--k", "1,3,50", "--folds", "3", "--out", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads((tmp_path / "result.json").read_text())
    mean = np.asarray(result["fold_accuracy"]).mean(axis=0)
    assert result["best_k"] == [1, 3, 50][int(np.argmax(mean))]
    assert result["best_k"] in (1, 3) and result["test_score"] > 0.9
    assert f"best k={result['best_k']}" in out
    assert (tmp_path / "knn.png").stat().st_size > 1000


def test_cli_knn_bad_k_exits_2(capsys):
    assert main(["knn", "--data", "digits", "--k", "1,zero"]) == 2
    assert "--k must be integers" in capsys.readouterr().err
