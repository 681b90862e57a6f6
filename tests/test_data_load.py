"""``load()``: names, paths, options, and the real CIFAR-10 JPEG copy."""

from pathlib import Path

import numpy as np
import pytest

from gradwise.data import CIFAR10_CLASSES, DATASETS, Dataset, load
from gradwise.errors import DataError

SHARED_JPEGS = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    path = tmp_path / "gradwise-home"
    monkeypatch.setenv("GRADWISE_HOME", str(path))
    return path


def test_every_name_but_the_official_archive_loads_offline():
    for name in DATASETS:
        if name == "cifar10":
            continue
        ds = load(name)
        assert isinstance(ds, Dataset) and ds.name == name
        assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
        assert len(ds.X_train) == len(ds.y_train) > 0 and len(ds.X_test) == len(ds.y_test) > 0
        if ds.is_image:
            assert ds.X_train.dtype == np.uint8 and ds.X_train.ndim == 4


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(DataError, match="neither a dataset name \\(cifar10, cifar10-sample"):
        load("cifar100")


def test_option_errors_are_clear():
    with pytest.raises(TypeError, match="unexpected options for digits: noise"):
        load("digits", noise=0.1)
    with pytest.raises(ValueError, match="size applies to image folders only"):
        load("spiral", size=8)
    with pytest.raises(ValueError, match="cannot be changed"):
        load("cifar10-sample", size=16)
    with pytest.raises(TypeError, match="name or a path"):
        load(42)


def test_dataset_validates_labels():
    X = np.zeros((2, 2), np.float32)
    with pytest.raises(DataError, match="int64"):
        Dataset("x", X, np.array([0, 1], np.int32), X, np.array([0, 1]), ("a", "b"), "test")
    with pytest.raises(DataError, match="outside 0..1"):
        Dataset("x", X, np.array([0, 2]), X, np.array([0, 1]), ("a", "b"), "test")
    with pytest.raises(DataError, match="2 train inputs but 1 labels"):
        Dataset("x", X, np.array([0]), X, np.array([0, 1]), ("a", "b"), "test")


@pytest.fixture(scope="module")
def shared_cifar10(tmp_path_factory):
    if not SHARED_JPEGS.is_file():
        pytest.skip("shared CIFAR-10 JPEG copy absent")
    home = tmp_path_factory.mktemp("gradwise-home-shared")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADWISE_HOME", str(home))
        first = load(SHARED_JPEGS)
        second = load(SHARED_JPEGS)
    return first, second


@pytest.mark.slow
def test_shared_cifar10_jpegs_load_completely(shared_cifar10):
    ds, _ = shared_cifar10
    assert ds.X_train.shape == (50000, 32, 32, 3) and ds.X_test.shape == (10000, 32, 32, 3)
    assert ds.X_train.dtype == np.uint8
    assert ds.classes == CIFAR10_CLASSES
    assert ds.class_counts("train").tolist() == [5000] * 10
    assert ds.class_counts("test").tolist() == [1000] * 10
    assert np.all(np.diff(ds.y_train) >= 0)  # ordered by class


@pytest.mark.slow
def test_shared_cifar10_second_load_is_memory_mapped(shared_cifar10):
    first, second = shared_cifar10
    assert isinstance(second.X_train, np.memmap)
    assert second.cache_path == first.cache_path
    np.testing.assert_array_equal(second.X_test[::997], first.X_test[::997])
