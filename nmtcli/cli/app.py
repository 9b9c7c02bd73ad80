"""The Typer application that every command module registers itself on."""

from __future__ import annotations

from typing import Annotated

import typer

from nmtcli import __version__

app = typer.Typer(
    name="nmtcli",
    help="Neural machine translation from the command line: tokenize, train, translate, "
    "inspect attention, score.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    """Print the version and stop."""
    if value:
        typer.echo(f"nmtcli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Neural machine translation from the command line."""
