"""The portfolio as the ledger saw it: per class and option, calls, latency, share.

    stats = class_stats(open_reader("sqlite:///unitcost-ledger.db"))
    stats[("support-chat", "llama-8b")].latency_p95_ms
    classes = demo_classes(local=True)       # the demo's portfolio, as workload classes

`unitcost portfolio` joins these with each option's price card. Latency is what the
gateway measured end to end for answered calls (`ok` rows); share is of the class's
answered calls. The demo portfolio puts the four recorded API models and, when it runs,
the local SmolLM2 into three classes, and keeps the warnings they earn: no open-weight
model in the demo can do GPQA-level reasoning, so `hard-reasoning` has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unitcost.ledger.queries import Reader

__all__ = ["OptionStats", "class_stats", "demo_classes"]


@dataclass(frozen=True, slots=True)
class OptionStats:
    calls: int  # answered calls of this option within its class
    failed: int  # calls that did not answer (errors, timeouts)
    share: float  # of the class's answered calls, 0..1
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    ttft_p95_ms: float | None


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def class_stats(reader: Reader) -> dict[tuple[str, str], OptionStats]:
    """(class, deployment) → what the ledger says about that option's calls."""
    rows = reader.run(
        "SELECT workload_class, deployment, status, latency_ms, ttft_ms FROM usage "
        "WHERE workload_class IS NOT NULL AND deployment <> ''"
    )
    latency: dict[tuple[str, str], list[float]] = {}
    ttft: dict[tuple[str, str], list[float]] = {}
    failed: dict[tuple[str, str], int] = {}
    for cls, dep, status, lat, first in rows:
        key = (str(cls), str(dep))
        if status == "ok":
            latency.setdefault(key, []).append(float(lat))
            if first is not None:
                ttft.setdefault(key, []).append(float(first))
        elif status not in ("cache_hit", "rejected"):
            failed[key] = failed.get(key, 0) + 1
    totals: dict[str, int] = {}
    for (cls, _), values in latency.items():
        totals[cls] = totals.get(cls, 0) + len(values)
    out = {}
    for key in {*latency, *failed}:
        answered = latency.get(key, [])
        out[key] = OptionStats(
            calls=len(answered),
            failed=failed.get(key, 0),
            share=len(answered) / totals[key[0]] if totals.get(key[0]) else 0.0,
            latency_p50_ms=_pct(answered, 0.5),
            latency_p95_ms=_pct(answered, 0.95),
            ttft_p95_ms=_pct(ttft.get(key, []), 0.95),
        )
    return out


def demo_classes(local: bool) -> list[dict[str, Any]]:
    """The demo's portfolio (`unitcost demo`) as workload classes."""
    own = ["smollm2-local"] if local else []
    return [
        {
            "name": "everyday",
            "description": "short questions, answered while someone waits",
            "latency_slo": {"latency_p95_ms": 20_000},
            "throughput": "interactive",
            "options": ["gpt-5-mini", "claude-haiku-4.5", *own],
        },
        {
            "name": "hard-reasoning",
            "description": "GPQA- and AIME-level questions; accuracy first",
            "throughput": "batch",
            "options": ["gemini-3.1-pro-preview", "gpt-5.2-high"],
        },
        *(
            [
                {
                    "name": "private",
                    "description": "prompts with personal data stay on our machines",
                    "sensitivity": {"pii": "self_hosted_only"},
                    "options": ["smollm2-local", "gpt-5-mini"],
                }
            ]
            if local
            else []
        ),
    ]
