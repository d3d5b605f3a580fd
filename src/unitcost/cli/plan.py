"""`unitcost plan`: the least-cost accelerator mix for a demand, within SLOs and a power cap."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from unitcost.cli._console import app, check_number, out, say_json
from unitcost.errors import InputError

if TYPE_CHECKING:
    from unitcost.economics.capacity import Bucket

__all__ = ["ledger_demand"]

#: rows read from a ledger at most (the store has no period filter on records yet)
LEDGER_ROWS = 5_000_000


def _day(flag: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{flag}: {value!r} is not a date; accepted: YYYY-MM-DD") from None


def ledger_demand(
    url: str, since: str, until: str, deployments: list[str] | None = None
) -> list[Bucket]:
    """Requests/s by length bucket of the calls upstreams served in [since, until] (answered
    or escalated: both took compute; cache hits and errors did not), optionally only those
    of some deployments."""
    from unitcost.economics.demand import buckets_from_traffic
    from unitcost.ledger.record import RowStatus
    from unitcost.ledger.store import open_store

    first, last = _day("--since", since), _day("--until", until)
    if last < first:
        raise InputError(
            f"--until: {until} is before --since {since}; accepted: a period of at least one day"
        )
    start = datetime.combine(first, datetime.min.time(), UTC).timestamp()
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC).timestamp()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise InputError(f"--ledger: {url} does not exist; accepted: an existing ledger")
    store = open_store(url)  # (SQLite would create an empty file and plan for no traffic)
    try:
        rows = [
            (r.ts, r.prompt_tokens, r.completion_tokens)
            for r in store.records(
                limit=LEDGER_ROWS, since=first.isoformat(), until=last.isoformat()
            )
            if start <= r.ts < end
            and r.status in (RowStatus.OK, RowStatus.ESCALATED)
            and r.completion_tokens > 0
            and (not deployments or r.deployment in deployments)
        ]
    finally:
        store.close()
    return buckets_from_traffic(rows, period_s=end - start)


@app.command("plan")
def plan_cmd(
    file: Annotated[Path, typer.Argument(help="plan YAML: demand, SLOs, candidates, facility")],
    power_cap_mw: Annotated[float | None, typer.Option(help="facility power cap, MW")] = None,
    pue: Annotated[float | None, typer.Option(help="power usage effectiveness")] = None,
    usd_per_mwh: Annotated[float | None, typer.Option(help="energy price, e.g. a PPA")] = None,
    max_load: Annotated[float | None, typer.Option(help="planned utilisation ceiling")] = None,
    ledger: Annotated[
        str | None,
        typer.Option(help="take the demand from a ledger: sqlite:///x.db, postgresql://"),
    ] = None,
    since: Annotated[str | None, typer.Option(help="ledger period start, YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="ledger period end (inclusive)")] = None,
    deployment: Annotated[
        list[str] | None, typer.Option(help="only the ledger rows of this deployment")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Least-cost integer mix of candidate accelerators for a demand, and what binds.

    Per kind: count, utilisation, tokens/day, $/1M tokens, MW, energy, water, carbon, margin."""
    from dataclasses import replace

    from unitcost.economics.plan import plan
    from unitcost.economics.planspec import load_plan, plan_inputs
    from unitcost.report.plan import plan_dict, plan_view

    spec = load_plan(file)
    facility = spec.facility.model_copy(
        update={
            k: v
            for k, v in {
                "power_cap_mw": power_cap_mw,
                "pue": pue,
                "usd_per_mwh": usd_per_mwh,
            }.items()
            if v is not None
        }
    )
    check_number("--power-cap-mw", power_cap_mw, low=0.0, strict=True)
    check_number("--pue", pue, low=1.0)
    check_number("--usd-per-mwh", usd_per_mwh, low=0.0)
    check_number("--max-load", max_load, low=0.0, high=1.0, strict=True)
    spec = spec.model_copy(
        update={"facility": facility, **({"max_load": max_load} if max_load is not None else {})}
    )
    inputs = plan_inputs(spec)
    if ledger is None and (since or until or deployment):
        raise InputError("--since, --until and --deployment choose ledger rows; give --ledger")
    if ledger is not None:
        if since is None or until is None:
            raise InputError("--ledger: give --since and --until (YYYY-MM-DD) for the period")
        buckets = ledger_demand(ledger, since, until, deployment)
        inputs = replace(inputs, buckets=tuple(buckets))
    result = plan(inputs)
    if as_json:
        say_json({"plan": spec.name, **plan_dict(result)})
        return
    out.print(f"plan: {spec.name} ({spec.model})", highlight=False, markup=False)
    from unitcost.catalog import load_catalog

    out.print(plan_view(result, load_catalog().context))
