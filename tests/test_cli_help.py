"""Every command and subcommand answers ``--help``, found as ``gradwise.cli`` finds them."""

import argparse
import pkgutil
import subprocess
import sys

import pytest

from gradwise import commands
from gradwise.cli import build_parser, main


def discovered_commands():
    """The command modules, as ``build_parser`` finds them: ``gradwise.commands.*`` but
    ``_*``."""
    modules = pkgutil.iter_modules(commands.__path__)
    return sorted(m.name for m in modules if not m.name.startswith("_"))


def subcommands(parser):
    """The subparsers of ``parser`` by name (none if it has no subcommands)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def command_lines():
    """``["train"]``, ``["data"]``, ``["data", "info"]``, ...: every command and subcommand."""
    top = subcommands(build_parser())
    lines = []
    for command in discovered_commands():
        lines.append([command])
        lines += [[command, sub] for sub in subcommands(top[command])]
    return lines


def test_every_command_module_is_a_command_of_that_name():
    assert sorted(subcommands(build_parser())) == discovered_commands()
    assert {"train", "evaluate", "predict", "explain", "compare", "data"} <= set(
        discovered_commands()
    )
    assert ["data", "info"] in command_lines() and ["data", "show"] in command_lines()


@pytest.mark.parametrize("line", command_lines(), ids="-".join)
def test_every_command_has_help(line, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*line, "--help"])
    assert exited.value.code == 0
    assert "usage: gradwise " + " ".join(line) in capsys.readouterr().out


def test_help_works_from_a_fresh_interpreter():
    result = subprocess.run(
        [sys.executable, "-m", "gradwise.cli", "train", "--help"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "usage: gradwise train" in result.stdout
