"""Hostile files and streams: a closed stdout, a run replaced by --overwrite, targets that
already exist, poisoned checkpoints, divergences and non-finite data. Every command line ends
in one clear line (or finishes its work) and no file that was there is lost."""

import shutil
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np
import pytest

from hostile import Row, check_row, gradwise, limit_memory, snapshot


@dataclass
class Makes(Row):
    """A row whose command must also leave the files ``makes`` (relative to ``{dir}``)."""

    makes: list = field(default_factory=list)


#: Small and fast: the packaged digits, one or two epochs.
TRAIN = ["train", "--data", "digits", "--epochs", "1", "--quiet"]


def closed_stdout(args, cwd):
    """Run ``args`` with stdout a pipe that is closed after its first line is read."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradwise.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        preexec_fn=limit_memory,
    )
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return proc.wait(timeout=120), err


SIGPIPE_ROWS = [
    (["train", "--data", "digits", "--epochs", "3", "--out", "D"],
     ["D/model.npz", "D/summary.json"]),
    (["compare", "--data", "digits", "--epochs", "1", "--optimizers", "sgd,adam", "--out", "C"],
     ["C/compare.json"]),
    (["knn", "--data", "digits", "--k", "1,3", "--folds", "2", "--out", "K"], ["K/result.json"]),
    (["landscape", "--surface", "beale", "--steps", "20", "--out", "L.png"], ["L.png"]),
    (["data", "info", "digits"], []),
]  # fmt: skip


@pytest.mark.parametrize("args, made", SIGPIPE_ROWS, ids=[r[0][0] for r in SIGPIPE_ROWS])
def test_a_closed_stdout_does_not_stop_the_work(args, made, tmp_path):
    code, err = closed_stdout(args, tmp_path)
    assert code == 0, err
    assert "error" not in err and "Traceback" not in err and "Broken pipe" not in err, err
    for name in made:
        assert (tmp_path / name).is_file(), name


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A folder every row starts from (a copy each): a trained run ``D`` with a note of the
    user's beside it, a one-class image folder, a sweep's result and files already there."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("base")
    done = gradwise([*TRAIN, "--out", "D"], cwd=folder)
    assert done.returncode == 0, done.stderr
    (folder / "D" / "notes.txt").write_text("mine\n")
    (folder / "one" / "cat").mkdir(parents=True)
    for i in range(6):
        Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(folder / "one" / "cat" / f"{i}.png")
    # N: the run D with a checkpoint whose weights hold a NaN
    from gradwise.training.checkpoint import FIELDS, load_checkpoint, save_checkpoint

    shutil.copytree(folder / "D", folder / "N")
    state = load_checkpoint(folder / "N" / "checkpoint.npz")
    state.x[0] = np.nan
    fields = {k: getattr(state, k) for k in FIELDS}
    save_checkpoint(folder / "N" / "checkpoint.npz", fields, state.extra)
    (folder / "S").mkdir()
    (folder / "S" / "result.json").write_text('{"sweep": true}\n')
    from PIL import Image

    Image.new("L", (20000, 20000)).save(folder / "bomb.png")  # 400 megapixels, 380 KB
    for name in ("old.json", "old.png", "old.gif", "C/compare.json"):
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_bytes(b"not yours\n")
    return folder


RUN = ["D/model.npz", "D/history.json", "D/summary.json", "D/checkpoint.npz", "D/log.jsonl"]

ROWS = [
    # 2. --overwrite keeps the old run whole until the new one has passed every check
    Row([*TRAIN, "--data", "one/", "--out", "D", "--overwrite"], 2, "2 classes", RUN),
    Row([*TRAIN, "--val-fraction", "0.9999", "--out", "D", "--overwrite"], 2, "none", RUN),
    Row([*TRAIN, "--epochs", "2", "--out", "D", "--overwrite"], 0, "", ["D/notes.txt"]),
    # 3. no command writes over a file it did not make, unless --overwrite; never its input
    Row(["evaluate", "D", "--json", "D/model.npz"], 2, "reads", RUN),
    Row(["evaluate", "D", "--json", "D/model.npz", "--overwrite"], 2, "reads", RUN),
    Row(["evaluate", "D/model.npz", "--plot", "D/model.npz"], 2, "reads", RUN),
    Row(["evaluate", "D", "--json", "old.json"], 2, "--overwrite", ["old.json"]),
    Row(["evaluate", "D", "--plot", "old.png"], 2, "--overwrite", ["old.png"]),
    Row(["evaluate", "D", "--json", "old.json", "--overwrite"], 0, "", RUN),
    Row(["evaluate", "D", "--json", "new.json"], 0, "", RUN),
    Row(["knn", "--data", "digits", "--k", "1", "--folds", "2", "--out", "S"], 2, "result.json",
        ["S/result.json"]),
    Row(["knn", "--data", "digits", "--k", "1", "--folds", "2", "--out", "S", "--overwrite"], 0),
    Row(["templates", "D", "--out", "old.png"], 2, "--overwrite", ["old.png"]),
    Row(["templates", "D", "--out", "D/model.npz", "--overwrite"], 2, "reads", RUN),
    Row(["templates", "D", "--out", "old.png", "--overwrite"], 0, "", RUN),
    Row(["landscape", "--steps", "5", "--out", "old.png"], 2, "--overwrite", ["old.png"]),
    Row(["landscape", "--steps", "5", "--out", "old.gif"], 2, "old.gif", ["old.gif", "old.png"]),
    Row(["landscape", "--steps", "5", "--out", "old.png", "--overwrite"], 0),
    Row(["data", "show", "digits", "--out", "old.png"], 2, "--overwrite", ["old.png"]),
    Row(["data", "show", "digits", "--out", "old.png", "--overwrite"], 0),
    # Pillow's decompression-bomb guard: one line, not a traceback
    Row(["predict", "D", "bomb.png"], 2, "pixels", RUN),
    Row(["compare", "--data", "digits", "--epochs", "1", "--optimizers", "sgd", "--out", "C"], 2,
        "compare.json", ["C/compare.json"]),
    Row(["compare", "--data", "digits", "--epochs", "1", "--optimizers", "sgd", "--out", "C",
         "--overwrite"], 0),
    # 4. a checkpoint with non-finite weights is refused, and the good model is kept
    Row([*TRAIN, "--epochs", "2", "--out", "N", "--resume"], 2, "NaN",
        ["N/model.npz", "N/checkpoint.npz", "N/summary.json"]),
    # 5. a full-batch divergence is a divergence: stop, say so, write the run, exit 2
    Makes([*TRAIN, "--batch-size", "full", "--lr", "1e38", "--schedule", "none", "--out", "F"],
          2, "diverged", makes=["F/model.npz", "F/summary.json", "F/checkpoint.npz"]),
    Makes(["train", "--quiet", "--epochs", "1", "--batch-size", "full", "--lr", "1e38",
           "--schedule", "none", "--out", "F"],
          2, "diverged", makes=["F/model.npz", "F/summary.json", "F/checkpoint.npz"]),
    Makes([*TRAIN, "--lr", "1e38", "--schedule", "none", "--out", "M"], 2, "diverged",
          makes=["M/model.npz", "M/summary.json", "M/checkpoint.npz"]),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(map(str, r.args)) for r in ROWS])
def test_row(row, base, tmp_path):
    folder = tmp_path / "case"
    shutil.copytree(base, folder)
    check_row(row, folder)
    for name in getattr(row, "makes", []):
        assert (folder / name).is_file(), f"{name} was not written"
    hidden = [p.name for p in folder.rglob(".*")]
    assert not hidden, f"temporary files left behind: {hidden}"


@pytest.mark.parametrize("error", [KeyboardInterrupt, MemoryError])
def test_an_interrupted_overwrite_keeps_the_old_run(error, base, tmp_path, monkeypatch):
    from gradwise import cli
    from gradwise.estimators.classifier import Classifier

    folder = tmp_path / "case"
    shutil.copytree(base, folder)
    monkeypatch.chdir(folder)
    before = snapshot(folder, RUN)

    def fail(self, *args, **kwargs):
        raise error()

    monkeypatch.setattr(Classifier, "fit", fail)
    argv = [*TRAIN, "--out", "D", "--overwrite"]
    if error is KeyboardInterrupt:
        assert cli.main(argv) == 130
    else:
        with pytest.raises(MemoryError):
            cli.main(argv)
    assert snapshot(folder, RUN) == before
    assert not list(folder.rglob(".*"))


def blobs(n=64, d=8, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    return rng.normal(size=(n, d)) + 3 * np.eye(k, d)[y], y


def test_after_a_divergence_the_checkpoint_pairs_the_weights_with_their_optimizer_state(
    tmp_path,
):
    import gradwise as gw
    from gradwise.training.callbacks import Callback, Checkpoint
    from gradwise.training.checkpoint import load_checkpoint

    X, y = blobs()
    model = gw.nn.Sequential(gw.nn.Linear(8, 16, init="he"), gw.nn.ReLU(), gw.nn.Linear(16, 3))
    seen = []

    class Snap(Callback):
        def on_step_end(self, run):
            seen.append((run.x.copy(), run.optimizer.state_dict()))

    with np.errstate(all="ignore"), pytest.raises(gw.DivergenceError) as info:
        gw.fit(model, gw.nn.SoftmaxCrossEntropy(), (X * 100, y),
               gw.optim.get("momentum", lr=1e6), epochs=50, batch_size=16,
               callbacks=[Snap(), Checkpoint(tmp_path / "c.npz", every_epochs=0)])  # fmt: skip
    m = len(info.value.history.loss)
    saved = load_checkpoint(tmp_path / "c.npz")
    x, state = seen[m - 2]  # where step m started: after step m - 1
    np.testing.assert_array_equal(saved.x, x)
    assert saved.optimizer["step"] == state["step"] == m - 1
    np.testing.assert_array_equal(saved.optimizer["momentum_buffer"], state["momentum_buffer"])
    assert np.isfinite(saved.optimizer["momentum_buffer"]).all()


def _linear():
    import gradwise as gw

    return gw.nn.Linear(8, 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("split", ["data", "val"])
def test_non_finite_data_is_named_before_the_first_step(bad, split):
    import gradwise as gw

    X, y = blobs()
    X_bad = X.copy()
    X_bad[5, 2] = bad
    data, val = ((X_bad, y), (X, y)) if split == "data" else ((X, y), (X_bad, y))
    optimizer = gw.optim.get("sgd", lr=0.1)
    with pytest.raises(gw.DataError, match=rf"{split}: X holds NaN or Inf .* row 5, column 2"):
        gw.fit(_linear(), gw.nn.SoftmaxCrossEntropy(), data, optimizer, val=val)
    assert optimizer.state["step"] == 0  # refused before any step


@pytest.mark.parametrize("optimizer", ["sgd", None, 0.1])
def test_an_optimizer_that_is_not_one_is_a_type_error(optimizer):
    import gradwise as gw

    with pytest.raises(TypeError, match="optimizer must be an object with step") as info:
        gw.fit(_linear(), gw.nn.SoftmaxCrossEntropy(), blobs(), optimizer)
    if isinstance(optimizer, str):
        assert "got str 'sgd'; build one with gw.optim.get('sgd')" in str(info.value)


def test_predict_with_a_closed_stdout_ends_quietly(base):
    images = [base / "one" / "cat" / f"{i}.png" for i in range(6)]
    code, err = closed_stdout(["predict", base / "D", *images], base)
    assert code == 0 and not err, err
