"""One eval report: results, frontier, routers against their random mix, distillation, gates.

    report = build_report(run, results, gate_outcomes)
    report.to_json()                  # everything, money as exact decimal strings
    # text: evals.tables (terminal, markdown, CSV); pictures: evals.plots (PNG, HTML)

Money the run spent is summed in integer nano-dollars, as the ledger holds it, and written
from that sum (`exact_usd`), so JSON totals have no float drift.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass, field
from typing import Any

import orjson

from unitcost.economics.speculative import distillation
from unitcost.evals.frontier import FrontierPoint, ItemOutcomes, MixComparison, beats_random_mix
from unitcost.evals.gates import GateOutcome
from unitcost.evals.results import TaskResult, VariantResult
from unitcost.evals.runner import EvalRun
from unitcost.ledger.record import NANOS_PER_USD

__all__ = ["Report", "TaskReport", "build_report", "exact_usd", "uncached_nanos", "usd"]


def usd(nanos: int) -> str:
    """Exact dollars from integer nano-dollars: $12.345678901 → '$12.3457' (rounded at print)."""
    return f"${nanos / NANOS_PER_USD:,.4f}"


def exact_usd(nanos: int) -> str:
    sign = "-" if nanos < 0 else ""
    whole, frac = divmod(abs(nanos), NANOS_PER_USD)
    return f"{sign}{whole}.{frac:09d}"


@dataclass
class TaskReport:
    result: TaskResult
    letters: dict[str, str]
    frontier: list[FrontierPoint]
    mixes: dict[str, tuple[str, str, MixComparison]] = field(default_factory=dict)
    distilled: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Report:
    run: EvalRun
    tasks: list[TaskReport]
    gates: list[GateOutcome]

    def to_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "run": {
                "ledger": run.ledger_url,
                "fresh_calls": run.fresh,
                "cached_answers": run.cached,
                "skipped": run.skipped,
                "missing": run.missing,
                "spent_usd": exact_usd(run.spent_nanos),
                "judge_spent_usd": exact_usd(run.judge_spent_nanos),
                "uncached_usd": exact_usd(uncached_nanos(run)),
                "cap_usd": None if run.cap_nanos is None else exact_usd(run.cap_nanos),
                "ledger_rows": run.ledger_rows,
                "estimate": None
                if run.estimate is None
                else {
                    "prompts_usd": exact_usd(run.estimate.input_nanos),
                    "expected_usd": _maybe_usd(run.estimate.expected_nanos),
                    "worst_usd": _maybe_usd(run.estimate.worst_nanos),
                },
                "notes": run.notes,
                "prices": {n: r.to_dict() for n, r in sorted(run.rates.items())},
            },
            "tasks": [
                {
                    "task": t.result.task,
                    "metric": t.result.metric,
                    "epochs": t.result.epochs,
                    "variants": [v.to_dict() for v in t.result.variants.values()],
                    "comparisons": [c.to_dict() for c in t.result.comparisons],
                    "frontier": [
                        {
                            "variant": p.variant,
                            "on_frontier": p.on_frontier,
                            "dominated_by": p.dominated_by,
                            "tied_with": p.tied_with,
                            "failed_every_call": p.failed,
                        }
                        for p in t.frontier
                    ],
                    "routes_vs_random_mix": {
                        name: {
                            "members": [w, s],
                            "delta": m.delta,
                            "ci": m.ci.to_dict(),
                            "share": m.share,
                            "beats": m.beats,
                            "verdict": m.verdict,
                        }
                        for name, (w, s, m) in t.mixes.items()
                    },
                    "distilled": t.distilled,
                }
                for t in self.tasks
            ],
            "gates": [
                {
                    "gate": o.gate.text,
                    "task": o.task,
                    "subject": o.subject,
                    "status": o.status,
                    "value": o.value.to_dict(),
                    "message": o.message,
                }
                for o in self.gates
            ],
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)


def _maybe_usd(nanos: int | None) -> str | None:
    return None if nanos is None else exact_usd(nanos)


def uncached_nanos(run: EvalRun) -> int:
    keys = {j.key for j in run.jobs}
    return sum(s.cost_nanos for s in run.log.samples.values() if s.key in keys and s.status == "ok")


def _mixes(run: EvalRun, task: TaskResult) -> dict[str, tuple[str, str, MixComparison]]:
    """Each route variant whose two members are variants too, against their random mix."""
    out = {}
    by_model = {v.model: v for v in task.variants.values()}
    for name, r in task.variants.items():
        rate = run.rates.get(r.model)
        if rate is None or len(rate.members) != 2 or not all(m in by_model for m in rate.members):
            continue
        a, b = (by_model[m] for m in rate.members)
        both = set(a.items) & set(b.items)
        common = [i for i in r.items if i in both]
        if not common:
            continue

        def pick(v: VariantResult, common: list[str] = common) -> ItemOutcomes:
            at = {item: k for k, item in enumerate(v.items)}
            return ItemOutcomes.of(
                [v.scores[at[i]] for i in common], [v.costs_usd[at[i]] for i in common]
            )

        weak, strong = sorted((a, b), key=lambda v: v.cost_per_task.point)
        mix = beats_random_mix(pick(weak), pick(strong), pick(r), seed=0)
        out[name] = (weak.variant, strong.variant, mix)
    return out


def _distilled(task: TaskResult) -> list[dict[str, Any]]:
    rows = []
    for r in task.variants.values():
        teacher = task.variants.get(r.teacher or "")
        if teacher is None or not r.n or not teacher.n:
            continue
        d = distillation(
            student_usd_per_1k=r.cost_per_task.point * 1000,
            teacher_usd_per_1k=teacher.cost_per_task.point * 1000,
        )
        retained = r.quality.point / teacher.quality.point if teacher.quality.point else math.nan
        rows.append(
            {
                "student": r.variant,
                "teacher": teacher.variant,
                "quality_retained": retained,
                "cost_ratio": float(d.cost_ratio),
                "note": "serving cost per task only; add one-off distillation costs with "
                "unitcost.economics.speculative.distillation",
            }
        )
    return rows


def build_report(run: EvalRun, results: list[TaskResult], gates: list[GateOutcome]) -> Report:
    from unitcost.evals.frontier import frontier

    tasks = []
    for t in results:
        letters = {name: _letter(k) for k, name in enumerate(t.variants)}
        tasks.append(TaskReport(t, letters, frontier(t), _mixes(run, t), _distilled(t)))
    return Report(run, tasks, gates)


def _letter(k: int) -> str:
    abc = string.ascii_uppercase
    return abc[k] if k < 26 else abc[k // 26 - 1] + abc[k % 26]
