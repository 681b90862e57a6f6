"""The ``gradwise`` command line: one entry point, one module per subcommand.

Each module in :mod:`gradwise.commands` defines ``register(subparsers)``, which adds its
subcommand and sets ``func`` (``args -> exit code``) as the parser default. Errors that a
user can cause (``GradwiseError``, ``ValueError``, ``TypeError``, ``OSError``) print one
line and exit with code 2; nothing else is caught.
"""

import argparse
import importlib
import os
import pkgutil
import sys

from . import commands
from ._version import __version__
from .errors import GradwiseError


def build_parser():
    parser = argparse.ArgumentParser(
        prog="gradwise",
        description="Train and explain linear image classifiers and their optimizers.",
    )
    parser.add_argument("--version", action="version", version=f"gradwise {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


class _ClosedPipeSafe:
    """``sys.stdout`` while a command runs: once the reader has gone (``gradwise train |
    head -1``), the first ``BrokenPipeError`` points the stream at ``os.devnull`` and every
    later line is dropped, so the command finishes its files instead of stopping there."""

    def __init__(self, stream):
        self._stream = stream
        self.closed_pipe = False

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._reader_gone()
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._reader_gone()

    def _reader_gone(self):
        self.closed_pipe = True
        try:
            # The usual recipe: devnull on the same descriptor, so whatever the stream still
            # buffers (and Python's flush at exit) goes nowhere instead of failing again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            finally:
                os.close(devnull)
        except (AttributeError, OSError, ValueError):
            self._stream = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    stdout = sys.stdout
    sys.stdout = _ClosedPipeSafe(stdout)
    try:
        return int(args.func(args) or 0)
    except (GradwiseError, ValueError, TypeError, OSError) as err:
        print(f"gradwise {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        sys.stdout.flush()
        sys.stdout = stdout


if __name__ == "__main__":
    sys.exit(main())
