"""What a Ray job is given without a cluster: the memory a trial asks for, the runtime_env
that ships gradwise, and the report each node's version check compares."""

import pickle
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import gradwise
from gradwise.data import load
from gradwise.estimators import MLPClassifier, SoftmaxClassifier
from gradwise.selection.executors import ONE_THREAD_ENV, environment_report, job_env
from gradwise.selection.search import (
    FIT_ALLOWANCE,
    evaluate_config,
    fit_memory,
    stratified_subset,
    validation_splits,
)
from gradwise.training.loop import EVAL_ROWS


@pytest.fixture(scope="module")
def images():
    ds = load("cifar10-sample")
    return stratified_subset(ds.X_train, ds.y_train, 1000, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "estimator, folds",
    [(SoftmaxClassifier(epochs=1), None), (MLPClassifier(epochs=1, hidden=32), 3)],
    ids=["softmax-split", "mlp-3-fold"],
)
def test_a_trial_allocates_no_more_than_the_memory_it_asks_for(images, estimator, folds):
    X, y = images
    splits = validation_splits(y, folds, 0.1, 0)
    shared = {"estimator": estimator, "X": X, "y": y, "splits": splits}
    evaluate_config(shared, {})  # first-call caches are not a trial's
    tracemalloc.start()
    try:
        record = evaluate_config(shared, {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert record["status"] == "ok"
    rows = max(len(train) + len(val) for train, val in splits)
    asked = fit_memory(estimator, X, rows, 10)
    assert peak <= asked  # Ray reserves at least what the trial takes
    assert asked - FIT_ALLOWANCE <= 1.5 * peak  # and not much more, beyond the allowance


def test_the_memory_formula_counts_rows_features_dtype_and_model_state():
    X = np.zeros((1, 32, 32, 3), np.uint8)
    linear = SoftmaxClassifier()
    streamed = 50_000 * 2 * 3072 * 1 + EVAL_ROWS * 3072 * 4  # uint8 copies, one float32 block
    state = 5 * (3072 + 1) * 10 * 4  # parameters, gradients, 3 buffers, float32
    assert linear.state_nbytes((32, 32, 3), 10) == state
    assert fit_memory(linear, X, 50_000, 10) == streamed + state + FIT_ALLOWANCE
    whole = 50_000 * (2 * 3072 * 1 + 2 * 3072 * 8)  # full batch: the features made once
    lbfgs = SoftmaxClassifier(optimizer="lbfgs")
    assert fit_memory(lbfgs, X, 50_000, 10) == whole + state + FIT_ALLOWANCE
    assert fit_memory(object(), X.astype(np.float64), 10, 10) == 10 * 3072 * 32 + FIT_ALLOWANCE


def test_the_job_ships_this_gradwise_or_pins_its_versions():
    shipped = job_env("py_modules")
    assert shipped["env_vars"] == ONE_THREAD_ENV
    folder = Path(shipped["py_modules"][0])
    assert folder == Path(gradwise.__file__).resolve().parent
    assert (folder / "selection" / "executors.py").is_file() and "__pycache__" in shipped[
        "excludes"
    ]
    pinned = job_env("pip")["pip"]
    assert pinned == [f"gradwise=={gradwise.__version__}", f"numpy=={np.__version__}"]
    assert job_env("none") == {"env_vars": ONE_THREAD_ENV}


def test_the_version_report_names_gradwise_numpy_and_blas_and_travels_by_value():
    report = environment_report()
    assert report["gradwise"] == gradwise.__version__ and report["numpy"] == np.__version__
    assert report["blas"] and report["blas"] != "unknown BLAS"
    assert pickle.loads(pickle.dumps(report)) == report
