"""The classifiers: scikit-learn's estimator interface, preprocessing, model files."""

import subprocess
import sys

import numpy as np
import pytest

import gradwise as gw
from gradwise.data import make_blobs, make_spiral
from gradwise.errors import ModelFileError
from gradwise.estimators import (
    MLPClassifier,
    SoftmaxClassifier,
    SVMClassifier,
    load,
)
from gradwise.estimators.model_file import save_model
from gradwise.nn import softmax
from gradwise.optim.schedule import from_spec as make_schedule

CLASSIFIERS = [SoftmaxClassifier, SVMClassifier, MLPClassifier]


def blobs(seed=0):
    X, y = make_blobs(n_per_class=60, n_classes=3, std=1.0, spread=6.0, dim=4, seed=seed)
    return X, y


def tiny_images(n=60, seed=0):
    """(n, 6, 6, 3) uint8 images whose class is the brightest channel."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.integers(0, 120, (n, 6, 6, 3))
    X[np.arange(n), :, :, y] += 120
    return X.astype(np.uint8), y


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_fit_predict_score_on_separable_blobs(cls):
    X, y = blobs()
    clf = cls(epochs=15, batch_size=16, lr=0.05)
    assert clf.fit(X, y) is clf
    assert clf.score(X, y) > 0.95
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(axis=1), 1)
    scores = clf.decision_function(X)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[scores.argmax(axis=1)])
    np.testing.assert_allclose(proba, softmax(scores))
    assert clf.n_features_in_ == 4 and len(clf.history_.epochs) == 15


def test_string_labels_and_a_given_class_order():
    X, y = blobs()
    names = np.array(["cat", "car", "frog"])[y]
    clf = SoftmaxClassifier(epochs=5, lr=0.05, batch_size=16).fit(X, names)
    assert list(clf.classes_) == ["car", "cat", "frog"]  # sorted, as scikit-learn
    assert set(clf.predict(X)) <= {"car", "cat", "frog"} and clf.score(X, names) > 0.9
    ordered = SoftmaxClassifier(epochs=5, lr=0.05, batch_size=16)
    ordered.fit(X, names, classes=["cat", "car", "frog"])
    assert list(ordered.classes_) == ["cat", "car", "frog"]
    with pytest.raises(ValueError, match="not one of the classes"):
        ordered.fit(X, names, classes=["cat", "car"])


def test_mlp_separates_the_spiral_that_a_linear_model_cannot():
    X, y = make_spiral(n_per_class=100, n_classes=3, noise=0.1, seed=0)
    linear = SoftmaxClassifier(epochs=40, lr=0.1, batch_size=32, preprocessing="none")
    mlp = MLPClassifier(
        hidden=(64,), epochs=150, lr=0.1, batch_size=32, reg=1e-4, preprocessing="none"
    )
    assert linear.fit(X, y).score(X, y) < 0.65
    assert mlp.fit(X, y).score(X, y) > 0.9


def test_images_are_preprocessed_inside_the_classifier():
    X, y = tiny_images()
    clf = SoftmaxClassifier(epochs=20, lr=0.1, batch_size=10).fit(X, y)
    assert clf.input_shape_ == (6, 6, 3) and clf.n_features_in_ == 108
    mean = clf.preprocessing_.steps[1].mean
    np.testing.assert_allclose(mean, (X / 255).mean(axis=0), rtol=1e-5)
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="shape"):
        clf.predict(X[:, :5])


def test_get_params_set_params_and_repr():
    clf = SoftmaxClassifier(lr=0.1, epochs=3)
    params = clf.get_params()
    assert params["lr"] == 0.1 and params["epochs"] == 3 and params["optimizer"] == "momentum"
    assert SoftmaxClassifier(**params).get_params() == params
    assert clf.set_params(lr=0.2, reg=0.0) is clf and clf.lr == 0.2 and clf.reg == 0.0
    with pytest.raises(ValueError, match="no parameter 'learning_rate'"):
        clf.set_params(learning_rate=1)
    assert repr(clf) == "SoftmaxClassifier(epochs=3, lr=0.2, reg=0.0)"
    assert "margin" in SVMClassifier().get_params() and "hidden" in MLPClassifier().get_params()


def test_bad_settings_raise_at_fit():
    X, y = blobs()
    with pytest.raises(ValueError, match="unknown optimizer"):
        SoftmaxClassifier(optimizer="adamax").fit(X, y)
    with pytest.raises(ValueError, match="lr must be > 0"):
        SoftmaxClassifier(lr=-0.1).fit(X, y)
    with pytest.raises(ValueError, match="preprocessing"):
        SoftmaxClassifier(preprocessing="whiten").fit(X, y)
    with pytest.raises(ValueError, match="early_stopping needs validation"):
        SoftmaxClassifier(early_stopping=2).fit(X, y)
    with pytest.raises(ValueError, match="hidden"):
        MLPClassifier(hidden=(0,)).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        SoftmaxClassifier().fit(X, np.zeros(len(X), int))
    with pytest.raises(ValueError, match="not fitted"):
        SoftmaxClassifier().predict(X)


def test_validation_fraction_and_early_stopping():
    X, y = blobs()
    clf = SoftmaxClassifier(
        epochs=200, lr=0.5, batch_size=16, validation_fraction=0.25, early_stopping=3
    )
    clf.fit(X, y)
    hist = clf.history_
    assert hist.stop_reason == "early stopping" and len(hist.epochs) < 200
    assert all(r["val_acc"] is not None for r in hist.epochs)


def test_divergence_keeps_a_usable_classifier_and_its_history():
    X, y = blobs()
    clf = MLPClassifier(hidden=(16,), lr=1e6, epochs=30, batch_size=8, preprocessing="none")
    with np.errstate(all="ignore"), pytest.raises(gw.DivergenceError, match="smaller"):
        clf.fit(X * 1000, y)
    assert clf.history_.stop_reason == "diverged"
    assert np.isfinite(gw.nn.flatten(clf.model)[0]).all()


def test_lbfgs_full_batch_trains_a_classifier():
    X, y = blobs()
    clf = SoftmaxClassifier(optimizer="lbfgs", batch_size=None, epochs=5, reg=1e-3)
    assert clf.fit(X, y).score(X, y) > 0.95
    assert clf.history_.epochs[-1]["evaluations"] >= 5


def test_save_and_load_give_the_same_predictions(tmp_path):
    X, y = tiny_images()
    names = np.array(["red", "green", "blue"])[y]
    for clf in (SoftmaxClassifier(epochs=3, lr=0.1), MLPClassifier(hidden=(7, 5), epochs=3)):
        clf.fit(X, names, classes=["red", "green", "blue"])
        path = clf.save(tmp_path / "model.npz")
        back = load(path)
        assert type(back) is type(clf) and back.get_params() == {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in clf.get_params().items()
        }
        np.testing.assert_array_equal(back.predict(X), clf.predict(X))
        np.testing.assert_array_equal(back.decision_function(X), clf.decision_function(X))
        assert list(back.classes_) == ["red", "green", "blue"]
        assert back.data_fingerprint_ == clf.data_fingerprint_
    assert load(tmp_path).score(X, names) == clf.score(X, names)  # a run folder works too


def test_load_refuses_a_model_file_without_a_classifier(tmp_path):
    path = save_model(tmp_path / "bare.npz", gw.nn.Linear(3, 2), classes=["a", "b"])
    with pytest.raises(ModelFileError, match="classifier"):
        load(path)


def test_schedule_specs_are_in_epochs():
    assert make_schedule("none", 0.1, 10, 5) is None
    step = make_schedule("step:2:0.1", 0.1, steps_per_epoch=10, epochs=5)
    assert step(19) == pytest.approx(0.1) and step(20) == pytest.approx(0.01)
    exp = make_schedule("exp:0.5", 0.1, steps_per_epoch=10, epochs=5)
    assert exp(10) == pytest.approx(0.1 * np.exp(-0.5))
    inv = make_schedule("inv:1", 0.1, steps_per_epoch=4, epochs=5)
    assert inv(4) == pytest.approx(0.05)
    cosine = make_schedule("cosine", 0.1, steps_per_epoch=10, epochs=5)
    assert cosine(0) == pytest.approx(0.1) and cosine(25) == pytest.approx(0.05)
    for bad in ("step", "warm", "exp:x", "step:1.5"):
        with pytest.raises(ValueError, match="schedule|step decay"):
            make_schedule(bad, 0.1, 10, 5)


def test_scikit_learn_model_selection_works_with_the_classifiers(sklearn):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, cross_val_score

    X, y = blobs()
    base = SoftmaxClassifier(epochs=5, batch_size=16)
    assert clone(base).get_params() == base.get_params()
    scores = cross_val_score(base, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9
    search = GridSearchCV(base, {"lr": [1e-7, 0.05]}, cv=3).fit(X, y)
    assert search.best_params_ == {"lr": 0.05}
    assert search.best_estimator_.score(X, y) > 0.9


def test_importing_gradwise_does_not_import_scikit_learn():
    code = "import sys, gradwise, gradwise.estimators; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
