"""Recorded runs for tests: a task whose log already holds chosen answers and costs.

Scoring, gates, the frontier and the reports read only the eval log, so they are tested on
logs written here (the same `EvalLog.add` a live run uses), with no gateway involved.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from unitcost.evals.log import EvalLog, Sample
from unitcost.evals.plan import plan_jobs
from unitcost.evals.runner import EvalRun, RunOptions, run_eval
from unitcost.evals.tasks import Task, parse_task


def recorded_run(
    folder: Path,
    outcomes: dict[str, tuple[list[int], list[int]]],
    models: dict[str, str] | None = None,
    name: str = "t",
    teachers: dict[str, str] | None = None,
    failing: frozenset[str] = frozenset(),
) -> tuple[Task, EvalRun]:
    """A task of len(scores) items; variant v answered item i right when scores[i] == 1,
    at costs[i] nano-dollars; every call of a `failing` variant is an error. The run is read
    back offline, as `unitcost eval score` does."""
    n = len(next(iter(outcomes.values()))[0])
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "items.jsonl"
    data.write_bytes(
        b"".join(orjson.dumps({"id": f"q{i}", "target": "yes"}) + b"\n" for i in range(n))
    )
    raw = {
        "name": name,
        "dataset": {"path": str(data)},
        "templates": {"default": "question {id}"},
        "metric": {"kind": "exact"},
        "params": {"max_tokens": 16},
        "variants": [
            {"name": v, "model": (models or {}).get(v, v), "teacher": (teachers or {}).get(v)}
            for v in outcomes
        ],
    }
    task = parse_task(raw, "test")
    log = EvalLog(folder / "out")
    for job in plan_jobs([task]):
        scores, costs = outcomes[job.variant.name]
        i = int(job.item["id"][1:])
        outcome: dict[str, object] = (
            {"status": "error", "error": "upstream answered 500"}
            if job.variant.name in failing
            else {
                "answer": "yes" if scores[i] else "no",
                "cost_nanos": costs[i],
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "latency_ms": 100.0 + i,
                "cost_source": "test",
            }
        )
        log.add(
            Sample(
                job.key,
                task.name,
                job.variant.name,
                job.item["id"],
                job.epoch,
                job.variant.model,
                **outcome,  # type: ignore[arg-type]
            )
        )
    return task, run_eval([task], RunOptions(out=folder / "out", offline=True))
