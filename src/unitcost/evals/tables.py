"""Eval results as text: an 80-column terminal report, a markdown summary, CSV.

    print(terminal_text(report))       # every line ≤ 80 columns
    markdown_summary(report)           # a pull-request comment
    csv_text(report)                   # one row per task and variant

Variants get a letter (A, B, ...) so the comparison rows fit; a legend maps them back.
A cost column is in $ per task, or per 1,000 tasks when a task costs under a cent, with one
fixed precision per column and never scientific notation. Money the run spent is summed in
integer nano-dollars, as the ledger holds it, and printed from that sum.
"""

from __future__ import annotations

import csv
import io
import math

from unitcost.evals.report import Report, TaskReport, exact_usd, uncached_nanos, usd

__all__ = ["WIDTH", "csv_text", "markdown_summary", "terminal_text"]

WIDTH = 80


def _scale(values: list[float]) -> tuple[float, str]:
    """Per 1,000 when any value is under a cent, so no column needs six decimals."""
    finite = [v for v in values if math.isfinite(v) and v > 0]
    return (1000.0, "$/1K") if finite and min(finite) < 0.01 else (1.0, "$/")


def _decimals(values: list[float]) -> int:
    finite = [abs(v) for v in values if math.isfinite(v) and v]
    if not finite:
        return 2
    return min(6, max(2, 2 - math.floor(math.log10(min(finite)))))


def _money(v: float, d: int) -> str:
    return "n/a" if not math.isfinite(v) else f"${v:,.{d}f}"


def _signed_money(v: float, d: int) -> str:
    """A paired difference in dollars: `+$58.42`, `-$3.10`; n/a when undefined (no pairs)."""
    if not math.isfinite(v):
        return "n/a"
    return f"{'-' if v < 0 else '+'}${abs(v):,.{d}f}"


