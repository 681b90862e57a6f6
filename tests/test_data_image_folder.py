"""Image folders in every container: layout rules, conversions, clear errors, no partial cache."""

import io
import tarfile
import zipfile

import numpy as np
import pytest
from PIL import Image

from gradwise.data import decode, load, load_image_folder
from gradwise.data.image_folder import plan_layout
from gradwise.errors import DataError

CONTAINERS = ["directory", "tar", "tar.gz", "zip"]


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    path = tmp_path / "gradwise-home"
    monkeypatch.setenv("GRADWISE_HOME", str(path))
    return path


def png_bytes(array, mode=None):
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def random_image(rng, height=6, width=5):
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def build(tmp_path, files, container, folders=(), name="images"):
    """Write ``{relative path: bytes}`` (and empty ``folders``) as the given container."""
    if container == "directory":
        root = tmp_path / name
        for folder in folders:
            (root / folder).mkdir(parents=True, exist_ok=True)
        for rel, data in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        return root
    if container == "zip":
        path = tmp_path / f"{name}.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for folder in folders:
                archive.writestr(folder.rstrip("/") + "/", b"")
            for rel, data in files.items():
                archive.writestr(rel, data)
        return path
    path = tmp_path / f"{name}.{container}"
    with tarfile.open(path, "w:gz" if container == "tar.gz" else "w") as archive:
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        for rel, data in files.items():
            info = tarfile.TarInfo(rel)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def split_tree(rng, prefix=""):
    """train/test x cat/dog with known pixels; return (files, expected arrays)."""
    files, expected = {}, {}
    for split, n in (("train", 3), ("test", 2)):
        for cls in ("dog", "cat"):  # written out of order on purpose
            for i in range(n):
                image = random_image(rng)
                files[f"{prefix}{split}/{cls}/img{i}.png"] = png_bytes(image)
                expected[(split, cls, i)] = image
    return files, expected


def cache_entries(home):
    root = home / "cache"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


@pytest.mark.parametrize("container", CONTAINERS)
def test_split_layout_loads_exact_pixels_in_sorted_order(tmp_path, container):
    rng = np.random.default_rng(0)
    files, expected = split_tree(rng)
    ds = load(build(tmp_path, files, container))
    assert ds.classes == ("cat", "dog")
    assert ds.X_train.shape == (6, 6, 5, 3) and ds.X_train.dtype == np.uint8
    assert ds.y_train.tolist() == [0, 0, 0, 1, 1, 1] and ds.y_test.tolist() == [0, 0, 1, 1]
    for split, X in (("train", ds.X_train), ("test", ds.X_test)):
        n = 3 if split == "train" else 2
        for c, cls in enumerate(ds.classes):
            for i in range(n):
                np.testing.assert_array_equal(X[c * n + i], expected[(split, cls, i)])
    assert ds.info["layout"] == "split"


@pytest.mark.parametrize("container", ["directory", "tar.gz"])
def test_wrapping_folder_is_looked_through(tmp_path, container):
    files, _ = split_tree(np.random.default_rng(1), prefix="my-data/")
    ds = load(build(tmp_path, files, container, folders=["my-data"]))
    assert ds.classes == ("cat", "dog") and len(ds.y_train) == 6


@pytest.mark.parametrize("container", CONTAINERS)
def test_no_split_level_makes_a_stratified_seeded_split(tmp_path, container):
    rng = np.random.default_rng(2)
    files = {f"{cls}/{i:02d}.png": png_bytes(random_image(rng)) for cls in "abc" for i in range(10)}
    path = build(tmp_path, files, container)
    ds = load(path, test_fraction=0.3, seed=4)
    assert ds.info["layout"] == "unsplit"
    assert ds.class_counts("train").tolist() == [7, 7, 7]
    assert ds.class_counts("test").tolist() == [3, 3, 3]
    again = load(path, test_fraction=0.3, seed=4)
    np.testing.assert_array_equal(ds.X_test, again.X_test)
    other = load(path, test_fraction=0.3, seed=5)
    assert not np.array_equal(ds.X_test, other.X_test)


