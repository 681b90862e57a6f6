"""Pictures of models and runs: files, sizes and the numbers behind each picture."""

import numpy as np
import pytest
from PIL import Image

from gradwise import nn, plot
from gradwise.plot.style import FALLBACK_COLORS, OKABE_ITO

CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def image_size(path):
    with Image.open(path) as im:
        return im.size


# --- palette ---------------------------------------------------------------------------


def test_every_optimizer_has_its_own_colour_and_names_are_case_insensitive():
    names = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]
    colors = [plot.color_of(n) for n in names]
    assert len(set(colors)) == len(names)
    assert set(colors) <= set(OKABE_ITO.values())
    assert plot.color_of(" Adam ") == plot.color_of("adam")


def test_unknown_names_get_a_stable_fallback_colour():
    assert plot.color_of("baseline run") == plot.color_of("baseline run")
    assert plot.color_of("baseline run") in FALLBACK_COLORS
    with pytest.raises(TypeError):
        plot.color_of(3)


def test_colors_for_keeps_known_colours_and_separates_unknown_runs():
    colors = plot.colors_for(["adam", "run a", "run b", "run c"])
    assert colors["adam"] == plot.color_of("adam")
    unknown = [colors[n] for n in ("run a", "run b", "run c")]
    assert len(set(unknown)) == 3 and colors["adam"] not in unknown


# --- class templates -------------------------------------------------------------------


def test_template_images_rescale_each_class_to_0_255(rng):
    weight = rng.standard_normal((3072, 10)) * np.arange(1, 11)  # different scales per class
    images = plot.template_images(weight)
    assert images.shape == (10, 32, 32, 3) and images.dtype == np.uint8
    assert (images.reshape(10, -1).min(axis=1) == 0).all()
    assert (images.reshape(10, -1).max(axis=1) == 255).all()
    # The order of pixels is the row-major (H, W, C) order of the flattened images.
    c = 4
    column = weight[:, c]
    expected = np.rint(255 * (column - column.min()) / (column.max() - column.min()))
    np.testing.assert_array_equal(images[c].reshape(-1), expected.astype(np.uint8))
    assert images[c, 0, 1, 2] == expected[1 * 3 + 2]


def test_template_images_drop_the_bias_trick_row_and_grey_a_constant_class(rng):
    weight = rng.standard_normal((3073, 3))
    weight[:, 1] = 0.5
    images = plot.template_images(weight)
    assert images.shape == (3, 32, 32, 3)
    assert (images[1] == 128).all()
    np.testing.assert_array_equal(images[0], plot.template_images(weight[:-1])[0])


def test_template_images_reject_a_shape_that_does_not_fit(rng):
    with pytest.raises(ValueError, match="3072 values"):
        plot.template_images(rng.standard_normal((100, 10)))
    with pytest.raises(ValueError, match="image_shape"):
        plot.template_images(rng.standard_normal((64, 10)), image_shape=(8, 8, 2))
    with pytest.raises(ValueError, match="NaN"):
        plot.template_images(np.full((3072, 2), np.nan))


def test_class_templates_writes_a_labelled_grid(tmp_path, rng):
    path = plot.class_templates(rng.standard_normal((3072, 10)), CIFAR10, tmp_path / "t.png")
    width, height = image_size(path)
    assert width > 4 * height  # ten templates in one row
    grey = plot.class_templates(
        rng.standard_normal((64, 12)), range(12), tmp_path / "g.png", image_shape=(8, 8, 1)
    )
    width, height = image_size(grey)
    assert height > width / 5  # two rows (10 + 2)


def test_class_templates_needs_one_name_per_class(tmp_path, rng):
    with pytest.raises(ValueError, match="10 class columns but 9"):
        plot.class_templates(rng.standard_normal((3072, 10)), CIFAR10[:9], tmp_path / "t.png")
    assert not (tmp_path / "t.png").exists()


