"""What every command shares: the two consoles and the Typer app they register on."""

from __future__ import annotations

import typer
from rich.console import Console

__all__ = ["app", "err", "out", "say"]

app = typer.Typer(
    help="What every AI token really costs, and the machinery that makes it cost less.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)


def say(message: str, *, stderr: bool = False) -> None:
    """One plain line: no rich markup or highlighting, so brackets and numbers print as is."""
    (err if stderr else out).print(message, highlight=False, markup=False)
