"""``gradwise data info|show``."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from gradwise.cli import main


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    path = tmp_path / "gradwise-home"
    monkeypatch.setenv("GRADWISE_HOME", str(path))
    return path


def tiny_zip(path):
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w") as archive:
        for split, n in (("train", 3), ("test", 1)):
            for cls in ("ant", "bee"):
                for i in range(n):
                    buffer = io.BytesIO()
                    image = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
                    Image.fromarray(image).save(buffer, "PNG")
                    archive.writestr(f"{split}/{cls}/{i}.png", buffer.getvalue())
    return path


def test_info_prints_counts_size_and_cache(tmp_path, home, capsys):
    assert main(["data", "info", str(tiny_zip(tmp_path / "bugs.zip"))]) == 0
    out = capsys.readouterr().out
    assert "inputs:   5x7x3 uint8 images" in out
    assert str(home / "cache") in out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["ant"] == ["3", "1"] and lines["bee"] == ["3", "1"]
    assert lines["total"] == ["6", "2"]


def test_info_without_cache_and_with_resize(tmp_path, capsys):
    path = str(tiny_zip(tmp_path / "bugs.zip"))
    assert main(["data", "info", path, "--size", "4", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "4x4x3" in out and "not cached" in out


def test_show_writes_a_labelled_png(tmp_path, capsys):
    out = tmp_path / "figs" / "grid.png"
    assert main(["data", "show", "digits", "--out", str(out), "--per-class", "3"]) == 0
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 100 and image.height > 100
    assert f"wrote {out}" in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["grid.png"]  # no temp file left


def test_show_scatter_for_point_sets(tmp_path):
    out = tmp_path / "spiral.png"
    assert main(["data", "show", "spiral", "--out", str(out), "--split", "test"]) == 0
    assert out.stat().st_size > 1000


def test_user_errors_exit_2_with_one_line(tmp_path, capsys):
    assert main(["data", "info", "no-such-dataset"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "neither a dataset name" in err
    assert main(["data", "info", "cifar10"]) == 2
    assert "cifar-10-python.tar.gz" in capsys.readouterr().err
    assert (
        main(["data", "show", "digits", "--out", str(tmp_path / "x.png"), "--per-class", "0"]) == 2
    )
