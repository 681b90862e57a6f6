"""End to end through the command line, in subprocesses, on the packaged cifar10-sample:
train -> evaluate -> predict -> explain -> compare, and bad input (one line, exit 2)."""

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gradwise.data import load
from gradwise.estimators import load as load_classifier
from gradwise.training import History

pytestmark = pytest.mark.slow


def gradwise(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "gradwise.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def one_line_error(result, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    err = result.stderr.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture(scope="module")
def sample():
    return load("cifar10-sample")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "linear"
    result = gradwise("train", "--epochs", "3", "--out", out)
    assert result.returncode == 0, result.stderr
    return out, result.stdout


@pytest.fixture(scope="module")
def images(tmp_path_factory, sample):
    """A test image as PNG (32x32) and as a larger JPEG; a text file posing as an image."""
    folder = tmp_path_factory.mktemp("images")
    first = int(np.flatnonzero(sample.y_test == 3)[0])  # a cat
    Image.fromarray(sample.X_test[first]).save(folder / "cat.png")
    Image.fromarray(sample.X_test[first]).resize((96, 80)).save(folder / "big.jpg", quality=95)
    (folder / "fake.png").write_text("this is not an image")
    return folder, sample.X_test[first]


def test_train_writes_model_history_and_summary(run_dir, sample):
    out, stdout = run_dir
    for name in ("model.npz", "history.json", "summary.json", "checkpoint.npz", "log.jsonl"):
        assert (out / name).is_file(), name
    history = History.load(out / "history.json")
    summary = json.loads((out / "summary.json").read_text())
    assert len(history.epochs) == summary["epochs_run"] == 3
    assert len(history.loss) == summary["steps"] == 3 * math.ceil(4500 / 256)
    assert summary["final_objective"] == history.epochs[-1]["train_loss"]
    assert summary["val_acc"] == history.epochs[-1]["val_acc"]
    assert history.epochs[-1]["train_loss"] < history.epochs[0]["train_loss"]
    # Well above chance (0.1) on the real test images, and what the model file predicts.
    clf = load_classifier(out)
    names = np.asarray(sample.classes)[sample.y_test]
    assert summary["test_acc"] == clf.score(sample.X_test, names) and summary["test_acc"] > 0.25
    assert f"test acc {summary['test_acc']:.4f}" in stdout
    assert list(clf.classes_) == list(sample.classes)
    epochs = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in epochs if e["event"] == "epoch"] == [1, 2, 3]


