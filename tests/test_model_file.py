"""Model files: round trips, and every way a file can be untrustworthy is refused."""

import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import gradwise as gw
from gradwise.errors import ModelFileError
from gradwise.estimators.model_file import (
    MODEL_FORMAT,
    fingerprint,
    load_model,
    pack_tree,
    read_archive,
    save_model,
    unpack_tree,
    write_archive,
)
from gradwise.optim.sgd import SGD


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
    assert back.model.describe() == original.describe()
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
    assert gw.nn.Module.rebuild(spec).describe() == spec
    a = np.arange(6).reshape(2, 3)
    assert fingerprint(a) == fingerprint(a.copy()) != fingerprint(a.T)
    assert fingerprint(a) != fingerprint(a.astype(np.int32))


# -- descriptions: each class saves and rebuilds itself -----------------------------------

#: Written by the code before descriptions moved into the nn classes (commit 6d4654a):
#: Sequential(Linear(3, 2, init="he", seed=1) with bias [0.25, -0.5], ReLU,
#: Linear(2, 2, init="he", seed=2), Tanh, Sigmoid), MulticlassHinge(0.5, "sum"),
#: ElasticNet(0.01, beta=0.25), classes ["no", "yes"], input_shape (3,).
FORMAT1_MLP = Path(__file__).parent / "data" / "format1_mlp.npz"


@pytest.fixture
def scratch_registries(monkeypatch):
    """Classes a test defines are registered in copies, forgotten after the test."""
    for base in (gw.nn.Module, gw.nn.Criterion, gw.nn.Penalty):
        monkeypatch.setattr(base, "registry", dict(base.registry))


def test_a_file_written_before_descriptions_moved_into_the_classes_still_loads(tmp_path):
    back = load_model(FORMAT1_MLP)
    assert [type(m).__name__ for m in back.model.layers] == [
        "Linear",
        "ReLU",
        "Linear",
        "Tanh",
        "Sigmoid",
    ]
    assert isinstance(back.loss, gw.nn.MulticlassHinge)
    assert (back.loss.margin, back.loss.reduction) == (0.5, "sum")
    assert isinstance(back.penalty, gw.nn.ElasticNet)
    assert (back.penalty.lam, back.penalty.beta, back.penalty.include_bias) == (0.01, 0.25, False)
    X = np.linspace(-1, 1, 12).reshape(4, 3).astype(np.float32)
    expected = [[0.5, 0.5], [0.5, 0.5], [0.5321624279, 0.4149264693], [0.5638530254, 0.3495900332]]
    np.testing.assert_allclose(back.model.forward(X), expected, rtol=1e-6)
    # Saved again, it has the very same descriptions.
    again = save_model(
        tmp_path / "again.npz",
        back.model,
        classes=back.classes,
        loss=back.loss,
        penalty=back.penalty,
    )
    _, meta = read_archive(again, format=MODEL_FORMAT)
    for key in ("architecture", "loss", "penalty", "dtype"):
        assert meta[key] == back.metadata[key]


def test_descriptions_keep_the_json_shape_of_earlier_files(tmp_path):
    model = gw.nn.Linear(3, 2, dtype=np.float64)
    gw.nn.flatten(model)
    path = save_model(
        tmp_path / "l.npz",
        model,
        classes=["a", "b"],
        loss=gw.nn.SoftmaxCrossEntropy(),
        penalty=gw.nn.L2(0.5, include_bias=True),
    )
    _, meta = read_archive(path, format=MODEL_FORMAT)
    # What commit 6d4654a wrote for the same objects.
    assert meta["architecture"] == {"type": "Linear", "in_features": 3, "out_features": 2}
    assert meta["loss"] == {"type": "SoftmaxCrossEntropy", "reduction": "mean"}
    assert meta["penalty"] == {"type": "L2", "lam": 0.5, "include_bias": True}
    _, meta = read_archive(saved(tmp_path), format=MODEL_FORMAT)
    linear = {"type": "Linear", "in_features": 12, "out_features": 5}
    assert meta["architecture"] == {
        "type": "Sequential",
        "layers": [linear, {"type": "ReLU"}, {**linear, "in_features": 5, "out_features": 3}],
    }
    assert meta["loss"] == {"type": "MulticlassHinge", "margin": 2.0, "reduction": "mean"}
    assert meta["penalty"] == {
        "type": "ElasticNet",
        "lam": 1e-3,
        "beta": 0.5,
        "include_bias": False,
    }


