"""The decoded-array cache: location, keys, memory maps, atomic entries, recovery."""

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gradwise.data import cache, clear_cache, gradwise_home, image_folder, load
from gradwise.errors import DataError


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    path = tmp_path / "gradwise-home"
    monkeypatch.setenv("GRADWISE_HOME", str(path))
    return path


def make_zip(path, seed=0):
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w") as archive:
        for split in ("train", "test"):
            for cls in ("a", "b"):
                buffer = io.BytesIO()
                Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).save(buffer, "PNG")
                archive.writestr(f"{split}/{cls}/0.png", buffer.getvalue())
    return path


def entries(home):
    root = home / "cache"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_home_defaults_to_user_cache(monkeypatch):
    monkeypatch.delenv("GRADWISE_HOME")
    assert gradwise_home() == Path.home() / ".cache" / "gradwise"


def test_first_load_writes_an_entry_later_loads_map_it(tmp_path, home, monkeypatch):
    source = make_zip(tmp_path / "a.zip")
    first = load(source)
    assert entries(home) == [first.cache_path.name]
    assert sorted(p.name for p in first.cache_path.iterdir()) == [
        "X_test.npy",
        "X_train.npy",
        "meta.json",
        "y_test.npy",
        "y_train.npy",
    ]

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the cache holds the arrays")

    monkeypatch.setattr(image_folder, "decode_folder", no_decoding)
    second = load(source)
    assert isinstance(second.X_train, np.memmap) and not second.X_train.flags.writeable
    np.testing.assert_array_equal(second.X_train, first.X_train)
    assert second.cache_path == first.cache_path


def test_cache_files_are_plain_npy_without_pickle(tmp_path):
    ds = load(make_zip(tmp_path / "a.zip"))
    for npy in ds.cache_path.glob("*.npy"):
        np.load(npy, allow_pickle=False)


def test_changed_content_or_options_get_their_own_entry(tmp_path, home):
    source = make_zip(tmp_path / "a.zip")
    first = load(source).cache_path
    assert load(source, size=2).cache_path != first
    make_zip(source, seed=1)  # same name, new content
    assert load(source).cache_path not in (first,)
    assert len(entries(home)) == 3


def test_failed_build_leaves_no_entry_and_no_temp_folder(tmp_path, home, monkeypatch):
    source = make_zip(tmp_path / "a.zip")

    def failing_build(*args, **kwargs):
        raise DataError("boom")

    monkeypatch.setattr(image_folder, "decode_folder", failing_build)
    with pytest.raises(DataError, match="boom"):
        load(source)
    assert entries(home) == []


def test_interrupted_write_leaves_no_entry(tmp_path, home, monkeypatch):
    real_write = cache._write_npy
    calls = []

    def write_then_fail(path, array):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        real_write(path, array)

    monkeypatch.setattr(cache, "_write_npy", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        load(make_zip(tmp_path / "a.zip"))
    assert entries(home) == []


def test_damaged_entry_is_rebuilt(tmp_path):
    source = make_zip(tmp_path / "a.zip")
    first = load(source)
    expected = np.array(first.X_train)
    del first
    os.remove(load(source).cache_path / "X_train.npy")
    np.testing.assert_array_equal(load(source).X_train, expected)


def test_no_cache_writes_nothing(tmp_path, home):
    ds = load(make_zip(tmp_path / "a.zip"), cache=False)
    assert ds.cache_path is None and entries(home) == []
    assert ds.X_train.flags.writeable


def test_directory_fingerprint_follows_file_changes(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "x").write_bytes(b"1")
    before = cache.fingerprint(folder)
    (folder / "x").write_bytes(b"22")
    assert cache.fingerprint(folder) != before


def test_clear_cache_removes_entries(tmp_path, home):
    load(make_zip(tmp_path / "a.zip"))
    assert clear_cache() == 1
    assert entries(home) == []


def _entry_rows(name, start, stop):
    rows = np.arange(start, stop)
    if name.startswith("y"):
        return rows % 3
    return (rows[:, None, None, None] + np.zeros((1, 4, 5, 3), np.int64)).astype(np.uint8)


def test_an_entry_written_by_chunks_loads_as_a_memory_mapped_dataset(tmp_path):
    entry = tmp_path / "big-entry"
    shapes = {
        "X_train": ((1000, 4, 5, 3), np.uint8),
        "y_train": ((1000,), np.int64),
        "X_test": ((70, 4, 5, 3), np.uint8),
        "y_test": ((70,), np.int64),
    }
    cache.write_entry_by_chunks(entry, shapes, _entry_rows, {"classes": ["a", "b", "c"]}, 128)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big-entry"]  # no temporary left
    ds = load(entry)
    assert isinstance(ds.X_train, np.memmap) and not ds.X_train.flags.writeable
    assert ds.X_train.shape == (1000, 4, 5, 3) and ds.classes == ("a", "b", "c")
    assert np.array_equal(ds.X_train, _entry_rows("X", 0, 1000))
    assert np.array_equal(ds.y_test, np.arange(70) % 3)


def test_a_folder_with_a_bad_meta_or_splits_that_disagree_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "meta.json").write_text("{not json")
    with pytest.raises(DataError, match="not a readable cache entry"):
        load(bad)
    mixed = tmp_path / "mixed"
    arrays = {
        "X_train": np.zeros((6, 4, 4, 3), np.uint8),
        "y_train": np.arange(6) % 2,
        "X_test": np.zeros((2, 5, 4, 3), np.uint8),
        "y_test": np.arange(2),
    }
    cache.write_entry(mixed, arrays, {"classes": ["a", "b"]})
    with pytest.raises(DataError, match=r"train inputs are \(4, 4, 3\) uint8 but test inputs"):
        load(mixed)
    cache.write_entry(tmp_path / "floats", {**arrays, "X_test": np.zeros((2, 4, 4, 3))},
                      {"classes": ["a", "b"]})  # fmt: skip
    with pytest.raises(DataError, match="float64; every input must have one size and dtype"):
        load(tmp_path / "floats")
