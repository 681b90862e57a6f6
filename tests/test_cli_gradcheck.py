import subprocess
import sys

import pytest

import gradwise
from gradwise.cli import main


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "gradwise.cli", *args], capture_output=True, text=True
    )


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and gradwise.__version__ in out.stdout


@pytest.mark.parametrize("model", ["linear", "mlp"])
@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("penalty", ["none", "l2", "l1", "elasticnet"])
def test_gradcheck_passes_for_every_combination(model, loss, penalty, capsys):
    code = main(["gradcheck", "--model", model, "--loss", loss, "--penalty", penalty])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "-> OK" in out


@pytest.mark.parametrize("model", ["linear", "mlp"])
@pytest.mark.parametrize("loss", ["one-vs-all", "crammer-singer"])
def test_gradcheck_passes_for_the_other_hinges(model, loss, capsys):
    code = main(["gradcheck", "--model", model, "--loss", loss, "--penalty", "l2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"loss={loss}" in out and "-> OK" in out


def test_gradcheck_bad_input_is_one_line_exit_2():
    out = run_cli("gradcheck", "--reg", "-1")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "must be >= 0" in out.stderr
    assert "Traceback" not in out.stderr