def test_evaluate_reports_accuracy_per_class_and_confusion(run_dir, tmp_path):
    out, _ = run_dir
    summary = json.loads((out / "summary.json").read_text())
    result = gradwise("evaluate", out, "--json", tmp_path / "eval.json")
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"accuracy (\d\.\d+)", result.stdout).group(1))
    assert accuracy == pytest.approx(summary["test_acc"], abs=1e-4)
    report = json.loads((tmp_path / "eval.json").read_text())
    confusion = np.array(report["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 1000
    assert np.trace(confusion) / 1000 == pytest.approx(report["accuracy"])
    assert report["per_class_accuracy"]["cat"] == confusion[3, 3] / confusion[3].sum()
    assert "confusion matrix" in result.stdout and "truck" in result.stdout
    train = gradwise("evaluate", out / "model.npz", "--split", "train")
    assert train.returncode == 0 and "(5000 examples)" in train.stdout


def test_predict_prints_scores_and_probabilities_top_class_first(run_dir, images):
    out, _ = run_dir
    folder, pixels = images
    result = gradwise("predict", out, folder / "cat.png", folder / "big.jpg")
    assert result.returncode == 0, result.stderr
    clf = load_classifier(out)
    expected = clf.decision_function(pixels[None])[0]
    blocks = result.stdout.split(str(folder / "big.jpg"))
    rows = re.findall(r"^  (\w+)\s+(-?\d+\.\d+)\s+(\d\.\d+)$", blocks[0], re.MULTILINE)
    assert len(rows) == 10
    scores = [float(s) for _, s, _ in rows]
    assert scores == sorted(scores, reverse=True)
    by_class = {c: float(s) for c, s, _ in rows}
    for k, c in enumerate(clf.classes_):
        assert by_class[c] == pytest.approx(expected[k], abs=1e-3)
    assert sum(float(p) for _, _, p in rows) == pytest.approx(1, abs=1e-3)
    assert blocks[0].startswith(f"{folder / 'cat.png'}: {rows[0][0]} (p = ")
    assert len(re.findall(r"^  \w+\s+-?\d", blocks[1], re.MULTILINE)) == 10  # resized JPEG


def test_explain_walks_through_the_lecture_example(run_dir, images):
    out, _ = run_dir
    folder, pixels = images
    result = gradwise("explain", out, folder / "cat.png", "--label", "cat")
    assert result.returncode == 0, result.stderr
    scores = load_classifier(out).decision_function(pixels[None])[0]
    p_cat = np.exp(scores[3] - scores.max()) / np.exp(scores - scores.max()).sum()
    loss = float(re.search(r"L_i = -ln p_cat = (\d+\.\d+)", result.stdout).group(1))
    assert loss == pytest.approx(-np.log(p_cat), abs=1e-4)
    base10 = float(re.search(r"-log10 p_cat = (\d+\.\d+)", result.stdout).group(1))
    assert base10 == pytest.approx(-np.log10(p_cat), abs=1e-4)
    hinge = np.maximum(0, scores - scores[3] + 1)
    hinge[3] = 0
    svm = float(re.search(r"L_i = sum = (\d+\.\d+)", result.stdout).group(1))
    assert svm == pytest.approx(hinge.sum(), abs=1e-3)
    assert "exp(s)" in result.stdout and "0.89" in result.stdout


def test_compare_trains_each_optimizer_on_the_same_budget(tmp_path):
    out = tmp_path / "cmp"
    result = gradwise(
        "compare", "--optimizers", "sgd,adam,lbfgs", "--epochs", "2", "--out", out, "--quiet"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "compare.json").read_text())
    runs = {r["optimizer"]: r for r in report["runs"]}
    assert set(runs) == {"sgd", "adam", "lbfgs"}
    objectives = [r["objective"] for r in report["runs"]]
    assert objectives == sorted(objectives)
    assert report["runs"][0]["gap"] >= 0 and min(r["gap"] for r in report["runs"]) >= 0
    assert report["best_objective"] <= min(objectives)
    assert runs["sgd"]["passes"] == 2 and runs["lbfgs"]["passes"] >= 2
    for name in runs:
        history = History.load(out / name / "history.json")
        assert history.epochs[-1]["train_loss"] == runs[name]["objective"]
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["optimizer", "lr", "objective", "gap"]
    assert (out / "curves.png").is_file()


@pytest.mark.parametrize("how, copies", [("mirror-copies", 2), ("flip", 1)])
def test_mirror_copies_double_the_training_rows_random_flips_do_not(tmp_path, how, copies):
    out = tmp_path / how
    result = gradwise("train", "--augment", how, "--epochs", "1", "--out", out)
    assert result.returncode == 0, result.stderr
    history = History.load(out / "history.json")
    assert len(history.loss) == math.ceil(copies * 4500 / 256)  # 4,500 training images
    assert load_classifier(out).get_params()["augment"] == how


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--optimizer", "adamax"], "unknown optimizer 'adamax'"),
        (["--lr", "-0.1"], "--lr must be > 0"),
        (["--model", "cnn"], "--model must be"),
        (["--batch-size", "zero"], "--batch-size"),
        (["--schedule", "warp:3"], "bad schedule"),
        (["--data", "no-such-dataset"], "no-such-dataset"),
        (["--augment", "rotate"], "augment must be one of"),
    ],
)
def test_train_bad_settings_are_one_line_errors_and_write_nothing(tmp_path, args, fragment):
    out = tmp_path / "run"
    result = gradwise("train", "--out", out, "--epochs", "1", *args)
    one_line_error(result, fragment)
    assert not out.exists()


def test_an_existing_run_is_never_overwritten(run_dir):
    out, _ = run_dir
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    one_line_error(gradwise("train", "--out", out, "--epochs", "1"), "already holds a run")
    one_line_error(gradwise("train", "--out", out, "--lr", "-1"), "--lr must be > 0")
    one_line_error(gradwise("train", "--out", out, "--resume", "--lr", "0.5"), "--resume")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_bad_model_and_image_files(run_dir, images, tmp_path):
    out, _ = run_dir
    folder, _ = images
    one_line_error(gradwise("evaluate", tmp_path / "missing.npz"), "no such model file")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    one_line_error(gradwise("predict", corrupt, folder / "cat.png"), "corrupt.npz")
    one_line_error(gradwise("predict", out, folder / "fake.png"), "not an image")
    one_line_error(gradwise("predict", out, folder / "nothing.png"), "no such image")
    one_line_error(gradwise("explain", out, folder / "cat.png", "--label", "unicorn"), "unicorn")


def test_model_and_data_shape_mismatch(run_dir):
    out, _ = run_dir
    one_line_error(gradwise("evaluate", out, "--data", "digits"), "32x32x3", "8x8")


def test_divergence_is_reported_and_the_last_good_weights_are_saved(tmp_path):
    out = tmp_path / "diverged"
    result = gradwise(
        "train", "--model", "mlp", "--hidden", "32", "--lr", "1e9", "--epochs", "2",
        "--schedule", "none", "--out", out,
    )  # fmt: skip
    one_line_error(result, "diverged at step", "lr=1e+09", "smaller learning rate", str(out))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stop_reason"] == "diverged" and "step" in summary["message"]
    clf = load_classifier(out)  # the saved weights are finite, so the file loads
    assert clf.history_ is None and History.load(out / "history.json").stop_reason == "diverged"


def test_evaluate_can_draw_the_confusion_matrix(run_dir, tmp_path):
    out, _ = run_dir
    result = gradwise("evaluate", out, "--plot", tmp_path / "confusion.png")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "confusion.png").stat().st_size > 1000