def test_linear_weight_accepts_linear_models_and_refuses_hidden_layers():
    linear = nn.Linear(3072, 10)
    assert plot.linear_weight(linear) is linear.weight
    assert plot.linear_weight(nn.Sequential(linear)) is linear.weight

    class Classifier:
        model = linear

    assert plot.linear_weight(Classifier()) is linear.weight
    mlp = nn.Sequential(nn.Linear(3072, 100), nn.ReLU(), nn.Linear(100, 10))
    with pytest.raises(ValueError, match="linear model.*Linear, ReLU, Linear"):
        plot.linear_weight(mlp)
    with pytest.raises(ValueError, match="linear model"):
        plot.linear_weight(nn.ReLU())


# --- training curves -------------------------------------------------------------------


def fake_history(epochs=4, steps_per_epoch=25, seed=0, validation=True):
    rng = np.random.default_rng(seed)
    n = epochs * steps_per_epoch
    loss = 2.3 * np.exp(-np.arange(n) / 40) + 0.5 + 0.1 * rng.standard_normal(n)
    records = [
        {
            "epoch": e + 1,
            "train_loss": float(loss[(e + 1) * steps_per_epoch - 1]),
            "train_acc": 0.3 + 0.05 * e,
            "val_loss": float(loss[(e + 1) * steps_per_epoch - 1]) + 0.1 if validation else None,
            "val_acc": 0.28 + 0.04 * e if validation else None,
            "seconds": 0.5,
        }
        for e in range(epochs)
    ]
    return {"loss": loss.tolist(), "lr": [0.1] * n, "epochs": records}


def test_smooth_is_a_bias_corrected_moving_average():
    values = np.array([1.0, 3.0, 3.0, 3.0])
    out = plot.smooth(values, weight=0.5)
    assert out[0] == 1.0  # no pull towards zero at the start
    assert out[1] == pytest.approx((0.25 * 1 + 0.5 * 3) / 0.75)
    np.testing.assert_array_equal(plot.smooth(values, weight=0.0), values)
    assert np.all(np.diff(out) > 0) and out[-1] < 3.0
    # NaN steps keep the previous average.
    assert plot.smooth([1.0, np.nan, 1.0], weight=0.9)[1] == 1.0
    with pytest.raises(ValueError):
        plot.smooth(values, weight=1.0)


def test_curves_of_reads_records_or_columns_and_places_steps_in_epochs():
    history = fake_history(epochs=4, steps_per_epoch=25)
    curves = plot.curves_of(history)
    np.testing.assert_array_equal(curves.epoch, [1, 2, 3, 4])
    assert curves.step_positions()[24] == pytest.approx(1.0)
    assert curves.step_positions()[-1] == pytest.approx(4.0)
    columns = {"loss": history["loss"], "val_acc": [0.1, 0.2]}
    curves = plot.curves_of(columns)
    np.testing.assert_array_equal(curves.epoch, [1, 2])
    assert len(curves.train_acc) == 0

    class History:
        def to_dict(self):
            return history

    assert len(plot.curves_of(History()).step_loss) == 100
    no_val = plot.curves_of(fake_history(validation=False))
    assert len(no_val.val_acc) == 0 and len(no_val.train_acc) == 4


def test_step_positions_follow_the_step_counts_of_the_epoch_records():
    history = {
        "loss": [1.0] * 12,
        "epochs": [{"epoch": 1, "train_loss": 1.0, "steps": 4}, {"epoch": 2, "steps": 10}],
    }
    x = plot.curves_of(history).step_positions()
    np.testing.assert_allclose(x[:4], [0.25, 0.5, 0.75, 1.0])
    assert x[9] == pytest.approx(2.0)
    assert x[11] == pytest.approx(2.0 + 2 / 6)  # after the last epoch: the last epoch's pace


def test_training_curves_overlays_runs_in_one_file(tmp_path):
    histories = {name: fake_history(seed=i) for i, name in enumerate(["sgd", "momentum", "adam"])}
    path = plot.training_curves(histories, tmp_path / "curves.png")
    width, height = image_size(path)
    assert width > 1.5 * height  # loss and accuracy side by side
    log = plot.training_curves(histories, tmp_path / "log.svg", log_scale=True)
    assert "<svg" in log.read_text()[:500]
    only_loss = plot.training_curves({"sgd": {"loss": [3.0, 2.0, 1.5]}}, tmp_path / "l.png")
    width, height = image_size(only_loss)
    assert width < 1.5 * height  # no accuracy panel when there is no accuracy
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "l.png", "log.svg"]