def test_grayscale_rgba_and_palette_images_become_rgb(tmp_path):
    gray = np.arange(30, dtype=np.uint8).reshape(6, 5) * 8
    rgba = np.dstack([random_image(np.random.default_rng(3)), np.full((6, 5), 7, np.uint8)])
    palette = Image.fromarray(random_image(np.random.default_rng(4))).convert("P")
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    files = {
        "train/a/gray.png": png_bytes(gray, "L"),
        "train/a/rgba.png": png_bytes(rgba, "RGBA"),
        "train/a/palette.png": buffer.getvalue(),
        "test/a/gray.png": png_bytes(gray, "L"),
    }
    ds = load(build(tmp_path, files, "directory"))
    by_name = dict(zip(["gray", "palette", "rgba"], ds.X_train, strict=True))  # sorted by path
    np.testing.assert_array_equal(by_name["gray"], np.repeat(gray[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(by_name["rgba"], rgba[:, :, :3])  # alpha dropped
    np.testing.assert_array_equal(by_name["palette"], np.asarray(palette.convert("RGB")))


def test_jpeg_images_decode_like_pillow(tmp_path):
    image = random_image(np.random.default_rng(5), 32, 32)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=90)
    files = {"train/a/x.jpg": buffer.getvalue(), "test/a/y.jpg": buffer.getvalue()}
    ds = load(build(tmp_path, files, "zip"))
    np.testing.assert_array_equal(
        ds.X_train[0], np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
    )


@pytest.mark.parametrize("container", CONTAINERS)
def test_mismatched_sizes_name_the_files_unless_resized(tmp_path, home, container):
    rng = np.random.default_rng(6)
    files = {
        "train/a/0.png": png_bytes(random_image(rng, 6, 5)),
        "train/a/1.png": png_bytes(random_image(rng, 9, 4)),
        "test/a/0.png": png_bytes(random_image(rng, 6, 5)),
    }
    path = build(tmp_path, files, container)
    with pytest.raises(DataError, match=r"train/a/1.png is 9x4 \(height x width\)"):
        load(path)
    assert cache_entries(home) == []
    ds = load(path, size=(8, 7))
    assert ds.X_train.shape == (2, 8, 7, 3)
    assert load(path, size=3).X_test.shape == (1, 3, 3, 3)


@pytest.mark.parametrize("container", CONTAINERS)
def test_non_image_file_is_named(tmp_path, home, container):
    files, _ = split_tree(np.random.default_rng(7))
    files["train/cat/notes.txt"] = b"not an image"
    with pytest.raises(DataError, match="train/cat/notes.txt: cannot be read as an image"):
        load(build(tmp_path, files, container))
    assert cache_entries(home) == []


def test_truncated_image_is_named(tmp_path):
    files, _ = split_tree(np.random.default_rng(8))
    files["test/dog/img1.png"] = files["test/dog/img1.png"][:60]
    with pytest.raises(DataError, match="test/dog/img1.png: cannot be read"):
        load(build(tmp_path, files, "tar"))


@pytest.mark.parametrize("container", CONTAINERS)
def test_empty_class_folder_is_an_error(tmp_path, home, container):
    files, _ = split_tree(np.random.default_rng(9))
    path = build(tmp_path, files, container, folders=["train/bird", "test/bird"])
    with pytest.raises(DataError, match="train/bird: class folder has no images"):
        load(path)
    assert cache_entries(home) == []


def test_class_present_in_one_split_only_is_an_error(tmp_path):
    files, _ = split_tree(np.random.default_rng(10))
    files = {k: v for k, v in files.items() if not k.startswith("test/dog/")}
    with pytest.raises(DataError, match="class 'dog' has images in train/ but none in test/"):
        load(build(tmp_path, files, "zip"))


@pytest.mark.parametrize("container", CONTAINERS)
def test_missing_split_is_an_error(tmp_path, home, container):
    files, _ = split_tree(np.random.default_rng(11))
    files = {k: v for k, v in files.items() if k.startswith("train/")}
    with pytest.raises(DataError, match="has train/ but no test/ split"):
        load(build(tmp_path, files, container))
    assert cache_entries(home) == []


def test_images_outside_class_folders_are_errors(tmp_path):
    image = png_bytes(random_image(np.random.default_rng(12)))
    with pytest.raises(DataError, match=r"train/loose.png: images must be inside class folders"):
        load(
            build(
                tmp_path, {"train/loose.png": image, "test/a/x.png": image}, "directory", name="a"
            )
        )
    with pytest.raises(DataError, match="sits beside the split folders"):
        load(
            build(
                tmp_path,
                {"train/a/x.png": image, "test/a/x.png": image, "val/a/x.png": image},
                "zip",
            )
        )


def test_hidden_files_and_macos_litter_are_ignored(tmp_path):
    files, _ = split_tree(np.random.default_rng(13))
    files["train/cat/.DS_Store"] = b"\x00\x01"
    files["__MACOSX/train/cat/._img0.png"] = b"junk"
    ds = load(build(tmp_path, files, "zip"))
    assert len(ds.y_train) == 6


def test_empty_container_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images found"):
        load(tmp_path / "empty")


def test_truncated_and_corrupt_archives_are_clear_errors(tmp_path, home):
    files, _ = split_tree(np.random.default_rng(14))
    for container in ("tar.gz", "zip"):
        data = build(tmp_path, files, container).read_bytes()
        cut = tmp_path / f"cut.{container}"
        cut.write_bytes(data[: len(data) * 2 // 3])
        with pytest.raises(DataError, match="truncated"):
            load(cut)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"neither tar nor zip" * 50)
    with pytest.raises(DataError, match="not a directory, a .tar/.tar.gz or a .zip"):
        load(junk)
    assert cache_entries(home) == []


def test_worker_pool_gives_the_same_arrays_as_in_process(tmp_path, monkeypatch):
    rng = np.random.default_rng(15)
    files = {
        f"{split}/{cls}/{i:02d}.png": png_bytes(random_image(rng))
        for split in ("train", "test")
        for cls in ("x", "y", "z")
        for i in range(7)
    }
    path = build(tmp_path, files, "tar")
    serial = load_image_folder(path, cache=False, workers=1)
    monkeypatch.setattr(decode, "PARALLEL_THRESHOLD", 4)
    monkeypatch.setattr(decode, "BATCH_SIZE", 5)
    parallel = load_image_folder(path, cache=False, workers=2)
    np.testing.assert_array_equal(serial.X_train, parallel.X_train)
    np.testing.assert_array_equal(serial.y_test, parallel.y_test)
    files["test/y/03.png"] = b"broken"
    with pytest.raises(DataError, match="test/y/03.png: cannot be read"):
        load_image_folder(build(tmp_path, files, "zip"), cache=False, workers=2)


def test_worker_pool_reports_a_truncated_archive(tmp_path, home, monkeypatch):
    rng = np.random.default_rng(18)
    files = {
        f"{s}/a/{i:02d}.png": png_bytes(random_image(rng))
        for s in ("train", "test")
        for i in range(30)
    }
    data = build(tmp_path, files, "tar.gz").read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) // 2])
    monkeypatch.setattr(decode, "PARALLEL_THRESHOLD", 4)
    monkeypatch.setattr(decode, "BATCH_SIZE", 3)
    with pytest.raises(DataError, match="truncated"):
        load_image_folder(cut, workers=2)
    assert cache_entries(home) == []


def test_worker_pool_reports_size_mismatch_across_batches(tmp_path, monkeypatch):
    rng = np.random.default_rng(16)
    files = {f"train/a/{i:02d}.png": png_bytes(random_image(rng)) for i in range(8)}
    files["test/a/00.png"] = png_bytes(random_image(rng, 4, 4))
    monkeypatch.setattr(decode, "PARALLEL_THRESHOLD", 2)
    monkeypatch.setattr(decode, "BATCH_SIZE", 3)
    with pytest.raises(DataError, match="images must share one size"):
        load_image_folder(build(tmp_path, files, "directory"), cache=False, workers=2)


def test_plan_layout_on_paths_alone():
    split, labels, classes, has_splits = plan_layout(
        ["root/test/b/1.png", "root/train/a/1.png", "root/train/b/x/2.png", "root/test/a/9.png"]
    )
    assert has_splits and classes == ["a", "b"]
    assert split.tolist() == [1, 0, 0, 1] and labels.tolist() == [1, 0, 1, 0]
    _, labels, classes, has_splits = plan_layout(["only/1.png", "only/2.png"])
    assert not has_splits and classes == ["only"] and labels.tolist() == [0, 0]
