"""Training-set augmentation: random flips and crops per minibatch, and mirror copies."""

import numpy as np
import pytest

from gradwise.data import load
from gradwise.data.augment import Augmentation, augment, augmentation_of, mirror
from gradwise.data.split import stratified_split_indices
from gradwise.errors import DataError
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


def test_mirror_copies_appends_the_mirror_images_with_their_labels():
    images = np.random.default_rng(0).integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5])
    X, y = augment(images, labels, "mirror-copies")
    assert X.shape == (10, 4, 4, 3) and X.dtype == np.uint8
    assert np.array_equal(X[:5], images) and np.array_equal(X[5:], images[:, :, ::-1])
    assert list(y) == [3, 1, 4, 1, 5, 3, 1, 4, 1, 5]


@pytest.mark.parametrize("how", [None, "none", "flip", "crop:2", "flip+crop:1"])
def test_only_mirror_copies_adds_rows(how):
    images, labels = np.zeros((2, 3, 3, 1)), np.array([0, 1])
    X, y = augment(images, labels, how)
    assert X is images and y is labels


@pytest.mark.parametrize(
    "spec, flip, padding",
    [("flip", True, 0), ("crop:4", False, 4), ("flip+crop:3", True, 3), ("crop:2+flip", True, 2)],
)
def test_names_read_as_flips_and_paddings(spec, flip, padding):
    augmentation = augmentation_of(spec)
    assert (augmentation.flip, augmentation.padding) == (flip, padding)
    assert augmentation_of(augmentation.name).name == augmentation.name


@pytest.mark.parametrize(
    "spec, message",
    [
        ("rotate", "augment must be one of .*crop:P.*got 'rotate'"),
        ("flip+flip", "augment must be one of"),
        ("crop:0", "crop:P needs a padding P of at least 1"),
        ("crop:-2", "crop:P needs a padding P of at least 1"),
        ("crop:x", "crop:P needs a padding P of at least 1"),
        (3, "augment must be one of"),
    ],
)
def test_bad_augmentations_are_clear_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        augment(np.zeros((2, 3, 3, 1)), np.array([0, 1]), spec)


def test_a_random_flip_mirrors_exactly_the_drawn_images():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (64, 5, 6, 3), dtype=np.uint8)
    augmentation = Augmentation(flip=True)
    choices = augmentation.draw(np.random.default_rng(7), 64)
    changed = images.copy()
    augmentation.apply(changed, choices)
    flipped = choices[:, 0].astype(bool)
    assert 16 < flipped.sum() < 48  # about half
    assert np.array_equal(changed[flipped], images[flipped][:, :, ::-1])
    assert np.array_equal(changed[~flipped], images[~flipped])


def test_a_random_crop_is_a_shifted_window_of_the_zero_padded_image():
    rng = np.random.default_rng(2)
    images = rng.integers(1, 256, (40, 6, 5, 2), dtype=np.uint8)
    augmentation = Augmentation(padding=2)
    choices = augmentation.draw(np.random.default_rng(3), 40)
    changed = images.copy()
    augmentation.apply(changed, choices)
    assert set(choices[:, 1:].ravel()) <= set(range(5))
    for image, original, (_, row, column) in zip(changed, images, choices, strict=True):
        padded = np.zeros((10, 9, 2), np.uint8)
        padded[2:8, 2:7] = original
        assert np.array_equal(image, padded[row : row + 6, column : column + 5])


def test_augmentation_refuses_flat_features_and_a_padding_as_large_as_the_image():
    with pytest.raises(DataError, match=r"augment='flip' needs images \(N, H, W, C\).*\(4, 64\)"):
        Augmentation(flip=True).check_images((4, 64))
    with pytest.raises(DataError, match="crop:8 pads by more than the 8x8 images allow"):
        Augmentation(padding=8).check_images((4, 8, 8, 1))
    Augmentation(padding=7).check_images((4, 8, 8, 1))


