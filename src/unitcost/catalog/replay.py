"""The recorded answers of real models: prompts, answers and the tokens their providers billed.

    data = load_replay_set()            # the shipped set (unitcost/data/replay.json.gz)
    data.models["gpt-5-mini"]           # list prices and one recording per question
    data.by_prompt[" ".join(prompt.split())]   # question id of a recorded prompt

Built by tools/build_replay_data.py from lchen001/pricing-reversal (MIT). Sourced data, read
by the replay backend, the bench's prompt sets, the demo and the tests.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

__all__ = ["ReplaySet", "load_replay_set", "normalise_prompt"]


@dataclass(frozen=True)
class ReplaySet:
    source: str
    prices_as_of: str
    questions: dict[str, dict[str, str]]
    models: dict[str, dict[str, Any]]
    by_prompt: dict[str, str]

    def describe(self) -> str:
        counts: dict[str, int] = {}
        for q in self.questions.values():
            counts[q["dataset"]] = counts.get(q["dataset"], 0) + 1
        sets = " and ".join(f"{n} {name.upper()}" for name, n in sorted(counts.items()))
        return f"the {sets} questions recorded in {self.source}"


def normalise_prompt(text: str) -> str:
    return " ".join(text.split())


@cache
def load_replay_set(path: str | None = None) -> ReplaySet:
    if path is None:
        raw = (resources.files("unitcost") / "data" / "replay.json.gz").read_bytes()
    else:
        raw = Path(path).read_bytes()
    data = orjson.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    by_prompt = {normalise_prompt(q["prompt"]): qid for qid, q in data["questions"].items()}
    return ReplaySet(
        data["source"], data["prices_as_of"], data["questions"], data["models"], by_prompt
    )