def _points(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{v * 100:+.1f}"


def _seconds(v: float, width: int) -> str:
    return f"{'n/a':>{width}}" if not math.isfinite(v) else f"{v:>{width}.2f}"


def _pct(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:.1%}"


def _name(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _ci(low: float, high: float, fmt: str) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "(n/a)"
    return f"({low:{fmt}}–{high:{fmt}})"


def _quality_rows(t: TaskReport, scale: float, unit: str, d: int) -> list[str]:
    vs = list(t.result.variants.values())
    lines = [
        f"{'':2}{'variant':<22}{'n':>5}{'quality':>8}{'(95% CI)':>14}{unit:>12}{'(95% CI)':>17}"
    ]
    for v in vs:
        q, c = v.quality, v.cost_per_task
        lines.append(
            f"{t.letters[v.variant]:<2}{_name(v.variant, 21):<22}{v.n:>5}{_pct(q.point):>8}"
            f"{_ci(q.low * 100, q.high * 100, '.1f'):>14}{_money(c.point * scale, d):>12}"
            f"{_ci(c.low * scale, c.high * scale, f',.{d}f'):>17}"
        )
    return lines


def _usage_rows(t: TaskReport) -> list[str]:
    vs = list(t.result.variants.values())
    ok_scale, ok_unit = _scale([v.cost_per_correct.point for v in vs])
    ok_d = _decimals([v.cost_per_correct.point * ok_scale for v in vs])
    ok_head = f"{ok_unit} ok" if ok_unit == "$/1K" else "$/ok"
    lines = [
        f"{'':2}{'variant':<22}{ok_head:>10}{'p50 s':>6}{'p95 s':>7}{'prompt tok':>11}"
        f"{'output tok':>11}{'reasoning':>11}"
    ]
    for v in vs:
        lines.append(
            f"{t.letters[v.variant]:<2}{_name(v.variant, 21):<22}"
            f"{_money(v.cost_per_correct.point * ok_scale, ok_d):>10}{_seconds(v.latency_s(50), 6)}"
            f"{_seconds(v.latency_s(95), 7)}{v.tokens.get('prompt', 0):>11,}"
            f"{v.tokens.get('completion', 0):>11,}{v.tokens.get('reasoning', 0):>11,}"
        )
    trouble = [f"{t.letters[v.variant]} {v.errors} errors" for v in vs if v.errors]
    trouble += [f"{t.letters[v.variant]} {v.skipped} not asked" for v in vs if v.skipped]
    if trouble:
        lines.append("  " + "; ".join(trouble) + " (errors score 0; not asked: left out)")
    return lines


def _pair_rows(t: TaskReport, scale: float, unit: str, d: int) -> list[str]:
    lines = [f"{'paired: a − b':<18}{'Δquality (95% CI)':<25}{'p':>7}  Δ{unit} (95% CI)"]
    for c in t.result.comparisons:
        q, dc, m = c.quality_diff, c.cost_diff, c.mcnemar
        p = "n/a" if m is None else ("<0.001" if m.p_value < 0.001 else f"{m.p_value:.3f}")
        if c.n:
            qs = f"{_points(q.point)}pt ({_points(q.low)} to {_points(q.high)})"
            low, high = _signed_money(dc.low * scale, d), _signed_money(dc.high * scale, d)
            cs = f"{_signed_money(dc.point * scale, d)} ({low} to {high})"
        else:  # no item both variants answered: nothing to compare
            qs, cs = "n/a (no pairs)", "n/a"
        pair = f"{t.letters[c.a]} − {t.letters[c.b]} (n={c.n})"
        lines.append(f"  {pair:<16}{qs:<25}{p:>7}  {cs}")
    return lines


def _verdict_rows(t: TaskReport) -> list[str]:
    on = [t.letters[p.variant] for p in t.frontier if p.on_frontier]
    lines = [f"frontier (dominated only where intervals separate): {', '.join(on)}"]
    for p in t.frontier:
        if p.failed:
            lines.append(f"  {t.letters[p.variant]} failed every call: not on the frontier")
        elif p.dominated_by:
            by = ", ".join(t.letters[b] for b in p.dominated_by)
            lines.append(f"  {t.letters[p.variant]} is dominated by {by}")
        elif p.tied_with:
            by = ", ".join(t.letters[b] for b in p.tied_with)
            lines.append(f"  {t.letters[p.variant]} trails {by} by point estimates only: a tie")
    for name, (w, s, m) in t.mixes.items():
        lines.append(f"  {t.letters[name]} (route over {t.letters[w]}, {t.letters[s]}) {m.verdict}")
    for row in t.distilled:
        lines.append(
            f"  {t.letters[row['student']]} distilled from {t.letters[row['teacher']]}: keeps "
            f"{row['quality_retained']:.1%} of its quality at {row['cost_ratio']:.1%} of its cost"
        )
    return lines


def _task_lines(t: TaskReport) -> list[str]:
    r = t.result
    vs = list(r.variants.values())
    scale, unit = _scale([v.cost_per_task.point for v in vs])
    unit = "$/1K tasks" if unit == "$/1K" else "$/task"
    d = _decimals([v.cost_per_task.point * scale for v in vs])
    lines = [
        f"{r.task}: metric {r.metric}, {r.epochs} epoch(s); {r.level:.0%} CIs: Wilson (0/1 "
        f"scores) or bootstrap ({r.resamples:,})",
        *_quality_rows(t, scale, unit, d),
        "",
        *_usage_rows(t),
    ]
    if r.comparisons:
        lines += ["", *_pair_rows(t, scale, unit, d)]
    lines += ["", *_verdict_rows(t)]
    legend = ", ".join(f"{t.letters[v.variant]} = {v.variant}" for v in vs)
    lines.append(
        f"legend: {legend}; ok = per correct answer; pt = percentage points; "
        "p = McNemar's test (0/1 scores)"
    )
    return lines


def _wrap(line: str, indent: str = "    ") -> list[str]:
    """Lines of at most WIDTH, broken at spaces; a word longer than a line (a path) is cut."""
    out, rest, start = [], line, 0
    while len(rest) > WIDTH:
        cut = rest.rfind(" ", start + 1, WIDTH + 1)
        cut = cut if cut > start else WIDTH
        out.append(rest[:cut].rstrip())
        rest, start = indent + rest[cut:].lstrip(), len(indent)
    return [*out, rest]


def terminal_text(report: Report) -> str:
    lines: list[str] = []
    for t in report.tasks:
        lines += [*_task_lines(t), ""]
    run = report.run
    lines.append(
        f"spent now {usd(run.spent_nanos)} ({run.fresh:,} calls; judges "
        f"{usd(run.judge_spent_nanos)}); uncached this run would cost {usd(uncached_nanos(run))}; "
        f"{run.cached:,} answers reused from the log"
    )
    if run.cap_nanos is not None:
        lines.append(f"--max-usd {usd(run.cap_nanos)}: {run.skipped:,} calls not sent")
    if run.ledger_url:
        lines.append(f"ledger: {run.ledger_url} ({run.ledger_rows:,} rows read back)")
    lines += [f"note: {n}" for n in run.notes]
    for o in report.gates:
        mark = {"pass": "PASS", "fail": "FAIL", "inconclusive": "WARN"}[o.status]
        lines.append(f"gate {mark} {o.gate.text}: {o.message}")
    return "\n".join(x for line in lines for x in _wrap(line))


def csv_text(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "task",
            "variant",
            "model",
            "n",
            "errors",
            "skipped",
            "quality",
            "quality_low",
            "quality_high",
            "cost_per_task_usd",
            "cost_per_task_low",
            "cost_per_task_high",
            "cost_per_correct_usd",
            "latency_p50_s",
            "latency_p95_s",
            "prompt_tokens",
            "completion_tokens",
            "reasoning_tokens",
            "cached_tokens",
            "spent_usd",
            "uncached_usd",
            "judge_usd",
            "on_frontier",
            "dominated_by",
        ]
    )
    for t in report.tasks:
        front = {p.variant: p for p in t.frontier}
        for v in t.result.variants.values():
            p = front[v.variant]
            w.writerow(
                [
                    v.task,
                    v.variant,
                    v.model,
                    v.n,
                    v.errors,
                    v.skipped,
                    f"{v.quality.point:.6f}",
                    f"{v.quality.low:.6f}",
                    f"{v.quality.high:.6f}",
                    f"{v.cost_per_task.point:.9f}",
                    f"{v.cost_per_task.low:.9f}",
                    f"{v.cost_per_task.high:.9f}",
                    f"{v.cost_per_correct.point:.9f}",
                    f"{v.latency_s(50):.3f}",
                    f"{v.latency_s(95):.3f}",
                    v.tokens.get("prompt", 0),
                    v.tokens.get("completion", 0),
                    v.tokens.get("reasoning", 0),
                    v.tokens.get("cached", 0),
                    exact_usd(v.spent_nanos),
                    exact_usd(v.recorded_nanos),
                    exact_usd(v.judge_nanos),
                    p.on_frontier,
                    " ".join(p.dominated_by),
                ]
            )
    return buf.getvalue()


def markdown_summary(report: Report) -> str:
    """A pull-request comment: each task's table, the frontier and every gate."""
    icon = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}
    out = ["## unitcost eval", ""]
    for t in report.tasks:
        r = t.result
        out += [
            f"### {r.task} ({r.metric})",
            "",
            "| variant | n | quality (95% CI) | $/task (95% CI) | $/correct | frontier |",
            "|---|---:|---:|---:|---:|:---:|",
        ]
        front = {p.variant: p for p in t.frontier}
        for v in r.variants.values():
            q, c = v.quality, v.cost_per_task
            out.append(
                f"| {v.variant} | {v.n} | {_pct(q.point)} ({_pct(q.low)}–{_pct(q.high)}) | "
                f"{_money(c.point, 6)} ({_money(c.low, 6)}–{_money(c.high, 6)}) | "
                f"{_money(v.cost_per_correct.point, 6)} | "
                f"{'yes' if front[v.variant].on_frontier else 'no'} |"
            )
        for name, (_, _, m) in t.mixes.items():
            out.append(f"\n{name} {m.verdict}.")
        out.append("")
    if report.gates:
        out += ["### gates", ""]
        out += [f"- {icon[o.status]} `{o.gate.text}`: {o.message}" for o in report.gates]
    run = report.run
    out += [
        "",
        f"Spent {usd(run.spent_nanos)} now ({run.fresh} calls, judges "
        f"{usd(run.judge_spent_nanos)}); uncached: {usd(uncached_nanos(run))}.",
    ]
    return "\n".join(out) + "\n"
