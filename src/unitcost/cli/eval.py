"""`unitcost eval ...`: run tasks through the gateway, score, compare, gate CI."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from unitcost.cli._console import app, say

if TYPE_CHECKING:
    from unitcost.evals.runner import EvalRun
    from unitcost.evals.tasks import Task

eval_app = typer.Typer(
    help="Evaluate variants (deployments, routes, prompts, parameters) on quality and cost.",
    no_args_is_help=True,
)
app.add_typer(eval_app, name="eval")

Tasks = Annotated[
    list[str], typer.Argument(help="task YAML files or built-ins: gpqa, aime, replay")
]
Out = Annotated[Path, typer.Option(help="the run folder: eval log, ledger, reports")]
Gates = Annotated[
    list[str] | None,
    typer.Option("--gate", help="e.g. 'quality >= 0.8', 'quality(new) - quality(old) >= -0.02'"),
]
Variants = Annotated[list[str] | None, typer.Option("--variant", help="only these variants")]


def _tasks(specs: list[str], limit: int | None) -> list[Task]:
    from unitcost.errors import InputError
    from unitcost.evals.tasks import load_task

    tasks = [load_task(s) for s in specs]
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise InputError(f"tasks: two tasks are named {max(names, key=names.count)!r}")
    if limit is not None:
        tasks = [t.model_copy(update={"items": t.items[:limit]}) for t in tasks]
    return tasks


def _finish(
    run: EvalRun,
    out: Path,
    gates: list[str] | None,
    resamples: int,
    level: float,
    seed: int,
    junit: Path | None,
    markdown: Path | None,
    outcomes: Path | None,
) -> None:
    from unitcost.evals.gates import check_gates, exit_code, junit_xml, parse_gate
    from unitcost.evals.outcomes import write_outcomes
    from unitcost.evals.plots import frontier_png, html_report
    from unitcost.evals.report import build_report
    from unitcost.evals.results import summarise
    from unitcost.evals.tables import csv_text, markdown_summary, terminal_text

    parsed = [parse_gate(g) for g in gates or []]  # bad gates fail before any output
    results = summarise(run, resamples, level, seed)
    outcomes_gates = check_gates(parsed, results)
    report = build_report(run, results, outcomes_gates)
    say(terminal_text(report))
    out.mkdir(parents=True, exist_ok=True)
    png = frontier_png(report)
    files = {
        "report.json": report.to_json(),
        "report.csv": csv_text(report).encode(),
        "frontier.png": png,
        "report.html": html_report(report, png).encode(),
        "summary.md": markdown_summary(report).encode(),
    }
    for name, data in files.items():
        (out / name).write_bytes(data)
    written = [str(out / n) for n in files]
    if junit is not None:
        junit.write_text(junit_xml(outcomes_gates), encoding="utf-8")
        written.append(str(junit))
    if markdown is not None:
        markdown.write_text(markdown_summary(report), encoding="utf-8")
        written.append(str(markdown))
    if outcomes is not None:
        rows = write_outcomes(run, results, outcomes)
        written.append(f"{outcomes} ({rows} rows for unitcost route-eval)")
    say("wrote " + ", ".join(written), stderr=True)
    code = exit_code(outcomes_gates)
    if code:
        say("a gate failed with its interval clear of the threshold: exit 1", stderr=True)
        sys.exit(code)


@eval_app.command("run")
def run_cmd(
    tasks: Tasks,
    out: Out = Path("eval-out"),
    config: Annotated[
        Path | None, typer.Option(help="gateway.yaml with the portfolio (default: replay)")
    ] = None,
    ledger: Annotated[str | None, typer.Option(help="sqlite:///PATH or postgresql://...")] = None,
    variant: Variants = None,
    concurrency: Annotated[int, typer.Option(min=1, max=256)] = 8,
    max_usd: Annotated[
        float | None, typer.Option(min=0, help="hard cap on this run's spend, in $")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="first N items of each task")] = None,
    gate: Gates = None,
    junit: Annotated[Path | None, typer.Option(help="write gate results as JUnit XML")] = None,
    markdown: Annotated[Path | None, typer.Option(help="write a PR-comment summary")] = None,
    outcomes: Annotated[
        Path | None, typer.Option(help="per-item outcomes for route-eval (.csv/.jsonl)")
    ] = None,
    resamples: Annotated[int, typer.Option(min=100)] = 1000,
    level: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.95,
    seed: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Ask every variant every item through the gateway (answers in the log are reused)."""
    from unitcost.evals.gates import check_variants, parse_gate
    from unitcost.evals.runner import RunOptions, run_eval

    loaded = _tasks(tasks, limit)
    asked = {v.name for t in loaded for v in t.variants if not variant or v.name in variant}
    check_variants([parse_gate(g) for g in gate or []], asked)
    out.mkdir(parents=True, exist_ok=True)  # before the gateway starts, which writes there
    options = RunOptions(
        out=out,
        concurrency=concurrency,
        max_usd=max_usd,
        gateway=str(config) if config else None,
        ledger=ledger,
        variants=variant,
        log=lambda m: say(m, stderr=True),
    )
    run = run_eval(loaded, options)
    _finish(run, out, gate, resamples, level, seed, junit, markdown, outcomes)