def test_a_new_loss_trains_saves_and_loads_with_no_code_beyond_its_class(
    tmp_path, scratch_registries
):
    class ScaledCrossEntropy(gw.nn.Criterion):
        """Cross-entropy times ``scale``: one keyword argument, kept under its own name."""

        def __init__(self, scale=1.0):
            super().__init__()
            if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
                raise ValueError(f"scale must be a number > 0, got {scale!r}")
            self.scale = float(scale)
            self._inner = gw.nn.SoftmaxCrossEntropy()

        def forward(self, scores, labels):
            return self.scale * self._inner.forward(scores, labels)

        def backward(self):
            return self.scale * self._inner.backward()

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = gw.nn.Linear(4, 2, seed=0)
    history = gw.fit(model, ScaledCrossEntropy(scale=2.5), (X, y), SGD(lr=0.1), epochs=5)
    assert history.loss[-1] < history.loss[0]

    path = save_model(tmp_path / "m.npz", model, classes=["-", "+"], loss=ScaledCrossEntropy(2.5))
    back = load_model(path)
    assert type(back.loss) is ScaledCrossEntropy and back.loss.scale == 2.5
    assert back.metadata["loss"] == {"type": "ScaledCrossEntropy", "scale": 2.5}
    scores = model.forward(X)
    assert back.loss.forward(scores, y) == ScaledCrossEntropy(2.5).forward(scores, y)
    # Its own constructor check guards its arguments in a file.
    rewrite(path, lambda a, m: m["loss"].update(scale=-1))
    with pytest.raises(ModelFileError, match=r"m\.npz: bad ScaledCrossEntropy loss .*scale"):
        load_model(path)


def test_a_new_penalty_trains_saves_and_loads_with_no_code_beyond_its_class(
    tmp_path, scratch_registries
):
    class Power(gw.nn.Penalty):
        """``lam * sum |w|^power``: one keyword argument besides the base's."""

        def __init__(self, lam, power=4):
            super().__init__(lam)
            if isinstance(power, bool) or not isinstance(power, int) or power < 2:
                raise ValueError(f"power must be an integer >= 2, got {power!r}")
            self.power = power

        def value(self, w):
            return self.lam * (np.abs(w) ** self.power).sum()

        def add_gradient(self, w, grad):
            grad += self.lam * self.power * np.abs(w) ** (self.power - 1) * np.sign(w)

    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 3))
    y = (X[:, 1] > 0).astype(np.int64)
    model = gw.nn.Linear(3, 2, seed=0, dtype=np.float64)
    loss = gw.nn.SoftmaxCrossEntropy()
    gw.fit(model, loss, (X, y), SGD(lr=0.1), penalty=Power(1e-3, power=3), epochs=3)

    path = save_model(tmp_path / "m.npz", model, classes=["-", "+"], penalty=Power(1e-3, power=3))
    back = load_model(path)
    assert type(back.penalty) is Power and (back.penalty.lam, back.penalty.power) == (1e-3, 3)
    assert back.metadata["penalty"] == {"type": "Power", "lam": 1e-3, "power": 3}
    assert back.penalty.forward(back.model) == Power(1e-3, power=3).forward(model)
    rewrite(path, lambda a, m: m["penalty"].update(power=1))
    with pytest.raises(ModelFileError, match="power must be an integer >= 2"):
        load_model(path)


