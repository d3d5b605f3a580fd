"""The eval log: every answer a run received, so a re-run or a re-score calls nothing.

    log = EvalLog("eval-out")                 # eval-out/samples.jsonl, appended to
    key = request_key(body)                   # what the answer depends on
    log.get(key)                              # the recorded Sample, or None
    log.add(sample)                           # written and flushed at once: a crash loses none

A sample is keyed by the SHA-256 of the exact request (model or route, messages, generation
parameters) and the epoch, so changing a template or a parameter asks again, while changing
the metric re-scores what was recorded. Only answered samples are reused; errors are asked
again. Each line carries what the ledger said the call cost, in integer nano-dollars.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from unitcost.errors import InputError

__all__ = ["EvalLog", "Sample", "request_key"]

LOG_NAME = "samples.jsonl"


def request_key(body: dict[str, Any], epoch: int = 0) -> str:
    canonical = orjson.dumps({"body": body, "epoch": epoch}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


@dataclass
class Sample:
    key: str
    task: str
    variant: str
    item: str
    epoch: int
    model: str
    kind: str = "candidate"  # or "judge" (its spend is kept apart from the candidates')
    of: str | None = None  # a judge sample: the candidate sample it graded
    status: str = "ok"  # ok, error, skipped (the budget could not hold it)
    answer: str = ""
    error: str | None = None
    request_id: str = ""
    deployments: list[str] = field(default_factory=list)  # what served it (a route's member)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cost_nanos: int = 0
    cost_source: str = ""  # "ledger" (rows read back) or "estimate: ..." when it had none
    hold_nanos: int = 0
    latency_ms: float = 0.0
    ts: float = 0.0
    fresh: bool = field(default=False, compare=False)  # sent in this invocation (not logged)

    def to_json(self) -> bytes:
        data = asdict(self)
        data.pop("fresh")
        return orjson.dumps(data)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Sample:
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__ and k != "fresh"}
        return cls(**known)


class EvalLog:
    """Samples by key, from `folder/samples.jsonl`; later lines win (a re-asked error)."""

    def __init__(self, folder: str | Path, read_only: bool = False) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOG_NAME
        self.read_only = read_only
        self._lock = threading.Lock()
        self.samples: dict[str, Sample] = {}
        if self.path.exists():
            self._load()
        elif read_only:
            raise InputError(f"--out: {str(self.folder)!r} holds no eval log ({LOG_NAME})")

    def _load(self) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                sample = Sample.from_json(orjson.loads(line))
            except (orjson.JSONDecodeError, TypeError) as exc:
                # a line cut short by a crash is the only kind a run writes; skip it
                if n == len(lines):
                    continue
                raise InputError(f"{self.path}:{n}: not an eval sample ({exc})") from None
            self.samples[sample.key] = sample

    def get(self, key: str) -> Sample | None:
        s = self.samples.get(key)
        return s if s is not None and s.status == "ok" else None

    def add(self, sample: Sample) -> None:
        with self._lock:
            self.samples[sample.key] = sample
            if self.read_only:
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as f:
                f.write(sample.to_json() + b"\n")
