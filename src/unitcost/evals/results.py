"""From recorded answers to results: scores, quality and cost with intervals, paired tests.

    results = summarise(run)                        # one TaskResult per task
    r = results[0].variants["gpt-5-mini"]
    r.quality                                       # Interval(point, low, high, method=wilson)
    r.cost_per_task, r.cost_per_correct             # $ with bootstrap intervals
    results[0].comparisons[0].quality_diff          # paired: Newcombe for 0/1, else bootstrap

Scoring reads only the eval log, so re-scoring with another metric calls no model (a judge
metric reads its recorded verdicts). A call that failed scores 0, as a user would have got
nothing; a call the budget never sent is left out and counted as `skipped`. With several
epochs an item's score and cost are its epochs' means. Costs are the candidates' only: a
judge's spend is reported apart (`judge_usd`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unitcost.evals.log import EvalLog, Sample, request_key
from unitcost.evals.metrics import Agreement, Judge, Score
from unitcost.evals.plan import Job
from unitcost.evals.runner import EvalRun, judge_body
from unitcost.evals.statistics import (
    Interval,
    McNemar,
    Resampler,
    is_binary,
    mcnemar,
    paired_difference,
    quality_interval,
    wilson,
)
from unitcost.ledger.record import NANOS_PER_USD

__all__ = ["Comparison", "TaskResult", "VariantResult", "compare", "summarise"]

Floats = NDArray[np.float64]


@dataclass
class VariantResult:
    task: str
    variant: str
    model: str
    items: list[str]
    scores: Floats  # per item, the mean over its epochs
    costs_usd: Floats  # per item, candidate calls only
    latency_ms: Floats  # per answered sample
    errors: int = 0
    skipped: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)
    spent_nanos: int = 0  # sent in this invocation
    recorded_nanos: int = 0  # every answer's cost when it was asked: the uncached cost
    judge_nanos: int = 0
    teacher: str | None = None
    quality: Interval = field(default_factory=lambda: wilson(0, 0))
    cost_per_task: Interval = field(default_factory=lambda: wilson(0, 0))
    cost_per_correct: Interval = field(default_factory=lambda: wilson(0, 0))
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.items)

    def latency_s(self, q: float) -> float:
        return float(np.percentile(self.latency_ms, q)) / 1000 if self.latency_ms.size else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "variant": self.variant,
            "model": self.model,
            "n": self.n,
            "errors": self.errors,
            "skipped": self.skipped,
            "quality": self.quality.to_dict(),
            "cost_per_task_usd": self.cost_per_task.to_dict(),
            "cost_per_correct_usd": self.cost_per_correct.to_dict(),
            "latency_p50_s": self.latency_s(50),
            "latency_p95_s": self.latency_s(95),
            "tokens": self.tokens,
            "served_by": self.served,
            "spent_nanos": self.spent_nanos,
            "uncached_nanos": self.recorded_nanos,
            "judge_nanos": self.judge_nanos,
            "teacher": self.teacher,
        }


@dataclass
class Comparison:
    task: str
    a: str
    b: str
    n: int  # items both answered
    quality_diff: Interval  # a − b
    cost_diff: Interval  # a − b, $ per task
    mcnemar: McNemar | None

    def to_dict(self) -> dict[str, Any]:
        m = self.mcnemar
        return {
            "task": self.task,
            "a": self.a,
            "b": self.b,
            "n": self.n,
            "quality_diff": self.quality_diff.to_dict(),
            "cost_per_task_diff_usd": self.cost_diff.to_dict(),
            "mcnemar": None
            if m is None
            else {"b": m.b, "c": m.c, "p_value": m.p_value, "method": m.method},
        }


@dataclass
class TaskResult:
    task: str
    metric: str
    epochs: int
    variants: dict[str, VariantResult]
    comparisons: list[Comparison]
    resamples: int
    level: float

    def comparison(self, a: str, b: str) -> Comparison | None:
        return next((c for c in self.comparisons if (c.a, c.b) == (a, b)), None)


def _reference(job: Job, name: str, log: EvalLog) -> Sample | None:
    """The reference variant's recorded answer to the same item and epoch."""
    task = job.task
    ref = task.variant(name)
    body = {"model": ref.model, "messages": task.messages(ref, job.item), **task.params_of(ref)}
    return log.get(request_key(body, job.epoch))


def _score(job: Job, sample: Sample, log: EvalLog) -> Score | None:
    metric = job.task.metric
    if sample.status != "ok":
        return Score(0.0, None, sample.error or sample.status)
    if isinstance(metric, Agreement):
        ref = _reference(job, metric.reference, log)
        return None if ref is None else metric.compare(sample.answer, ref.answer)
    if isinstance(metric, Judge):
        body = judge_body(metric, job.task, job.item, sample.answer)
        verdict = log.get(request_key(body, job.epoch))
        return None if verdict is None else metric.read_verdict(verdict.answer)
    return metric.score(sample.answer, job.item.get(job.task.dataset.target), job.item)


def _ratio_interval(
    costs: Floats, scores: Floats, resamples: int, level: float, seed: int
) -> Interval:
    """Σ cost ÷ Σ score, with the bootstrap of that ratio: $ per correct answer."""
    total_score = float(scores.sum())
    if not costs.size or total_score == 0:
        return Interval(math.nan, math.nan, math.nan, level, "bootstrap")
    sums = Resampler(costs.size, resamples, seed).sums(np.column_stack([costs, scores]))
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = sums[:, 0] / sums[:, 1]
    return _interval(float(costs.sum()) / total_score, draws, level)