@eval_app.command("score")
def score_cmd(
    tasks: Tasks,
    out: Out = Path("eval-out"),
    variant: Variants = None,
    limit: Annotated[int | None, typer.Option(min=1)] = None,
    gate: Gates = None,
    junit: Annotated[Path | None, typer.Option()] = None,
    markdown: Annotated[Path | None, typer.Option()] = None,
    outcomes: Annotated[Path | None, typer.Option()] = None,
    resamples: Annotated[int, typer.Option(min=100)] = 1000,
    level: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.95,
    seed: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Re-score the answers recorded in OUT with the tasks' current metrics: no calls."""
    from unitcost.evals.runner import RunOptions, run_eval

    options = RunOptions(out=out, variants=variant, offline=True)
    run = run_eval(_tasks(tasks, limit), options)
    _finish(run, out, gate, resamples, level, seed, junit, markdown, outcomes)


@eval_app.command("estimate")
def estimate_cmd(
    tasks: Tasks,
    out: Out = Path("eval-out"),
    config: Annotated[Path | None, typer.Option()] = None,
    variant: Variants = None,
    limit: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """What a run would cost, from the prompts' token counts: no calls, no spend."""
    from unitcost.evals.runner import RunOptions, run_eval
    from unitcost.ledger.record import nanos_to_usd

    options = RunOptions(
        out=out,
        gateway=str(config) if config else None,
        variants=variant,
        estimate_only=True,
        log=lambda m: None,
    )
    run = run_eval(_tasks(tasks, limit), options)
    assert run.estimate is not None
    say(
        f"{'task':<12}{'variant':<23}{'calls':>6}{'cached':>7}{'expected':>11}{'worst':>11}  output"
    )

    def money(nanos: int | None) -> str:
        return "unknown" if nanos is None else f"${nanos_to_usd(nanos):,.4f}"

    for line in run.estimate.lines:
        say(
            f"{line.task[:11]:<12}{line.variant[:22]:<23}{line.calls:>6}{line.cached:>7}"
            f"{money(line.expected_nanos if line.pending else 0):>11}"
            f"{money(line.worst_nanos if line.pending else 0):>11}"
            f"{line.recorded_answers or '-':>9}"
        )
    say(run.estimate.summary())
    say(
        "expected: output as this model's recorded answers (`recorded`); worst case: 1.5× "
        "the counted prompt tokens + 16, and all of max_tokens",
        stderr=True,
    )


@eval_app.command("tasks")
def tasks_cmd() -> None:
    """The built-in tasks (the shipped GPQA and AIME replay set)."""
    from unitcost.evals.tasks import BUILTIN, builtin_task

    for name in BUILTIN:
        t = builtin_task(name)
        say(f"{name:<8}{len(t.variants)} variants; {t.description}")