def test_training_curves_refuses_bad_input_and_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match="non-empty"):
        plot.training_curves({}, tmp_path / "c.png")
    with pytest.raises(ValueError, match="neither"):
        plot.training_curves({"x": {"lr": [0.1]}}, tmp_path / "c.png")
    with pytest.raises(TypeError):
        plot.training_curves({"x": [1, 2, 3]}, tmp_path / "c.png")
    with pytest.raises(ValueError, match="suffixes"):
        plot.training_curves({"x": fake_history()}, tmp_path / "c.gif")


# --- confusion matrix ------------------------------------------------------------------


def test_row_rates_and_accuracy():
    matrix = np.array([[8, 2, 0], [1, 1, 0], [0, 0, 0]])
    np.testing.assert_allclose(plot.row_rates(matrix), [[0.8, 0.2, 0], [0.5, 0.5, 0], [0, 0, 0]])
    assert plot.accuracy_of(matrix) == pytest.approx(9 / 12)


def test_confusion_matrix_writes_a_square_picture(tmp_path, rng):
    matrix = rng.integers(0, 20, (10, 10)) + np.diag(rng.integers(50, 100, 10))
    path = plot.confusion_matrix(matrix, CIFAR10, tmp_path / "sub" / "cm.png")
    width, height = image_size(path)
    assert 0.8 < width / height < 1.6


@pytest.mark.parametrize(
    ("matrix", "classes", "error"),
    [
        (np.ones((2, 3)), ["a", "b"], "square"),
        (np.ones((2, 2)), ["a"], "2 rows but 1 class"),
        (-np.ones((2, 2)), ["a", "b"], "non-negative"),
        (np.full((2, 2), np.nan), ["a", "b"], "finite"),
    ],
)
def test_confusion_matrix_refuses_bad_matrices(tmp_path, matrix, classes, error):
    with pytest.raises(ValueError, match=error):
        plot.confusion_matrix(matrix, classes, tmp_path / "cm.png")


# --- gradwise templates ------------------------------------------------------------------


def tiny_images(rng, n=40, classes=4):
    X = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return X, np.arange(n) % classes


def test_templates_command_draws_a_saved_linear_classifier(tmp_path, rng, capsys):
    from gradwise.cli import main
    from gradwise.estimators import SoftmaxClassifier

    X, y = tiny_images(rng)
    SoftmaxClassifier(epochs=1, batch_size=20).fit(X, y).save(tmp_path / "model.npz")
    out = tmp_path / "templates.png"
    assert main(["templates", str(tmp_path / "model.npz"), "--out", str(out)]) == 0
    width, height = image_size(out)
    assert width > 2.5 * height  # four templates in one row
    assert "4 templates of shape 32x32x3" in capsys.readouterr().out


def test_templates_command_refuses_a_model_with_hidden_layers(tmp_path, rng, capsys):
    from gradwise.cli import main
    from gradwise.estimators import MLPClassifier

    X, y = tiny_images(rng)
    MLPClassifier(epochs=1, batch_size=20).fit(X, y).save(tmp_path / "mlp.npz")
    out = tmp_path / "t.png"
    assert main(["templates", str(tmp_path / "mlp.npz"), "--out", str(out)]) == 2
    assert "linear model" in capsys.readouterr().err and not out.exists()
    assert main(["templates", str(tmp_path / "missing.npz"), "--out", str(out)]) == 2


def test_templates_image_shape_from_the_weight_or_the_command_line():
    from gradwise.commands.templates import infer_shape, parse_shape

    assert infer_shape(3072) == (32, 32, 3)
    assert infer_shape(3073) == (32, 32, 3)  # bias trick
    assert infer_shape(64) == (8, 8, 1)
    with pytest.raises(ValueError, match="--image-shape"):
        infer_shape(1000)
    assert parse_shape("16x16x3") == (16, 16, 3)
    with pytest.raises(ValueError, match="HxWxC"):
        parse_shape("16x16x4")