def _sample_rows(n):
    """``n`` training images of the packaged CIFAR-10 sample, all classes mixed."""
    ds = load("cifar10-sample")
    rows = np.random.default_rng(0).choice(len(ds.y_train), n, replace=False)
    return ds.X_train[rows], ds.y_train[rows]


def _weights(clf):
    return clf.model.weight.copy(), clf.model.bias.copy()


def test_a_mirror_copies_classifier_is_the_one_trained_on_both_sets_of_images():
    X, y = _sample_rows(600)
    options = dict(epochs=2, batch_size=64, schedule="cosine", seed=3)
    copies = SoftmaxClassifier(augment="mirror-copies", **options).fit(X, y)
    by_hand = SoftmaxClassifier(**options).fit(
        np.concatenate([X, X[:, :, ::-1]]), np.concatenate([y, y])
    )
    for a, b in zip(_weights(copies), _weights(by_hand), strict=True):
        assert np.array_equal(a, b)
    assert len(copies.history_.loss) == 2 * -(-1200 // 64)
    # The model file remembers the data it was given, not the augmented copy.
    plain = SoftmaxClassifier(**options).fit(X, y)
    assert copies.data_fingerprint_ == plain.data_fingerprint_
    assert copies.get_params()["augment"] == "mirror-copies"


def test_random_augmentation_keeps_the_rows_and_changes_the_weights():
    X, y = _sample_rows(300)
    options = dict(epochs=2, batch_size=64, seed=3)
    plain = SoftmaxClassifier(**options).fit(X, y)
    flipped = SoftmaxClassifier(augment="flip", **options).fit(X, y)
    again = SoftmaxClassifier(augment="flip", **options).fit(X, y)
    assert len(flipped.history_.loss) == len(plain.history_.loss) == 2 * -(-300 // 64)
    assert not np.array_equal(flipped.model.weight, plain.model.weight)
    assert np.array_equal(flipped.model.weight, again.model.weight)  # seeded
    other = SoftmaxClassifier(augment="flip", **{**options, "seed": 4}).fit(X, y)
    assert not np.array_equal(other.model.weight, flipped.model.weight)


@pytest.mark.parametrize("how", ["flip", "mirror-copies"])
def test_validation_rows_are_never_augmented(how):
    X, y = _sample_rows(500)
    clf = SoftmaxClassifier(augment=how, epochs=1, batch_size=50, validation_fraction=0.2)
    clf.fit(X, y)
    keep, held = stratified_split_indices(y, 0.2, seed=0)
    copies = 2 if how == "mirror-copies" else 1
    assert len(clf.history_.loss) == -(-copies * len(keep) // 50)
    # Validation accuracy is over the held-out images as they are.
    assert clf.history_.epochs[-1]["val_acc"] == pytest.approx(clf.score(X[held], y[held]))


def test_the_classifier_refuses_a_bad_augmentation_before_training():
    ds = load("digits")
    with pytest.raises(ValueError, match="augment must be one of"):
        SoftmaxClassifier(augment="mirror").fit(ds.X_train, ds.y_train)
    features = ds.X_train.reshape(len(ds.X_train), -1)
    for how in ("flip", "crop:2"):
        with pytest.raises(DataError, match="needs images"):
            SoftmaxClassifier(augment=how).fit(features, ds.y_train)
    with pytest.raises(ValueError, match="mirroring needs images"):
        SoftmaxClassifier(augment="mirror-copies").fit(features, ds.y_train)
    with pytest.raises(DataError, match="crop:8 pads by more than the 8x8 images allow"):
        SoftmaxClassifier(augment="crop:8").fit(ds.X_train, ds.y_train)
    with pytest.raises(ValueError, match="lbfgs is a full-batch method, which needs the same"):
        SoftmaxClassifier(augment="flip", optimizer="lbfgs", epochs=1).fit(ds.X_train, ds.y_train)
