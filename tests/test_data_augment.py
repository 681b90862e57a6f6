"""Training-set augmentation: mirror images and the augmented training rows."""

import numpy as np
import pytest

from gradwise.data import load
from gradwise.data.augment import augment, mirror
from gradwise.data.split import stratified_split_indices
from gradwise.estimators import SoftmaxClassifier


def test_mirror_reverses_the_columns_of_every_image():
    images = np.arange(2 * 3 * 4 * 2).reshape(2, 3, 4, 2)
    mirrored = mirror(images)
    assert mirrored.shape == images.shape
    for n in range(2):
        for h in range(3):
            for w in range(4):
                assert list(mirrored[n, h, w]) == list(images[n, h, 3 - w])
    assert np.array_equal(mirror(mirrored), images)


def test_flip_appends_the_mirror_images_with_their_labels():
    images = np.random.default_rng(0).integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5])
    X, y = augment(images, labels, "flip")
    assert X.shape == (10, 4, 4, 3) and X.dtype == np.uint8
    assert np.array_equal(X[:5], images) and np.array_equal(X[5:], images[:, :, ::-1])
    assert list(y) == [3, 1, 4, 1, 5, 3, 1, 4, 1, 5]


@pytest.mark.parametrize("how", [None, "none"])
def test_no_augmentation_returns_the_rows_as_they_are(how):
    images, labels = np.zeros((2, 3, 3, 1)), np.array([0, 1])
    X, y = augment(images, labels, how)
    assert X is images and y is labels


def test_bad_augmentations_are_clear_errors():
    with pytest.raises(ValueError, match="augment must be one of .*'flip', got 'rotate'"):
        augment(np.zeros((2, 3, 3, 1)), np.array([0, 1]), "rotate")
    with pytest.raises(ValueError, match=r"mirroring needs images \(N, H, W, C\).*\(2, 9\)"):
        augment(np.zeros((2, 9)), np.array([0, 1]), "flip")


def _sample_rows(n):
    """``n`` training images of the packaged CIFAR-10 sample, all classes mixed."""
    ds = load("cifar10-sample")
    rows = np.random.default_rng(0).choice(len(ds.y_train), n, replace=False)
    return ds.X_train[rows], ds.y_train[rows]


def _weights(clf):
    return clf.model.weight.copy(), clf.model.bias.copy()


def test_a_flip_augmented_classifier_is_the_one_trained_on_both_sets_of_images():
    X, y = _sample_rows(600)
    options = dict(epochs=2, batch_size=64, schedule="cosine", seed=3)
    flipped = SoftmaxClassifier(augment="flip", **options).fit(X, y)
    by_hand = SoftmaxClassifier(**options).fit(
        np.concatenate([X, X[:, :, ::-1]]), np.concatenate([y, y])
    )
    for a, b in zip(_weights(flipped), _weights(by_hand), strict=True):
        assert np.array_equal(a, b)
    assert len(flipped.history_.loss) == 2 * -(-1200 // 64)
    # The model file remembers the data it was given, not the augmented copy.
    plain = SoftmaxClassifier(**options).fit(X, y)
    assert flipped.data_fingerprint_ == plain.data_fingerprint_
    assert flipped.get_params()["augment"] == "flip"


def test_validation_rows_are_never_augmented():
    X, y = _sample_rows(500)
    clf = SoftmaxClassifier(augment="flip", epochs=1, batch_size=50, validation_fraction=0.2)
    clf.fit(X, y)
    keep, held = stratified_split_indices(y, 0.2, seed=0)
    assert len(clf.history_.loss) == -(-2 * len(keep) // 50)  # the training rows, doubled
    # Validation accuracy is over the held-out images as they are, without mirrors.
    assert clf.history_.epochs[-1]["val_acc"] == pytest.approx(clf.score(X[held], y[held]))


def test_the_classifier_refuses_a_bad_augmentation_before_training():
    ds = load("digits")
    with pytest.raises(ValueError, match="augment must be one of"):
        SoftmaxClassifier(augment="mirror").fit(ds.X_train, ds.y_train)
    features = ds.X_train.reshape(len(ds.X_train), -1)
    with pytest.raises(ValueError, match="mirroring needs images"):
        SoftmaxClassifier(augment="flip").fit(features, ds.y_train)
