"""``gradwise landscape`` end to end: files, frame counts, the printed table, bad input."""

import subprocess
import sys

import pytest
from PIL import Image

from gradwise.cli import main


def test_landscape_writes_gif_and_still_and_prints_where_each_optimizer_ended(tmp_path, capsys):
    out = tmp_path / "beale.gif"
    code = main(
        ["landscape", "--surface", "beale", "--optimizers", "sgd,momentum,adam",
         "--steps", "40", "--frames", "12", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    with Image.open(out) as gif:
        assert gif.n_frames == 12
    assert (tmp_path / "beale.png").is_file()
    printed = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in printed.splitlines() if line[:1].isalpha()}
    assert rows["sgd"][1] == "0.01" and rows["momentum"][1] == "0.003"
    assert all(rows[name][2] == "40" for name in ("sgd", "momentum", "adam"))
    assert f"wrote {out}" in printed


def test_landscape_start_lr_and_png_only(tmp_path, capsys):
    out = tmp_path / "valley.png"
    code = main(
        ["landscape", "--surface", "long-valley", "--optimizers", "sgd,adam", "--steps", "1",
         "--start=-2,0.5", "--lr", "adam=0.5", "--out", str(out)]
    )  # fmt: skip
    assert code == 0 and out.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["valley.png"]
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    # One SGD step from (-2, 0.5) with lr 0.03 on (x^2 + 50 y^2) / 2: x - 0.03 x, y - 1.5 y.
    assert float(rows["sgd"][3]) == pytest.approx(-2 * 0.97, rel=1e-3)
    assert float(rows["sgd"][4]) == pytest.approx(0.5 - 0.03 * 50 * 0.5, rel=1e-3)
    # Adam's first step moves each coordinate by lr against the gradient's sign.
    assert rows["adam"][1] == "0.5"
    assert float(rows["adam"][3]) == pytest.approx(-1.5, rel=1e-3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--surface", "bowl"], "unknown surface 'bowl'; known: beale, himmelblau"),
        (["--optimizers", "sgd,adamax"], "unknown optimizer 'adamax'; known: adagrad"),
        (["--start", "9,9"], "outside the plotted window of beale"),
        (["--start", "1"], "--start must be two numbers"),
        (["--lr", "lbfgs=1"], "not racing"),
        (["--steps", "0"], "steps must be a positive integer"),
        (["--frames", "0"], "--frames must be >= 1"),
    ],
)
def test_landscape_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, args, message):
    out = tmp_path / "x.gif"
    assert main(["landscape", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_landscape_refuses_an_output_it_cannot_write(tmp_path, capsys):
    assert main(["landscape", "--out", str(tmp_path / "race.mp4")]) == 2
    assert "--out must end in .gif" in capsys.readouterr().err


def test_landscape_as_a_subprocess_3d(tmp_path):
    out = tmp_path / "saddle.gif"
    result = subprocess.run(
        [sys.executable, "-m", "gradwise.cli", "landscape", "--surface", "saddle",
         "--view", "3d", "--steps", "30", "--frames", "6", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with Image.open(out) as gif:
        assert gif.n_frames == 6
    assert "wrote" in result.stdout
