"""uint8 images trained on directly: each minibatch (and each block of a full-batch pass)
converted as it is needed gives, bit for bit, what the float32 features computed up front
give; random augmentation resumes bit for bit; bad inputs fail before the first step."""

import numpy as np
import pytest

import gradwise as gw
from gradwise.data import load, preprocessing
from gradwise.data.augment import augmentation_of
from gradwise.data.features import ImageFeatures
from gradwise.errors import DataError
from gradwise.estimators import MLPClassifier, SoftmaxClassifier, SVMClassifier
from gradwise.estimators import classifier as classifier_module
from gradwise.estimators.classifier import PREPROCESSING
from gradwise.optim.lbfgs import LBFGS
from gradwise.optim.sgd import SGD
from gradwise.training import fit
from gradwise.training.callbacks import Callback, Checkpoint
from test_checkpoint_resume import CrashAt, Interrupted


def precomputed(X, pipeline, dtype=np.float32, augmentation=None):
    """Today's way, kept as the reference: every feature computed before the first step."""
    assert augmentation is None
    return pipeline.transform(X).astype(dtype, copy=False)


@pytest.fixture(scope="module")
def sample():
    ds = load("cifar10-sample")
    rows = np.random.default_rng(0).choice(len(ds.y_train), 400, replace=False)
    return ds.X_train[rows], ds.y_train[rows], ds.X_test[:200], ds.y_test[:200]


def _fit_both(monkeypatch, make, X, y, **fit_kw):
    new = make().fit(X, y, **fit_kw)
    with monkeypatch.context() as m:
        m.setattr(classifier_module, "feature_rows", precomputed)
        old = make().fit(X, y, **fit_kw)
    return new, old


def _same_run(new, old):
    """Every weight, every step's loss and every epoch's record equal, bit for bit."""
    a, b = gw.nn.flatten(new.model)[0], gw.nn.flatten(old.model)[0]
    assert a.dtype == b.dtype and np.array_equal(a, b)
    assert new.history_.loss == old.history_.loss
    drop = lambda e: {k: v for k, v in e.items() if k != "seconds"}  # noqa: E731
    assert [drop(e) for e in new.history_.epochs] == [drop(e) for e in old.history_.epochs]


@pytest.mark.parametrize("how", list(PREPROCESSING))
def test_every_preprocessing_trains_to_the_same_weights_as_precomputed_features(
    monkeypatch, sample, how
):
    X, y, X_val, y_val = sample
    make = lambda: SoftmaxClassifier(preprocessing=how, epochs=2, batch_size=64, seed=2)  # noqa: E731
    new, old = _fit_both(monkeypatch, make, X, y, validation_data=(X_val, y_val))
    _same_run(new, old)
    assert np.array_equal(new.decision_function(X_val), old.decision_function(X_val))


@pytest.mark.parametrize(
    "make",
    [
        lambda: SoftmaxClassifier(preprocessing="standardize", dtype="float64", epochs=2, seed=1),
        lambda: SVMClassifier(preprocessing="channel-mean", epochs=2, sampling="replacement"),
        lambda: MLPClassifier(hidden=(16,), epochs=2, batch_size=100, validation_fraction=0.2),
        lambda: SoftmaxClassifier(augment="mirror-copies", epochs=2, batch_size=128),
    ],
    ids=["float64", "svm-replacement", "mlp", "mirror-copies"],
)
def test_other_models_dtypes_and_samplings_train_as_with_precomputed_features(
    monkeypatch, sample, make
):
    X, y, _, _ = sample
    _same_run(*_fit_both(monkeypatch, make, X, y))


def test_newton_gets_the_whole_matrix_once_for_its_hessian(monkeypatch, sample):
    X, y, _, _ = sample
    small = X[:120, :8, :8]  # 192 features: a dense Hessian of 1,930 parameters
    make = lambda: SoftmaxClassifier(optimizer="newton", epochs=2)  # noqa: E731
    _same_run(*_fit_both(monkeypatch, make, small, y[:120]))


@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_a_full_batch_method_streams_the_images_block_by_block(monkeypatch, sample, model):
    """L-BFGS's objective over every row: the fused pass converts one block at a time
    (blocks made small here, so there are many, split between threads)."""
    X, y, _, _ = sample

    class SmallBlocks(Callback):
        def on_train_begin(self, run):
            if run.objective._fused is not None:
                run.objective._fused.block_bytes = 50 * 3072 * 4

    def make():
        if model == "mlp":
            return MLPClassifier(hidden=(8,), optimizer="lbfgs", epochs=2)
        return SoftmaxClassifier(optimizer="lbfgs", epochs=2, preprocessing="channel-mean")

    new, old = _fit_both(monkeypatch, make, X, y, callbacks=[SmallBlocks()])
    _same_run(new, old)


