"""Scoring 10,000 recorded answers with an exact-match metric and 1,000 bootstrap resamples.

What is timed is what `unitcost eval score` does with a recorded log, end to end: read the
eval log (JSONL), score every answer, then per variant the Wilson interval of quality and
1,000-resample bootstraps of cost per task and cost per correct answer, the paired
comparison of the two variants (Newcombe, McNemar, paired bootstrap of cost), the frontier
and a gate. The log is written beforehand (not timed): 2 variants × 5,000 items.

Baseline in the same run: the same statistics written as a plain Python loop (one
`random.choices` resample after another, sums in Python), as an eval script without NumPy
would do it; timed on `--loop-resamples` resamples and scaled to 1,000.

    flock /tmp/unitcost-bench.lock python bench/eval_scoring.py [--answers 10000]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import orjson

from unitcost.evals.frontier import frontier
from unitcost.evals.gates import check_gates, parse_gate
from unitcost.evals.log import EvalLog, Sample
from unitcost.evals.metrics import parse_metric
from unitcost.evals.plan import plan_jobs
from unitcost.evals.results import summarise
from unitcost.evals.runner import RunOptions, run_eval
from unitcost.evals.tasks import Task, parse_task

WORDS = ["Paris", "Tokyo", "Rome", "Berlin", "Madrid", "Oslo", "Lima", "Cairo", "Dublin"]


def write_log(folder: Path, items: int, seed: int = 0) -> Task:
    rng = random.Random(seed)
    data = folder / "items.jsonl"
    rows = [{"id": f"q{i}", "target": rng.choice(WORDS)} for i in range(items)]
    data.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    task = parse_task(
        {
            "name": "bench",
            "dataset": {"path": str(data)},
            "templates": {"default": "question {id}"},
            "metric": {"kind": "exact"},
            "variants": [{"name": "strong", "model": "m1"}, {"name": "weak", "model": "m2"}],
        },
        "bench",
    )
    log = EvalLog(folder / "out")
    accuracy = {"strong": 0.85, "weak": 0.7}
    for job in plan_jobs([task]):
        target = job.item["target"]
        right = rng.random() < accuracy[job.variant.name]
        answer = f"{target}." if right else rng.choice([w for w in WORDS if w != target])
        cost = rng.randint(50_000, 3_000_000) * (10 if job.variant.name == "strong" else 1)
        log.add(
            Sample(
                job.key,
                task.name,
                job.variant.name,
                job.item["id"],
                0,
                job.variant.model,
                answer=answer,
                cost_nanos=cost,
                latency_ms=800.0,
                completion_tokens=100,
                prompt_tokens=50,
            )
        )
    return task


def ours(task: Task, out: Path, resamples: int) -> tuple[float, float]:
    started = time.perf_counter()
    run = run_eval([task], RunOptions(out=out, offline=True))
    results = summarise(run, resamples=resamples)
    frontier(results[0])
    check_gates([parse_gate("quality(weak) - quality(strong) >= -0.05")], results)
    return time.perf_counter() - started, results[0].variants["strong"].cost_per_task.high


def loop_baseline(task: Task, out: Path, resamples: int) -> float:
    """The same work in plain Python: parse, score, resample item by item."""
    started = time.perf_counter()
    metric = parse_metric({"kind": "exact"})
    items = {i["id"]: i for i in task.items}
    per_variant: dict[str, list[tuple[float, float]]] = {}
    for line in (out / "samples.jsonl").read_bytes().splitlines():
        s = orjson.loads(line)
        score = metric.score(s["answer"], items[s["item"]]["target"], items[s["item"]]).value
        per_variant.setdefault(s["variant"], []).append((score, s["cost_nanos"] / 1e9))
    rng = random.Random(0)
    pairs = list(zip(per_variant["strong"], per_variant["weak"], strict=True))
    n = len(pairs)
    for _ in range(resamples):
        pick = rng.choices(pairs, k=n)
        for k in (0, 1):  # both variants: cost per task, cost per correct
            cost = sum(p[k][1] for p in pick)
            correct = sum(p[k][0] for p in pick)
            _ = (cost / n, cost / correct if correct else float("nan"))
        _ = sum(a[0] - b[0] for a, b in pick) / n  # the paired quality difference
        _ = sum(a[1] - b[1] for a, b in pick) / n  # and the paired cost difference
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--answers", type=int, default=10_000)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--loop-resamples", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="unitcost-eval-bench-") as tmp:
        folder = Path(tmp)
        task = write_log(folder, args.answers // 2)
        times = [ours(task, folder / "out", args.resamples)[0] for _ in range(args.repeats)]
        loop = loop_baseline(task, folder / "out", args.loop_resamples)
    best = min(times)
    scaled = loop * args.resamples / args.loop_resamples
    print(
        f"{args.answers:,} recorded answers (2 variants × {args.answers // 2:,} items), "
        f"exact match, {args.resamples:,} bootstrap resamples"
    )
    print(
        f"unitcost eval scoring: best {best:.2f} s of {args.repeats} "
        f"(all: {', '.join(f'{t:.2f}' for t in times)}); goal < 10 s"
    )
    print(
        f"plain Python loop: {loop:.2f} s for {args.loop_resamples} resamples → "
        f"{scaled:.1f} s scaled to {args.resamples:,}"
    )
    print(f"ratio: {scaled / best:.1f}× faster than the loop")


if __name__ == "__main__":
    main()
