"""`unitcost demo`: the gateway on its embedded default, measured end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from unitcost.cli._console import app, err, say, show


@app.command()
def demo(
    ledger: Annotated[
        str | None, typer.Option(help="keep the ledger here (sqlite:///PATH)")
    ] = None,
    local: Annotated[bool, typer.Option(help="include SmolLM2 on llama.cpp if installed")] = True,
    local_questions: Annotated[int, typer.Option(min=1, help="questions for the local model")] = 3,
    report: Annotated[
        Path | None, typer.Option(help="write the run's ledger report here (default: beside it)")
    ] = None,
    wide: Annotated[bool, typer.Option("--wide", help="every column, past 80")] = False,
) -> None:
    """Run the gateway on its embedded default and print what each deployment cost."""
    from unitcost.demo import routing_summary, run_demo
    from unitcost.report.ledger_report import write_ledger_report
    from unitcost.report.tables import demo_table

    result = run_demo(ledger, local, local_questions, log=lambda m: say(m, stderr=True, hang=4))
    rows = [
        {
            "name": s.name,
            "requests": s.requests,
            "accuracy": s.accuracy,
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens,
            "reasoning_tokens": s.reasoning_tokens,
            "cost_usd": s.cost_usd,
            "usd_per_1k_tokens": s.usd_per_1k_tokens,
        }
        for s in result.deployments.values()
    ]
    title = "unitcost demo: per deployment, read back from the ledger"
    show(demo_table(title, rows, wide=wide), wide)
    for s in result.deployments.values():
        say(f"  {s.name}: priced by {s.price_origin}", hang=4)
    summary = routing_summary(result)
    if summary:
        say(summary, hang=6)
    for note in result.notes:
        say(f"  note: {note}", hang=8)
    say(
        f"ledger: {result.ledger_url} ({result.ledger_rows} rows); "
        f"see it again with `unitcost usage --ledger {result.ledger_url}`",
        hang=2,
    )
    where = report
    if where is None:
        base = result.ledger_url.removeprefix("sqlite:///")
        where = (
            Path(base).parent / "report"
            if result.ledger_url.startswith("sqlite")
            else Path("unitcost-demo-report")
        )
    path = write_ledger_report(result.ledger_url, where, say=lambda m: err.print(m, markup=False))
    say(f"report: {path}", hang=2)
