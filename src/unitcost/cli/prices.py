"""`unitcost prices check`: deployments whose price is missing, undated or too old.

    unitcost prices check --config gateway.yaml --max-age-days 90

Exit code 1 when any deployment's price is a problem, so CI can fail on a stale price map.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from unitcost.cli._console import app, say, say_json, show
from unitcost.errors import InputError

__all__ = ["prices_app"]

prices_app = typer.Typer(
    help="Price cards: where they come from and how old they are.", no_args_is_help=True
)
app.add_typer(prices_app, name="prices")


@prices_app.command("check")
def check(
    config: Annotated[Path, typer.Option(help="gateway YAML settings")],
    max_age_days: Annotated[int, typer.Option(min=0, help="older than this is stale")] = 90,
    today: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today, UTC)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="add each price's origin")] = False,
) -> None:
    """List each deployment's price: where from, as of when, and whether it is a problem."""
    from rich.table import Table

    from unitcost.economics.price_age import price_ages
    from unitcost.gateway.settings import load_settings

    try:
        day = dt.date.fromisoformat(today) if today else dt.datetime.now(dt.UTC).date()
    except ValueError:
        raise InputError(f"--today: {today!r} is not a date; accepted: YYYY-MM-DD") from None
    settings = load_settings(config)
    rows = price_ages(
        [(d.name, d.backend, d.price, d.options) for d in settings.deployments], day, max_age_days
    )
    if as_json:
        say_json(
            [
                {
                    "deployment": r.deployment,
                    "kind": r.kind,
                    "as_of": r.as_of.isoformat() if r.as_of else None,
                    "age_days": r.age_days,
                    "status": r.status,
                    "origin": r.origin,
                }
                for r in rows
            ]
        )
    else:
        table = Table(title=f"prices as of {day.isoformat()} (stale after {max_age_days} d)")
        for column in ("deployment", "price", "as of", "age", "status"):
            table.add_column(column, justify="right" if column == "age" else "left")
        if wide:
            table.add_column("origin")
        for r in rows:
            cells = [
                r.deployment,
                r.kind,
                r.as_of.isoformat() if r.as_of else "(none)",
                f"{r.age_days} d" if r.age_days is not None else "(none)",
                r.status,
            ]
            table.add_row(*cells, *([r.origin] if wide else []))
        show(table, wide)
        for r in rows:
            if r.status == "missing":
                say(f"{r.deployment}: price missing: {r.origin}")
    problems = [r for r in rows if r.problem]
    if problems:
        if not as_json:
            say(
                f"{len(problems)} of {len(rows)} deployments need a price update: give each "
                "a current price with its date (`as_of:`), or a newer price map; "
                "--max-age-days sets how old is too old",
                stderr=True,
                hang=4,
            )
        raise typer.Exit(1)
