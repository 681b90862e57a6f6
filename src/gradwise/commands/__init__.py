"""One module per ``gradwise`` subcommand; each defines ``register(subparsers)``."""
