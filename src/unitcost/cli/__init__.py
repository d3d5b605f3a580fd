"""`unitcost ...`: the command line, one module per part. Thin: parse, call the library, render.

Bad input exits with code 2 and one line on stderr naming the field; never a traceback.
"""

from __future__ import annotations

import errno
import sys
import warnings
from typing import Any, cast

import typer

from unitcost.cli import bench, demo, economics, engine, gateway, routing  # noqa: F401  (register commands)
from unitcost.cli import eval as _eval  # noqa: F401  (`unitcost eval ...`)
from unitcost.cli import governance as _governance  # noqa: F401  (`unitcost governance`)
from unitcost.cli import plan as _plan  # noqa: F401  (`unitcost plan`)
from unitcost.cli import portfolio as _portfolio  # noqa: F401  (`unitcost portfolio`)
from unitcost.cli import prices as _prices  # noqa: F401  (`unitcost prices check`)
from unitcost.cli import report as _report  # noqa: F401  (`unitcost report | export`)
from unitcost.cli._console import app, log_to_console
from unitcost.errors import InputError, UnitcostError

__all__ = ["app", "main"]

# Typer raises click's exceptions (vendored in typer 0.29, click's own before): found
# through a public class, so either works.
ClickException = cast(
    type[Exception],
    next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"),
)


def main() -> None:
    log_to_console()
    # numpy's and matplotlib's warnings (an all-NaN slice, a log axis with no positive
    # value, a legend with no labels) are about our calls into them, not the user's input:
    # what they mean reaches the output as n/a or an empty chart. A bug of ours still
    # raises; PYTHONWARNINGS or -W brings them back.
    if not sys.warnoptions:
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
    try:
        code = app(standalone_mode=False)
    except ClickException as exc:
        # A flag Typer itself refuses (unknown, missing, not a number, out of its range):
        # the same one line as every other bad input, instead of a usage block and a box.
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `unitcost`: the help was shown
            sys.exit(2)
        click_error: Any = exc
        ctx = getattr(exc, "ctx", None)
        # an error raised while parsing has no context: the command is the first word
        words = [a for a in sys.argv[1:2] if not a.startswith("-")]
        path = ctx.command_path if ctx is not None else " ".join(["unitcost", *words])
        hint = f"; see `{path} --help`"
        print(f"error: {click_error.format_message().rstrip('.')}{hint}", file=sys.stderr)
        sys.exit(click_error.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(1)
    except UnitcostError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        sys.exit(2 if isinstance(exc, InputError) else 1)
    except OSError as exc:
        # A path the user named that cannot be read or written (an output under /proc, a
        # directory where a file goes): their input, so one line and exit 2, not a traceback.
        if exc.filename is None:
            raise
        accepted = (
            "a file path"
            if exc.errno == errno.EISDIR
            else "a path in a directory that exists, which you may read or write"
        )
        print(f"error: {exc.filename}: {exc.strerror}; accepted: {accepted}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)  # typer.Exit(1) returns its code here
