"""``gradwise demo`` on the command line: it serves the page at the address it prints, warns
when told to listen beyond this machine, and says in one line what is missing or wrong."""

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

import gradwise.demo
from gradwise.cli import main

SRC = str(Path(gradwise.__file__).resolve().parents[1])


def test_without_the_extra_it_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setattr(gradwise.demo, "missing_requirements", lambda: ["starlette"])
    assert main(["demo", "--no-browser"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and 'pip install "gradwise[demo]"' in err


@pytest.mark.parametrize("argv, says", [
    (["--port", "70000"], "--port must be in 0..65535"),
    (["--port", "-1"], "--port must be in 0..65535"),
    (["--data", "spiral"], "view 3 trains on images"),
    (["--data", "no-such-dataset-here"], "no-such-dataset-here"),
])  # fmt: skip
def test_a_bad_flag_is_one_line(capsys, argv, says):
    pytest.importorskip("uvicorn")
    assert main(["demo", "--no-browser", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and says in err


def test_a_port_in_use_is_one_line(capsys):
    pytest.importorskip("uvicorn")
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["demo", "--no-browser", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("gradwise demo: error:")


def test_it_serves_the_page_at_the_address_it_prints():
    pytest.importorskip("uvicorn")
    env = {**os.environ, "PYTHONPATH": SRC, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "gradwise.cli", "demo", "--no-browser", "--port", "0",
               "--host", "localhost", "--data", "digits"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert line.startswith("gradwise demo at http://localhost:"), line
        url = line.split()[3]
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200 and b"gradwise demo" in page.read()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert "warning: listening on localhost" in err