def test_image_features_are_the_pipelines_features_row_for_row(sample):
    X = sample[0][:300]
    pipeline = preprocessing(center="channel", standardize=True, bias_trick=True).fit(X)
    features = ImageFeatures(X, pipeline)
    expected = pipeline.transform(X)
    assert features.shape == expected.shape and len(features) == 300
    assert np.array_equal(features[10:250], expected[10:250])
    index = np.array([299, 0, 5, 5, 17])
    out = np.empty((5, features.shape[1]), np.float32)
    assert np.array_equal(features.take_into(index, out), expected[index])
    # Fitting streams the uint8 images and learns the statistics fitting on float32 would.
    again = preprocessing(center="channel", standardize=True).fit(X.astype(np.float32) / 255)
    assert np.array_equal(pipeline.steps[1].mean, again.steps[1].mean)
    assert np.array_equal(pipeline.steps[1].std, again.steps[1].std)


def _augmented_run(X, y, path, *, crash_at=None, resume=False):
    pipeline = preprocessing(center="pixel").fit(X)
    features = ImageFeatures(X, pipeline, augmentation=augmentation_of("flip+crop:4"))
    model = gw.nn.Linear(features.shape[1], 10, seed=0)
    callbacks = [Checkpoint(path, every_epochs=0, every_steps=crash_at or 0)]
    if crash_at is not None:
        callbacks.append(CrashAt(crash_at))
    fit(
        model,
        gw.nn.SoftmaxCrossEntropy(),
        (features, y),
        SGD(lr=0.01, momentum=0.9),
        epochs=3,
        batch_size=64,
        seed=5,
        callbacks=callbacks,
        resume=path if resume else None,
    )
    return model.weight.copy(), model.bias.copy()


def test_random_flips_and_crops_resume_bit_for_bit(sample, tmp_path):
    X, y, _, _ = sample
    whole = _augmented_run(X, y, tmp_path / "whole.npz")
    steps_per_epoch = -(-len(y) // 64)
    with pytest.raises(Interrupted):
        _augmented_run(X, y, tmp_path / "cut.npz", crash_at=steps_per_epoch + 4)  # mid-epoch 2
    resumed = _augmented_run(X, y, tmp_path / "cut.npz", resume=True)
    for a, b in zip(whole, resumed, strict=True):
        assert np.array_equal(a, b)


def test_each_epoch_draws_new_flips(sample):
    X = sample[0][:64]
    features = ImageFeatures(
        X, preprocessing(center=None).fit(X), augmentation=augmentation_of("flip")
    )
    rng = np.random.default_rng(0)
    first, second = features.draw(rng, 64), features.draw(rng, 64)
    assert not np.array_equal(first, second)
    out = np.empty((64, features.shape[1]), np.float32)
    features.take_into(np.arange(64), out, first)
    flipped = first[:, 0].astype(bool)
    expected = (X.astype(np.float32) / np.float32(255)).copy()
    expected[flipped] = expected[flipped][:, :, ::-1]
    assert np.array_equal(out, expected.reshape(64, -1))


def test_bad_inputs_fail_before_the_first_step(sample):
    X, y, _, _ = sample
    pipeline = preprocessing(center="pixel").fit(X)
    with pytest.raises(DataError, match=r"fitted on inputs of shape \(32, 32, 3\).*\(16, 16, 3\)"):
        ImageFeatures(X[:, :16, :16], pipeline)
    with pytest.raises(DataError, match="needs uint8 or float inputs"):
        ImageFeatures(X.astype(np.int32), pipeline)
    with pytest.raises(ValueError, match="a minibatch at a time for preprocessing of the form"):
        ImageFeatures(X, preprocessing(flatten=False).fit(X))
    with pytest.raises(DataError, match="crop:40 pads by more than the 32x32 images allow"):
        ImageFeatures(X, pipeline, augmentation=augmentation_of("crop:40"))
    with pytest.raises(ValueError, match="validation inputs are float32, training inputs uint8"):
        SoftmaxClassifier(epochs=1).fit(X, y, validation_data=(X[:50].astype(np.float32), y[:50]))
    with pytest.raises(ValueError, match=r"must be 50 rows of shape \(32, 32, 3\)"):
        SoftmaxClassifier(epochs=1).fit(X, y, validation_data=(X[:50, :16], y[:50]))
    features = ImageFeatures(X, pipeline)
    model = gw.nn.Linear(features.shape[1], 10, dtype=np.float64)
    with pytest.raises(TypeError, match="makes float32 rows, the model is float64"):
        fit(model, gw.nn.SoftmaxCrossEntropy(), (features, y), SGD(lr=0.1), batch_size=8)
    floats = X[:20].astype(np.float32)
    floats[7, 3, 4, 1] = np.nan
    with pytest.raises(DataError, match=r"data: X holds NaN or Inf \(at row 7\)"):
        SoftmaxClassifier(augment="flip", epochs=1).fit(floats, y[:20])
    flipping = ImageFeatures(X, pipeline, augmentation=augmentation_of("flip"))
    model = gw.nn.Linear(features.shape[1], 10)
    with pytest.raises(ValueError, match="full-batch method needs the same objective"):
        fit(model, gw.nn.SoftmaxCrossEntropy(), (flipping, y), LBFGS())
