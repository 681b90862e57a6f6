"""Packaged (digits, cifar10-sample) and synthetic (spiral, blobs) datasets."""

import gzip
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gradwise.data import CIFAR10_CLASSES, load, make_blobs, make_spiral
from gradwise.data.packaged import CIFAR10_SAMPLE_FILE, packaged_file
from gradwise.data.tar_stream import iter_tar_files

ROOT = Path(__file__).resolve().parent.parent
SHARED_JPEGS = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
FILES = ROOT / "src" / "gradwise" / "data" / "files"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    path = tmp_path / "gradwise-home"
    monkeypatch.setenv("GRADWISE_HOME", str(path))
    return path


def test_digits_match_scikit_learns_copy(sklearn):
    from sklearn.datasets import load_digits as sklearn_digits

    reference = sklearn_digits()
    ds = load("digits", test_fraction=0.25, seed=0)
    assert ds.X_train.shape[1:] == (8, 8, 1) and ds.X_train.dtype == np.uint8
    assert ds.y_train.dtype == np.int64
    assert len(ds.y_train) + len(ds.y_test) == 1797
    assert ds.classes == tuple("0123456789")
    X = np.concatenate([ds.X_train, ds.X_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    counts = np.round(X[..., 0].astype(np.float64) * 16 / 255).astype(int)  # back to 0..16
    assert X.max() == 255
    # The same multiset of (image, label) pairs as scikit-learn's digits.
    ours = sorted(zip(map(bytes, counts.reshape(-1, 64).astype(np.uint8)), y.tolist(), strict=True))
    theirs = sorted(
        zip(map(bytes, reference.data.astype(np.uint8)), reference.target.tolist(), strict=True)
    )
    assert ours == theirs


def test_digits_split_is_stratified():
    ds = load("digits")
    fractions = ds.class_counts("test") / (ds.class_counts("train") + ds.class_counts("test"))
    assert np.all(np.abs(fractions - 0.2) < 0.01)


def test_packaged_files_are_small_and_licensed():
    sample = FILES / CIFAR10_SAMPLE_FILE
    assert sample.stat().st_size <= 8 * 1024 * 1024
    assert "CC BY 4.0" in (FILES / "digits.LICENSE.txt").read_text()
    assert "CIFAR-10" in (FILES / "cifar10-sample.NOTICE.txt").read_text()
    with gzip.open(FILES / "digits.csv.gz", "rt") as stream:
        assert sum(1 for _ in stream) == 1797


@pytest.fixture(scope="module")
def cifar10_sample(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADWISE_HOME", str(tmp_path_factory.mktemp("gradwise-home-sample")))
        return load("cifar10-sample")


def test_cifar10_sample_is_balanced_real_cifar10(cifar10_sample):
    ds = cifar10_sample
    assert ds.classes == CIFAR10_CLASSES
    assert ds.X_train.shape == (5000, 32, 32, 3) and ds.X_test.shape == (1000, 32, 32, 3)
    assert ds.class_counts("train").tolist() == [500] * 10
    assert ds.class_counts("test").tolist() == [100] * 10
    assert ds.y_train.dtype == np.int64
    # Real photos, not noise: neighbouring pixels are strongly correlated.
    X = ds.X_train[:200].astype(np.float64)
    assert np.corrcoef(X[:, :, :-1].ravel(), X[:, :, 1:].ravel())[0, 1] > 0.8


@pytest.mark.skipif(not SHARED_JPEGS.is_file(), reason="shared CIFAR-10 JPEG copy absent")
def test_cifar10_sample_images_are_the_shared_jpegs(cifar10_sample):
    with packaged_file(CIFAR10_SAMPLE_FILE) as path, tarfile.open(path) as archive:
        names = [m.name for m in archive.getmembers() if m.isfile()]
        first = archive.extractfile(names[0]).read()
    wanted = "cifar10-jpeg/" + names[0].split("/", 1)[1]
    original = next(data for name, data in iter_tar_files(SHARED_JPEGS) if name == wanted)
    assert first == original  # the original JPEG bytes, unchanged
    decoded = np.asarray(Image.open(io.BytesIO(original)))
    np.testing.assert_array_equal(cifar10_sample.X_test[0], decoded)


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_JPEGS.is_file(), reason="shared CIFAR-10 JPEG copy absent")
def test_sample_builder_reproduces_the_packaged_file(tmp_path):
    out = tmp_path / "sample.tar.gz"
    script = ROOT / "tools" / "make_cifar10_sample.py"
    command = [sys.executable, str(script), "--source", str(SHARED_JPEGS), "--output", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    assert out.read_bytes() == (FILES / CIFAR10_SAMPLE_FILE).read_bytes()


def test_spiral_is_seeded_and_not_linearly_separable():
    X, y = make_spiral(100, 3, seed=0)
    assert X.shape == (300, 2) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(X, make_spiral(100, 3, seed=0)[0])
    assert not np.array_equal(X, make_spiral(100, 3, seed=1)[0])
    # The best least-squares linear classifier stays far from perfect on the spiral...
    assert _linear_accuracy(X, y) < 0.7
    # ... while it separates well-spread blobs.
    Xb, yb = make_blobs(100, 3, std=0.5, spread=10, seed=0)
    assert _linear_accuracy(Xb, yb) > 0.95


def _linear_accuracy(X, y):
    A = np.column_stack([X, np.ones(len(X))])
    W = np.linalg.lstsq(A, np.eye(y.max() + 1)[y], rcond=None)[0]
    return float(np.mean((A @ W).argmax(axis=1) == y))


def test_synthetic_datasets_load_with_options():
    ds = load("spiral", n_per_class=50, n_classes=4, seed=2, test_fraction=0.2)
    assert ds.num_classes == 4 and len(ds.y_train) == 160 and len(ds.y_test) == 40
    assert ds.input_shape == (2,) and not ds.is_image
    blobs = load("blobs", n_per_class=30, dim=5)
    assert blobs.input_shape == (5,)
    np.testing.assert_array_equal(blobs.X_train, load("blobs", n_per_class=30, dim=5).X_train)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        make_spiral(noise=-1)
    with pytest.raises(TypeError, match="n_classes must be an integer"):
        make_blobs(n_classes=2.5)
