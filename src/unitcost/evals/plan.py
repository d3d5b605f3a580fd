"""What a run will ask, and what it should cost before it asks: jobs and the pre-flight estimate.

    jobs = plan_jobs(tasks)                       # one per task × item × epoch × variant
    est = estimate(jobs, rates, log)              # from the prompts' token counts
    print(est.summary())                          # expected and worst-case $, cached calls

Jobs come item by item, every variant of an item together, so a run stopped by its budget
has asked all variants the same items and their comparison stays paired.

Prompt tokens are counted offline with OpenAI's o200k_base encoding (shipped, never
downloaded). The worst case allows a provider's own tokenizer 1.5× that count plus 16 and
the full `max_tokens` at the dearest output price of whatever may serve the call. The
expected cost takes each model's mean output from the answers the log holds for it; with
none recorded it is reported as unknown rather than guessed (a `--limit` run records some),
and the counted prompts alone give its floor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from unitcost.errors import InputError
from unitcost.evals.log import EvalLog, request_key
from unitcost.evals.portfolio import Rate
from unitcost.evals.tasks import Task, Variant
from unitcost.ledger.record import nanos_to_usd

__all__ = ["Estimate", "Job", "estimate", "max_tokens_of", "plan_jobs", "prompt_tokens"]

TOKENIZER = "tiktoken:o200k_base"


@dataclass(frozen=True)
class Job:
    task: Task
    variant: Variant
    item: dict[str, Any]
    epoch: int
    body: dict[str, Any]
    key: str

    @property
    def max_tokens(self) -> int | None:
        return max_tokens_of(self.body)


def max_tokens_of(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    return int(value) if isinstance(value, int | float) and value > 0 else None


def plan_jobs(tasks: list[Task], variants: list[str] | None = None) -> list[Job]:
    jobs = []
    for task in tasks:
        chosen = [task.variant(v) for v in variants] if variants else task.variants
        for item in task.items:
            for epoch in range(task.epochs):
                for v in chosen:
                    body = {
                        "model": v.model,
                        "messages": task.messages(v, item),
                        **task.params_of(v),
                    }
                    jobs.append(Job(task, v, item, epoch, body, request_key(body, epoch)))
    return jobs


@cache
def _counter() -> Callable[[str], int]:
    from unitcost.wire.tokens import load_tokenizer

    return load_tokenizer(TOKENIZER).count


@cache
def _count(text: str) -> int:
    return _counter()(text)


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """Tokens of a chat prompt: each message's text plus OpenAI's 4 per message and 3."""
    return 3 + sum(4 + _count(str(m.get("content") or "")) for m in messages)


def hold_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return math.ceil(prompt_tokens(messages) * 1.5) + 16


@dataclass
class Line:
    task: str
    variant: str
    model: str
    calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    input_nanos: int = 0  # the counted prompts at the input price: a floor
    output_tokens_per_call: float | None = None  # None: nothing recorded for this model yet
    output_source: str = ""
    recorded_answers: int = 0  # this model's answers in the log the output mean came from
    expected_nanos: int | None = 0  # None: no recorded answers to expect from
    worst_nanos: int | None = 0  # None: some call has no max_tokens, so no worst case
    recorded_nanos: int = 0  # what the cached calls cost when they were asked

    @property
    def pending(self) -> int:
        return self.calls - self.cached


def _total(values: list[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(v or 0 for v in values)


@dataclass
class Estimate:
    lines: list[Line]

    @property
    def input_nanos(self) -> int:
        return sum(x.input_nanos for x in self.lines)

    @property
    def expected_nanos(self) -> int | None:
        return _total([x.expected_nanos for x in self.lines if x.pending])

    @property
    def worst_nanos(self) -> int | None:
        return _total([x.worst_nanos for x in self.lines if x.pending])

    @property
    def calls(self) -> int:
        return sum(x.pending for x in self.lines)

    def summary(self) -> str:
        cached = sum(x.cached for x in self.lines)
        expected, worst = self.expected_nanos, self.worst_nanos
        parts = [
            f"pre-flight: {self.calls:,} calls to make, {cached:,} recorded (free)",
            f"prompts ${nanos_to_usd(self.input_nanos):,.4f} (tokens counted)",
            "expected output unknown until some answers are recorded (try --limit)"
            if expected is None
            else f"expected ${nanos_to_usd(expected):,.4f} (output as recorded)",
            "no worst case (a variant sets no max_tokens)"
            if worst is None
            else f"worst case ${nanos_to_usd(worst):,.4f}",
        ]
        return "; ".join(parts)


def _recorded_output(log: EvalLog) -> dict[str, tuple[float, int]]:
    sums: dict[str, list[int]] = {}
    for s in log.samples.values():
        if s.status == "ok" and s.kind == "candidate":
            sums.setdefault(s.model, []).append(s.completion_tokens)
    return {m: (sum(v) / len(v), len(v)) for m, v in sums.items()}


def estimate(jobs: list[Job], rates: dict[str, Rate], log: EvalLog) -> Estimate:
    recorded = _recorded_output(log)
    lines: dict[tuple[str, str], Line] = {}
    for job in jobs:
        model = job.variant.model
        if model not in rates:
            raise InputError(
                f"{job.task.source}.variants.{job.variant.name}.model: {model!r} is not served "
                f"by the gateway; it serves: {', '.join(sorted(rates))}"
            )
        rate = rates[model]
        line = lines.setdefault(
            (job.task.name, job.variant.name), Line(job.task.name, job.variant.name, model)
        )
        line.calls += 1
        done = log.get(job.key)
        if done is not None:
            line.cached += 1
            line.recorded_nanos += done.cost_nanos
            continue
        tokens = prompt_tokens(job.body["messages"])
        line.prompt_tokens += tokens
        line.input_nanos += rate.expected_nanos(tokens, 0)
        cap = job.max_tokens
        if model in recorded and line.expected_nanos is not None:
            mean, n = recorded[model]
            out = min(mean, cap) if cap else mean
            line.output_tokens_per_call, line.output_source = out, f"{n} recorded"
            line.recorded_answers = n
            line.expected_nanos += rate.expected_nanos(tokens, out)
        else:
            line.expected_nanos, line.output_source = None, "none yet"
        if cap is None or line.worst_nanos is None:
            line.worst_nanos = None
        else:
            line.worst_nanos += rate.worst_nanos(hold_prompt_tokens(job.body["messages"]), cap)
    return Estimate(list(lines.values()))
