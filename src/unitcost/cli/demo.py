"""`unitcost demo`: the gateway on its embedded default, measured end to end."""

from __future__ import annotations

from typing import Annotated

import typer

from unitcost.cli._console import app, err, out


@app.command()
def demo(
    ledger: Annotated[
        str | None, typer.Option(help="keep the ledger here (sqlite:///PATH)")
    ] = None,
    local: Annotated[bool, typer.Option(help="include SmolLM2 on llama.cpp if installed")] = True,
    local_questions: Annotated[int, typer.Option(min=1, help="questions for the local model")] = 3,
) -> None:
    """Run the gateway on its embedded default and print what each deployment cost."""
    from rich.table import Table

    from unitcost.demo import routing_summary, run_demo
    from unitcost.report.tables import money

    result = run_demo(
        ledger, local, local_questions, log=lambda m: err.print(m, highlight=False, markup=False)
    )
    table = Table(
        title="unitcost demo: per deployment, read back from the ledger", title_justify="left"
    )
    for col in (
        "deployment",
        "requests",
        "accuracy",
        "prompt tok",
        "completion tok",
        "of which reasoning",
        "cost",
        "$/1K tokens",
    ):
        table.add_column(col, justify="left" if col == "deployment" else "right")
    for s in result.deployments.values():
        table.add_row(
            s.name,
            str(s.requests),
            f"{s.accuracy:.1%}",
            f"{s.prompt_tokens:,}",
            f"{s.completion_tokens:,}",
            f"{s.reasoning_tokens:,}",
            money(s.cost_usd),
            money(s.usd_per_1k_tokens),
        )
    out.print(table)
    for s in result.deployments.values():
        out.print(f"  {s.name}: priced by {s.price_origin}", highlight=False, markup=False)
    summary = routing_summary(result)
    if summary:
        out.print(summary, highlight=False, markup=False)
    for note in result.notes:
        out.print(f"  note: {note}", highlight=False, markup=False)
    out.print(
        f"ledger: {result.ledger_url} ({result.ledger_rows} rows); "
        f"see it again with `unitcost usage --ledger {result.ledger_url}`",
        highlight=False,
        markup=False,
    )
