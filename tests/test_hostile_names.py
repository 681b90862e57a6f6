"""Class names come from folder names: a name with a newline and an ANSI escape is kept in
the data, but every command prints it escaped."""

import numpy as np
import pytest
from PIL import Image

from hostile import gradwise

HOSTILE = "cat\n\x1b[31mred"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("names")
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 2)):
        for name in (HOSTILE, "dog"):
            (root / "ds" / split / name).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / "ds" / split / name / f"{i}.png")
    done = gradwise(["train", "--data", root / "ds", "--epochs", "1", "--val-fraction", "0",
                     "--quiet", "--out", root / "run"], cwd=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root


@pytest.mark.parametrize("command", ["info", "predict", "explain"])
def test_class_names_are_printed_escaped(command, folder):
    image = next((folder / "ds" / "test" / "dog").glob("*.png"))
    args = {
        "info": ["data", "info", folder / "ds"],
        "predict": ["predict", folder / "run", image],
        "explain": ["explain", folder / "run", image],
    }[command]
    done = gradwise(args, cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    assert "cat\\n\\x1b[31mred" in done.stdout