@pytest.mark.parametrize(
    "entry, description, message",
    [
        # Only registered classes of the kind the entry holds are built.
        ("architecture", {"type": "L2", "lam": 1.0}, "unknown layer type 'L2'"),
        ("architecture", {"type": "Module"}, "unknown layer type 'Module'"),
        ("loss", {"type": "Linear", "in_features": 2, "out_features": 2}, "unknown loss"),
        ("penalty", {"type": "Penalty", "lam": 1.0}, "unknown penalty type 'Penalty'"),
        ("loss", {"margin": 1.0}, "must be an object with a 'type'"),
        ("loss", "MulticlassHinge", "must be an object with a 'type'"),
        ("architecture", [{"type": "ReLU"}], "must be an object with a 'type'"),
        # Arguments are JSON scalars and lists, checked by the class's own constructor.
        ("loss", {"type": "MulticlassHinge", "margin": {"x": 1}}, "'margin' must be a number"),
        ("loss", {"type": "MulticlassHinge", "margin": -1.0}, "margin must be >= 0"),
        ("loss", {"type": "MulticlassHinge", "margin": float("nan")}, "margin must be finite"),
        ("loss", {"type": "SoftmaxCrossEntropy", "reduction": "max"}, "reduction must be"),
        ("loss", {"type": "SoftmaxCrossEntropy", "temperature": 2}, "temperature"),
        ("penalty", {"type": "L2"}, "lam"),
        ("penalty", {"type": "L2", "lam": 1.0, "include_bias": "yes"}, "include_bias"),
        ("penalty", {"type": "ElasticNet", "lam": 1.0, "beta": True}, "beta"),
        ("architecture", {"type": "Linear", "in_features": 0, "out_features": 2}, "in_features"),
        ("architecture", {"type": "Linear", "in_features": 3, "out_features": 2.0}, "out_feat"),
        ("architecture", {"type": "Linear", "in_features": True, "out_features": 2}, "positive"),
        ("architecture", {"type": "Linear", "in_features": 3}, "out_features"),
        (
            "architecture",
            {"type": "Linear", "in_features": 3, "out_features": 2, "init": "he"},
            "init",
        ),
        ("architecture", {"type": "ReLU", "inplace": True}, "inplace"),
        ("architecture", {"type": "Sequential", "layers": []}, "non-empty 'layers' list"),
        ("architecture", {"type": "Sequential"}, "non-empty 'layers' list"),
        ("architecture", {"type": "Sequential", "layers": ["ReLU"]}, "'type', got 'ReLU'"),
        ("architecture", {"type": "Sequential", "layers": [{"type": "Dropout"}]}, "Dropout"),
    ],
)
def test_an_untrusted_description_is_refused_in_one_line_naming_the_file(
    tmp_path, entry, description, message
):
    path = saved(tmp_path)
    rewrite(path, lambda a, m: m.update({entry: description}))
    with pytest.raises(ModelFileError, match=message) as caught:
        load_model(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and "\n" not in text


def test_sizes_too_large_to_allocate_are_a_model_file_error():
    with pytest.raises(ModelFileError, match="bad Linear layer arguments"):
        gw.nn.Module.rebuild({"type": "Linear", "in_features": 2**40, "out_features": 2**40})


def test_descriptions_nested_past_the_recursion_limit_are_a_model_file_error():
    description = {"type": "ReLU"}
    for _ in range(sys.getrecursionlimit()):
        description = {"type": "Sequential", "layers": [description]}
    with pytest.raises(ModelFileError, match="nest too deeply"):
        gw.nn.Module.rebuild(description)


def test_only_registered_classes_with_json_arguments_are_saved(tmp_path, scratch_registries):
    model = mlp()
    with pytest.raises(TypeError, match="not a registered loss"):
        save_model(tmp_path / "m.npz", model, classes="abc", loss=gw.nn.Criterion())

    class Renamed(gw.nn.Criterion):
        def __init__(self, weight=1.0):
            super().__init__()
            self.w = weight

    with pytest.raises(TypeError, match="'weight' is not kept as self.weight"):
        save_model(tmp_path / "m.npz", model, classes="abc", loss=Renamed())

    class Weighted(gw.nn.Criterion):
        def __init__(self, weights=None):
            super().__init__()
            self.weights = weights

    with pytest.raises(TypeError, match=r"'weights' \(ndarray\) is not a JSON"):
        Weighted(np.ones(3)).describe()
    assert Weighted([1.0, 2.0]).describe() == {"type": "Weighted", "weights": [1.0, 2.0]}
    assert not (tmp_path / "m.npz").exists()


def test_two_classes_of_one_kind_cannot_share_a_name(scratch_registries):
    with pytest.raises(TypeError, match="a loss class named 'MulticlassHinge' exists already"):

        class MulticlassHinge(gw.nn.Criterion):
            pass

    # The built-in one is still what a file naming it gets; other kinds are apart.
    assert gw.nn.Criterion.registry["MulticlassHinge"] is gw.nn.MulticlassHinge

    class L2(gw.nn.Module):  # a layer may share a penalty's name
        pass

    assert gw.nn.Penalty.rebuild({"type": "L2", "lam": 1.0}).__class__ is gw.nn.L2
    assert type(gw.nn.Module.rebuild({"type": "L2"})) is L2


def test_classes_a_test_defines_are_forgotten_after_it():
    assert "L2" not in gw.nn.Module.registry and "Power" not in gw.nn.Penalty.registry
