"""Eval outcomes in the shape `unitcost route-eval` reads, so routers train on real results.

    write_outcomes(run, results, "outcomes.csv")
    # unitcost route-eval --data outcomes.csv --weak gpt-5-mini --strong gemini-3.1-pro-preview

One row per item that every variant answered: `prompt` (the last user message the first
variant sent: what a router sees), `group` (the item's `dataset` field, else the task), one
score column per variant, and `cost:VARIANT` in dollars per item as the ledger priced it.
`.jsonl` writes the same fields as JSON lines. Only variants present in every task are
written, so the columns mean the same thing on every row.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson

from unitcost.errors import InputError
from unitcost.evals.results import TaskResult
from unitcost.evals.runner import EvalRun

__all__ = ["outcome_rows", "write_outcomes"]


def outcome_rows(run: EvalRun, results: list[TaskResult]) -> list[dict[str, Any]]:
    names = (
        [n for n in results[0].variants if all(n in r.variants for r in results)] if results else []
    )
    if not names:
        raise InputError("--outcomes: no variant is in every task; nothing to write")
    rows = []
    for task_result in results:
        task = next(t for t in run.tasks if t.name == task_result.task)
        items = {i["id"]: i for i in task.items}
        first = task.variant(names[0])
        index = {
            n: {item: k for k, item in enumerate(task_result.variants[n].items)} for n in names
        }
        for item_id in task_result.variants[names[0]].items:
            if not all(item_id in index[n] for n in names):
                continue
            item = items[item_id]
            users = [m for m in task.messages(first, item) if m.get("role") == "user"]
            row: dict[str, Any] = {
                "prompt": users[-1]["content"] if users else "",
                "group": str(item.get("dataset", task.name)),
            }
            for n in names:
                row[n] = float(task_result.variants[n].scores[index[n][item_id]])
            for n in names:
                row[f"cost:{n}"] = float(task_result.variants[n].costs_usd[index[n][item_id]])
            rows.append(row)
    return rows


def write_outcomes(run: EvalRun, results: list[TaskResult], path: str | Path) -> int:
    p = Path(path)
    rows = outcome_rows(run, results)
    if p.suffix == ".jsonl":
        p.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    elif p.suffix == ".csv":
        with p.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        raise InputError(f"--outcomes: {p.name!r}; accepted: a .csv or .jsonl file")
    return len(rows)
