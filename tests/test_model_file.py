"""Model files: round trips, and every way a file can be untrustworthy is refused."""

import json
import zipfile

import numpy as np
import pytest

import gradwise as gw
from gradwise.errors import ModelFileError
from gradwise.estimators.model_file import (
    MODEL_FORMAT,
    build_model,
    describe_model,
    fingerprint,
    load_model,
    pack_tree,
    read_archive,
    save_model,
    unpack_tree,
    write_archive,
)


def mlp():
    model = gw.nn.Sequential(
        gw.nn.Linear(12, 5, init="he", seed=1), gw.nn.ReLU(), gw.nn.Linear(5, 3, seed=2)
    )
    gw.nn.flatten(model)
    return model


def saved(tmp_path, **kw):
    return save_model(
        tmp_path / "m.npz",
        mlp(),
        classes=["a", "b", "c"],
        loss=gw.nn.MulticlassHinge(margin=2.0),
        penalty=gw.nn.ElasticNet(1e-3, beta=0.5),
        input_shape=(2, 2, 3),
        preprocessing={"mean": np.arange(12, dtype=np.float32), "name": "mean"},
        training={"epochs": 3},
        data_fingerprint="sha256:abc",
        **kw,
    )


def test_round_trip_rebuilds_everything(tmp_path):
    path = saved(tmp_path)
    back = load_model(path)
    original = mlp()
    assert describe_model(back.model) == describe_model(original)
    for (_, a, name), (_, b, _) in zip(
        back.model.named_parameters(), original.named_parameters(), strict=True
    ):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert back.classes == ["a", "b", "c"] and back.input_shape == (2, 2, 3)
    assert isinstance(back.loss, gw.nn.MulticlassHinge) and back.loss.margin == 2.0
    assert isinstance(back.penalty, gw.nn.ElasticNet) and back.penalty.beta == 0.5
    np.testing.assert_array_equal(back.preprocessing["mean"], np.arange(12, dtype=np.float32))
    assert back.training == {"epochs": 3} and back.data_fingerprint == "sha256:abc"
    assert back.metadata["gradwise_version"] == gw.__version__
    # The rebuilt model is ready: its parameters live in one flat vector.
    x, _ = gw.nn.flatten(back.model)
    X = np.random.default_rng(0).standard_normal((4, 12)).astype(np.float32)
    np.testing.assert_array_equal(back.model.forward(X), original.forward(X))
    assert x.dtype == np.float32


def test_missing_directory_and_non_npz_files_are_refused(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "nope.npz")
    with pytest.raises(ModelFileError, match="is a directory"):
        load_model(tmp_path)
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="not a readable"):
        load_model(text)


def test_truncated_and_bit_flipped_files_are_refused(tmp_path):
    path = saved(tmp_path)
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_model(cut)
    flipped = bytearray(data)
    position = data.find(b"param/0.weight") + 400  # inside that array's bytes
    flipped[position] ^= 0xFF
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(ModelFileError):
        load_model(bad)


def rewrite(path, change):
    """Rewrite an archive's members through ``change(arrays, metadata)``."""
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays.pop("__metadata__")))
    change(arrays, meta)
    arrays["__metadata__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


def test_an_array_that_does_not_match_its_checksum_is_refused(tmp_path):
    path = saved(tmp_path)
    rewrite(path, lambda a, m: a.__setitem__("param/2.bias", a["param/2.bias"] + 1))
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(path)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a, m: m.update(format="gradwise-checkpoint"), "not a model file"),
        (lambda a, m: m.update(format_version=99), "newer"),
        (lambda a, m: m.update(classes=["a", "b"]), "2 class names"),
        (lambda a, m: m["architecture"]["layers"].append({"type": "Dropout"}), "Dropout"),
        (lambda a, m: m["architecture"]["layers"][0].update(in_features=13), "shape"),
        (lambda a, m: m.update(loss={"type": "Huber"}), "Huber"),
        (lambda a, m: m.update(input_shape=[0, 2]), "input_shape"),
    ],
)
def test_inconsistent_metadata_is_refused(tmp_path, change, message):
    path = saved(tmp_path)
    rewrite(path, change)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_non_finite_parameters_are_refused(tmp_path):
    model = gw.nn.Linear(3, 2)
    gw.nn.flatten(model)
    model.weight[0, 0] = np.nan
    path = save_model(tmp_path / "nan.npz", model, classes=["a", "b"])
    with pytest.raises(ModelFileError, match="NaN"):
        load_model(path)


def test_pickled_objects_are_never_loaded(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, __metadata__=np.array("{}"), payload=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="not a readable"):
        load_model(path)
    with pytest.raises(TypeError, match="Python objects"):
        write_archive(tmp_path / "o.npz", {"o": np.array([None], object)}, {}, format="x")


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = saved(tmp_path)
    before = path.read_bytes()

    def broken(*args, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        saved(tmp_path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_archives_are_plain_npz_with_a_json_record(tmp_path):
    path = saved(tmp_path)
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
    assert "__metadata__.npy" in names and "param/0.weight.npy" in names
    arrays, meta = read_archive(path, format=MODEL_FORMAT)
    assert meta["arrays"]["param/0.weight"]["shape"] == [12, 5]


def test_trees_with_arrays_round_trip():
    tree = {"a": [np.float32(1.5), np.arange(3)], "b": {"c": None, "d": "x"}, "e": (1, 2.5)}
    arrays = {}
    packed = pack_tree(tree, arrays, "t")
    json.dumps(packed)  # JSON-able
    back = unpack_tree(packed, arrays)
    assert back["a"][0] == np.float32(1.5) and isinstance(back["a"][0], np.float32)
    np.testing.assert_array_equal(back["a"][1], np.arange(3))
    assert back["b"] == {"c": None, "d": "x"} and back["e"] == [1, 2.5]
    with pytest.raises(TypeError):
        pack_tree({"f": object()}, {}, "t")


def test_architectures_rebuild_and_fingerprints_tell_data_apart():
    spec = {
        "type": "Sequential",
        "layers": [{"type": "Linear", "in_features": 4, "out_features": 2}, {"type": "Tanh"}],
    }
    assert describe_model(build_model(spec)) == spec
    a = np.arange(6).reshape(2, 3)
    assert fingerprint(a) == fingerprint(a.copy()) != fingerprint(a.T)
    assert fingerprint(a) != fingerprint(a.astype(np.int32))