def _mean_interval(values: Floats, resamples: int, level: float, seed: int) -> Interval:
    if not values.size:
        return Interval(math.nan, math.nan, math.nan, level, "bootstrap")
    draws = Resampler(values.size, resamples, seed).sums(values)[:, 0] / values.size
    return _interval(float(values.mean()), draws, level)


def _interval(point: float, draws: Floats, level: float) -> Interval:
    draws = draws[np.isfinite(draws)]
    if not draws.size:
        return Interval(point, math.nan, math.nan, level, "bootstrap")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(point, float(low), float(high), level, "bootstrap")


def _variant(task_jobs: list[Job], log: EvalLog, fresh_keys: set[str]) -> VariantResult:
    first = task_jobs[0]
    per_item: dict[str, list[tuple[float, int]]] = {}
    latency: list[float] = []
    examples: list[dict[str, Any]] = []
    errors = skipped = 0
    tokens = {"prompt": 0, "completion": 0, "reasoning": 0, "cached": 0}
    served: dict[str, int] = {}
    spent = recorded = judged = 0
    for job in task_jobs:
        sample = log.samples.get(job.key)
        if sample is None:
            skipped += 1
            continue
        score = _score(job, sample, log)
        if score is None:
            skipped += 1
            continue
        errors += sample.status != "ok"
        per_item.setdefault(job.item["id"], []).append((score.value, sample.cost_nanos))
        recorded += sample.cost_nanos
        spent += sample.cost_nanos if sample.key in fresh_keys else 0
        if sample.status == "ok":
            latency.append(sample.latency_ms)
            for kind in tokens:
                tokens[kind] += getattr(sample, f"{kind}_tokens")
            for d in sample.deployments:
                served[d] = served.get(d, 0) + 1
            if len(examples) < 3:
                examples.append(
                    {
                        "item": job.item["id"],
                        "answer": sample.answer[-300:],
                        "extracted": score.extracted,
                        "score": score.value,
                    }
                )
        if isinstance(job.task.metric, Judge):
            body = judge_body(job.task.metric, job.task, job.item, sample.answer)
            verdict = log.get(request_key(body, job.epoch))
            judged += verdict.cost_nanos if verdict else 0
    items = list(per_item)
    scores = np.array([sum(s for s, _ in per_item[i]) / len(per_item[i]) for i in items])
    costs = np.array([sum(c for _, c in per_item[i]) / len(per_item[i]) for i in items])
    return VariantResult(
        first.task.name,
        first.variant.name,
        first.variant.model,
        items,
        scores,
        costs / NANOS_PER_USD,
        np.asarray(latency, dtype=float),
        errors,
        skipped,
        tokens,
        served,
        spent,
        recorded,
        judged,
        first.variant.teacher,
        examples=examples,
    )


def compare(
    a: VariantResult, b: VariantResult, resamples: int, level: float, seed: int
) -> Comparison:
    """a − b on the items both answered, resampled together."""
    in_b = set(b.items)
    common = [i for i in a.items if i in in_b]
    ia = {item: k for k, item in enumerate(a.items)}
    ib = {item: k for k, item in enumerate(b.items)}
    sa = np.array([a.scores[ia[i]] for i in common], dtype=float)
    sb = np.array([b.scores[ib[i]] for i in common], dtype=float)
    ca = np.array([a.costs_usd[ia[i]] for i in common], dtype=float)
    cb = np.array([b.costs_usd[ib[i]] for i in common], dtype=float)
    if not common:
        nan = Interval(math.nan, math.nan, math.nan, level, "paired bootstrap")
        return Comparison(a.task, a.variant, b.variant, 0, nan, nan, None)
    n = len(common)
    sums = Resampler(n, resamples, seed).sums(ca - cb)
    c = _interval(float((ca - cb).mean()), sums[:, 0] / n, level)
    binary = is_binary(sa) and is_binary(sb)
    return Comparison(
        a.task,
        a.variant,
        b.variant,
        n,
        paired_difference(sa, sb, resamples, level, seed),
        Interval(c.point, c.low, c.high, level, "paired bootstrap"),
        mcnemar(sa, sb) if binary else None,
    )


def summarise(
    run: EvalRun, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> list[TaskResult]:
    fresh = {s.key for s in run.log.samples.values() if s.fresh}
    out = []
    for task in run.tasks:
        by_variant: dict[str, list[Job]] = {}
        for job in run.jobs:
            if job.task is task:
                by_variant.setdefault(job.variant.name, []).append(job)
        variants = {}
        for name, jobs in by_variant.items():
            r = _variant(jobs, run.log, fresh)
            r.quality = quality_interval(r.scores, resamples, level, seed)
            r.cost_per_task = _mean_interval(r.costs_usd, resamples, level, seed)
            r.cost_per_correct = _ratio_interval(r.costs_usd, r.scores, resamples, level, seed)
            variants[name] = r
        names = list(variants)
        comparisons = [
            compare(variants[a], variants[b], resamples, level, seed)
            for i, a in enumerate(names)
            for b in names[i + 1 :]
        ]
        out.append(
            TaskResult(
                task.name, task.metric.kind, task.epochs, variants, comparisons, resamples, level
            )
        )
    return out
