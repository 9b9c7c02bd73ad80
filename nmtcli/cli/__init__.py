"""Command-line interface: thin commands over the core; the only layer that prints."""

from __future__ import annotations

import os
import sys

# Importing the command modules registers their commands on the app.
from nmtcli.cli import (  # noqa: F401
    attention,
    bleu,
    experiment,
    info,
    tokenize,
    train,
    translate,
    vocab,
)
from nmtcli.cli.app import app

# Options that, as in sacrebleu, take several values after one flag (`-m bleu chrf ter`).
_MULTI_VALUE = {"bleu": {"-m", "--metrics"}}


def expand_multi_value_options(argv: list[str]) -> list[str]:
    """Rewrite `-m a b` as `-m a -m b` for the options in `_MULTI_VALUE` (click needs repeats)."""
    if not argv or argv[0] not in _MULTI_VALUE:
        return argv
    flags, out, index = _MULTI_VALUE[argv[0]], [argv[0]], 1
    while index < len(argv):
        token = argv[index]
        out.append(token)
        index += 1
        if token in flags:
            out += argv[index : index + 1]  # the flag's first value, if there is one
            index += 1
            while index < len(argv) and argv[index] in bleu.METRIC_NAMES:
                out += [token, argv[index]]
                index += 1
    return out


def main() -> None:
    """Console-script entry point."""
    try:
        app(args=expand_multi_value_options(sys.argv[1:]), prog_name="nmtcli")
    except BrokenPipeError:
        # The reader of our stdout went away (`nmtcli translate ... | head`): exit quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
