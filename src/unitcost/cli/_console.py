"""What every command shares: the two consoles and the Typer app they register on."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import typer
from rich.console import Console, RenderableType

from unitcost.errors import InputError
from unitcost.report.fit import wrap_note

__all__ = [
    "app",
    "check_number",
    "err",
    "log_to_console",
    "out",
    "say",
    "say_json",
    "show",
]

app = typer.Typer(
    help="What every AI token really costs, and the machinery that makes it cost less.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)


def say(message: str, *, stderr: bool = False, hang: int | None = None) -> None:
    """One plain line: no rich markup or highlighting, so brackets and numbers print as is.
    `hang`: wrap at the console's width with the lines after the first indented this far
    (a long note stays readable as one block at 80 columns; words and paths never split)."""
    console = err if stderr else out
    if hang is not None:
        message = wrap_note(message, console.width, hang)
    console.print(message, highlight=False, markup=False, soft_wrap=hang is not None)


class _ConsoleLog(logging.Handler):
    """unitcost's own log lines on stderr as `warning: …`, folded at the console's width
    (Python's fallback handler prints them bare and as long as they come)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = f"{record.levelname.lower()}: {record.getMessage()}"
            text = wrap_note(line, err.width, 4)
            if record.exc_info:  # a bug of ours: the traceback is for whoever reports it
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            err.file.write(text + "\n")
            err.file.flush()
        except Exception:
            self.handleError(record)


def log_to_console() -> None:
    """Warnings and errors from unitcost's loggers, readable at 80 columns; a program that
    configured logging itself (a root handler) keeps its own format."""
    logger = logging.getLogger("unitcost")
    if not logging.getLogger().handlers and not logger.handlers:
        logger.addHandler(_ConsoleLog(logging.WARNING))
        # A library that logs through the root logger later (onnxruntime's quantizer calls
        # `logging.warning`) configures a root handler as it does: every line would print
        # twice, once bare.
        logger.propagate = False


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: a figure that is undefined (a margin on no revenue) is
    null, so strict parsers read every `--json` output."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def say_json(value: Any) -> None:
    """A command's `--json` answer on stdout."""
    out.print_json(json.dumps(_finite(value), allow_nan=False))


def show(table: RenderableType, wide: bool) -> None:
    """A table on stdout: fitted to 80 columns, or with --wide at its natural width, past
    the terminal's (rich would otherwise squeeze every column back into it)."""
    console = Console(width=10_000) if wide else out
    console.print(table)


def check_number(
    flag: str, value: float | None, low: float, high: float | None = None, strict: bool = False
) -> None:
    """A flag's number within bounds and finite (Typer's min= lets NaN through), else one line.
    For flags applied with model_copy, which does not validate as the file's fields are."""
    if value is None:
        return
    ok = math.isfinite(value) and (value > low if strict else value >= low)
    if not ok or (high is not None and value > high):
        bound = f"{'>' if strict else '≥'} {low:g}" + (f" and ≤ {high:g}" if high else "")
        raise InputError(f"{flag}: {value:g} is out of bounds; accepted: a finite number {bound}")
