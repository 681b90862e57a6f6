"""The ``gradwise`` command line: one entry point, one module per subcommand.

Each module in :mod:`gradwise.commands` defines ``register(subparsers)``, which adds its
subcommand and sets ``func`` (``args -> exit code``) as the parser default. Errors that a
user can cause (``GradwiseError``, ``ValueError``, ``TypeError``, ``OSError``) print one
line and exit with code 2; nothing else is caught.
"""

import argparse
import importlib
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


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (GradwiseError, ValueError, TypeError, OSError) as err:
        print(f"gradwise {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
