"""The official CIFAR-10 archive: exact format, checksum first, restricted unpickling, cache."""

import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

from gradwise.data import cifar10, cifar10_format, load
from gradwise.data.cifar10 import ARCHIVE_NAME, OFFICIAL_MD5, load_cifar10
from gradwise.errors import DataError

CLASSES = cifar10.CLASSES


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    path = tmp_path / "gradwise-home"
    monkeypatch.setenv("GRADWISE_HOME", str(path))
    return path


def make_images(n, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def make_archive(path, *, per_batch=4, members=None, seed=0, replace=None):
    """Write a tiny archive in the official layout; return (path, md5, train, test).

    ``replace`` maps a member name to raw bytes to store instead of the real batch.
    """
    rng = np.random.default_rng(seed)
    train = [(make_images(per_batch, seed + i), rng.integers(0, 10, per_batch)) for i in range(5)]
    test = (make_images(per_batch, seed + 10), rng.integers(0, 10, per_batch))
    contents = {
        f"data_batch_{i + 1}": cifar10_format.encode_batch(
            X, y, batch_label=f"training batch {i + 1} of 5"
        )
        for i, (X, y) in enumerate(train)
    }
    contents["test_batch"] = cifar10_format.encode_batch(*test, batch_label="testing batch 1 of 1")
    contents["batches.meta"] = cifar10_format.encode_meta(CLASSES)
    contents["readme.html"] = b"<html></html>"
    contents.update(replace or {})
    names = members if members is not None else list(contents)
    with tarfile.open(path, "w:gz") as archive:
        directory = tarfile.TarInfo("cifar-10-batches-py")
        directory.type = tarfile.DIRTYPE
        archive.addfile(directory)
        for name in names:
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(contents[name])
            archive.addfile(info, io.BytesIO(contents[name]))
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    X_train = np.concatenate([X for X, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return path, md5, (X_train, y_train), test


def cache_entries(home):
    root = home / "cache"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_official_archive_loads_in_batch_order_with_meta_classes(tmp_path):
    path, md5, (X_train, y_train), (X_test, y_test) = make_archive(tmp_path / ARCHIVE_NAME)
    ds = load_cifar10(path, md5=md5)
    assert ds.X_train.shape == (20, 32, 32, 3) and ds.X_train.dtype == np.uint8
    assert ds.y_train.dtype == np.int64
    np.testing.assert_array_equal(ds.X_train, X_train)
    np.testing.assert_array_equal(ds.y_train, y_train)
    np.testing.assert_array_equal(ds.X_test, X_test)
    np.testing.assert_array_equal(ds.y_test, y_test)
    assert ds.classes == CLASSES


def test_rows_decode_as_rgb_planes_top_row_first():
    # Official row: 1024 red values, then green, then blue; each plane row-major.
    row = np.zeros(3072, np.uint8)
    row[0] = 200  # red, top-left pixel
    row[1024 + 31] = 150  # green, top-right pixel
    row[2048 + 32 * 31] = 100  # blue, bottom-left pixel
    blob = cifar10_format._pickle_py2(
        [
            (b"data", row[None, :]),
            (b"labels", [3]),
            (b"batch_label", b"x"),
            (b"filenames", [b"a.png"]),
        ]
    )
    images, labels = cifar10_format.decode_batch(blob)
    image = images[0]
    assert image[0, 0].tolist() == [200, 0, 0]
    assert image[0, 31].tolist() == [0, 150, 0]
    assert image[31, 0].tolist() == [0, 0, 100]
    assert image.sum() == 450 and labels.tolist() == [3]


def test_encoded_batches_read_like_python2_pickles_with_the_standard_library():
    images, labels = make_images(3, 1), [1, 2, 9]
    blob = cifar10_format.encode_batch(images, labels)
    batch = pickle.loads(blob, encoding="bytes")  # what the official recipe does
    assert sorted(batch) == [b"batch_label", b"data", b"filenames", b"labels"]
    assert batch[b"data"].shape == (3, 3072) and batch[b"labels"] == labels
    np.testing.assert_array_equal(cifar10_format.rows_to_images(batch[b"data"]), images)


def test_wrong_checksum_is_refused_before_reading_and_caches_nothing(tmp_path, home, monkeypatch):
    path, _, _, _ = make_archive(tmp_path / ARCHIVE_NAME)
    monkeypatch.setattr(cifar10_format, "decode_batch", _must_not_run)
    with pytest.raises(DataError, match=f"MD5 is .* expected {OFFICIAL_MD5}"):
        load_cifar10(path)
    assert cache_entries(home) == []


def _must_not_run(*args, **kwargs):
    raise AssertionError("a batch was read before the checksum passed")


def test_truncated_archive_is_a_clear_error(tmp_path, home):
    path, _, _, _ = make_archive(tmp_path / ARCHIVE_NAME, per_batch=50)
    data = path.read_bytes()
    cut = tmp_path / "cut" / ARCHIVE_NAME
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) // 2])
    # With the official checksum the MD5 check catches it first ...
    with pytest.raises(DataError, match="MD5"):
        load_cifar10(cut)
    # ... and even with a matching checksum the reader reports the truncation.
    md5 = hashlib.md5(cut.read_bytes()).hexdigest()
    with pytest.raises(DataError, match="truncated"):
        load_cifar10(cut, md5=md5)
    assert cache_entries(home) == []


def test_missing_batch_names_the_member(tmp_path, home):
    members = [
        "data_batch_1",
        "data_batch_2",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
        "batches.meta",
    ]
    path, md5, _, _ = make_archive(tmp_path / ARCHIVE_NAME, members=members)
    with pytest.raises(DataError, match="missing cifar-10-batches-py/data_batch_3"):
        load_cifar10(path, md5=md5)
    assert cache_entries(home) == []


def _global_call_pickle(module, name, argument):
    """A protocol-2 pickle that calls ``module.name(argument)`` when loaded unsafely."""
    arg = argument.encode()
    return (
        b"\x80\x02c"
        + module.encode()
        + b"\n"
        + name.encode()
        + b"\n"
        + b"X"
        + len(arg).to_bytes(4, "little")
        + arg
        + b"\x85R."
    )


@pytest.mark.parametrize(
    "module, name",
    [("os", "system"), ("posix", "system"), ("builtins", "eval"), ("subprocess", "getoutput")],
)
def test_hostile_pickle_is_refused_and_nothing_runs(tmp_path, home, module, name):
    marker = tmp_path / "pwned"
    if name == "eval":
        command = f"open({str(marker)!r}, 'w').close()"
    else:
        command = f"touch {marker}"
    hostile = _global_call_pickle(module, name, command)
    path, md5, _, _ = make_archive(tmp_path / ARCHIVE_NAME, replace={"data_batch_2": hostile})
    with pytest.raises(DataError, match=f"refusing to unpickle {module}.{name}"):
        load_cifar10(path, md5=md5)
    assert not marker.exists()
    assert cache_entries(home) == []


def test_batch_with_wrong_content_is_refused(tmp_path):
    bad = cifar10_format._pickle_py2([(b"data", np.zeros((2, 100), np.uint8)), (b"labels", [0, 1])])
    path, md5, _, _ = make_archive(tmp_path / ARCHIVE_NAME, replace={"test_batch": bad})
    with pytest.raises(DataError, match="test_batch: 'data' rows have 100 values"):
        load_cifar10(path, md5=md5)


def test_second_load_maps_the_cache_without_reading_the_archive(tmp_path, home, monkeypatch):
    path, md5, (X_train, _), _ = make_archive(tmp_path / ARCHIVE_NAME)
    first = load_cifar10(path, md5=md5)
    assert first.cache_path is not None and first.cache_path.parent == home / "cache"
    monkeypatch.setattr(cifar10, "read_official_archive", _must_not_run)
    second = load_cifar10(path, md5=md5)
    assert isinstance(second.X_train, np.memmap) and not second.X_train.flags.writeable
    np.testing.assert_array_equal(second.X_train, X_train)


def test_load_by_path_recognises_the_archive_even_renamed(tmp_path):
    path, md5, (X_train, _), _ = make_archive(tmp_path / "renamed.tgz")
    ds = load(path, md5=md5)
    assert ds.name == "cifar10"
    np.testing.assert_array_equal(ds.X_train, X_train)


def test_load_by_directory_holding_the_archive(tmp_path):
    folder = tmp_path / "somewhere"
    folder.mkdir()
    _, md5, _, (X_test, _) = make_archive(folder / ARCHIVE_NAME)
    np.testing.assert_array_equal(load(folder, md5=md5).X_test, X_test)


def test_archive_in_the_datasets_folder_is_found_by_name(home):
    (home / "datasets").mkdir(parents=True)
    _, md5, _, (X_test, _) = make_archive(home / "datasets" / ARCHIVE_NAME)
    np.testing.assert_array_equal(load("cifar10", md5=md5).X_test, X_test)


def test_offline_without_archive_says_where_to_put_it(home):
    with pytest.raises(DataError) as info:
        load("cifar10")
    message = str(info.value)
    assert str(home / "datasets" / ARCHIVE_NAME) in message
    assert "download=True" in message


def test_extracted_batches_are_refused_with_advice(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    with pytest.raises(DataError, match="cannot be verified"):
        load(tmp_path)
