"""Per-level statistics, and latency SLOs.

    slo = parse_slo("ttft_p95=500ms,itl_p95=50ms")
    stats = summarize("c=8", results, slo)
    stats.ttft.p95, stats.output_tokens_per_s, stats.goodput_rps, stats.meets(slo)

Throughput is measured over the window from the first request's start to the last one's end.
Goodput counts only requests that met every per-request SLO bound.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from unitcost.bench.client import RequestResult
from unitcost.errors import InputError

__all__ = ["SLO", "Distribution", "LevelStats", "parse_slo", "summarize"]

METRICS = ("ttft", "itl", "tpot", "e2e")
PERCENTILES = ("p50", "p90", "p95", "p99", "mean")
_UNITS = {"ms": 1e-3, "s": 1.0, "us": 1e-6, "µs": 1e-6}

SLO = dict[str, float]  # "ttft_p95" → seconds


def parse_slo(text: str | None) -> SLO:
    if not text:
        return {}
    slo: SLO = {}
    for item in text.split(","):
        match = re.fullmatch(
            r"\s*(ttft|itl|tpot|e2e)_(p50|p90|p95|p99|mean)\s*=\s*"
            r"(-?[0-9]+(?:\.[0-9]*)?|-?\.[0-9]+)\s*(ms|s|us|µs)\s*",
            item,
        )
        if match is None:
            raise InputError(
                f"--slo: {item.strip()!r} is not METRIC_PCT=VALUE; accepted metrics "
                "ttft, itl, tpot, e2e; percentiles p50, p90, p95, p99, mean; units ms, s, us "
                "(e.g. ttft_p95=500ms,itl_p95=50ms)"
            )
        metric, pct, value, unit = match.groups()
        seconds = float(value) * _UNITS[unit]
        if not seconds > 0:  # no latency is zero or less: such a target can never be met
            raise InputError(
                f"--slo: {item.strip()!r} sets a target that is not positive; accepted: a "
                "latency above zero, e.g. ttft_p95=500ms"
            )
        slo[f"{metric}_{pct}"] = seconds
    return slo


@dataclass(frozen=True)
class Distribution:
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    mean: float | None = None

    @classmethod
    def of(cls, values: list[float]) -> Distribution:
        if not values:
            return cls()
        arr = np.asarray(values)
        p50, p90, p95, p99 = (float(x) for x in np.percentile(arr, [50, 90, 95, 99]))
        return cls(p50, p90, p95, p99, float(arr.mean()))


@dataclass
class LevelStats:
    label: str
    concurrency: int | None
    rate: float | None
    requests: int
    errors: int
    duration_s: float
    input_tokens: int
    output_tokens: int
    tokens_estimated: bool
    ttft: Distribution
    itl: Distribution
    tpot: Distribution
    e2e: Distribution
    goodput_rps: float
    energy: dict[str, Any] | None = None
    costs: dict[str, Any] = field(default_factory=dict)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def rps(self) -> float:
        return (self.requests - self.errors) / self.duration_s if self.duration_s else 0.0

    @property
    def input_tokens_per_s(self) -> float:
        return self.input_tokens / self.duration_s if self.duration_s else 0.0

    @property
    def output_tokens_per_s(self) -> float:
        return self.output_tokens / self.duration_s if self.duration_s else 0.0

    @property
    def total_tokens_per_s(self) -> float:
        return self.input_tokens_per_s + self.output_tokens_per_s

    def value(self, key: str) -> float | None:
        metric, pct = key.split("_")
        return getattr(getattr(self, metric), pct)  # type: ignore[no-any-return]

    def meets(self, slo: SLO) -> bool:
        return self.errors == 0 and all(
            (v := self.value(k)) is not None and v <= bound for k, bound in slo.items()
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            error_rate=self.error_rate,
            rps=self.rps,
            input_tokens_per_s=self.input_tokens_per_s,
            output_tokens_per_s=self.output_tokens_per_s,
            total_tokens_per_s=self.total_tokens_per_s,
        )
        return out


def _within(r: RequestResult, slo: SLO) -> bool:
    for key, bound in slo.items():
        metric = key.split("_")[0]
        value = {"ttft": r.ttft_s, "itl": r.itl_s, "tpot": r.tpot_s, "e2e": r.e2e_s}[metric]
        if value is None or value > bound:
            return False
    return True


def summarize(
    label: str,
    results: list[RequestResult],
    slo: SLO,
    *,
    concurrency: int | None = None,
    rate: float | None = None,
) -> LevelStats:
    ok = [r for r in results if r.ok]
    if concurrency:
        # A closed loop keeps `concurrency` streams busy, and the measured window also holds
        # work of requests outside it (those still running when it opens or closes), so its
        # wall time over-states the time the measured requests took by about
        # (n + c - 1) / n. The streams' summed busy time ÷ c does not (Little's law).
        duration = sum(r.ended - r.started for r in results) / concurrency
    else:
        start = min((r.started for r in results), default=0.0)
        end = max((r.ended for r in results), default=0.0)
        duration = end - start

    def dist(values: list[float | None]) -> Distribution:
        return Distribution.of([v for v in values if v is not None])

    return LevelStats(
        label=label,
        concurrency=concurrency,
        rate=rate,
        requests=len(results),
        errors=len(results) - len(ok),
        duration_s=duration,
        input_tokens=sum(r.prompt_tokens for r in ok),
        output_tokens=sum(r.output_tokens for r in ok),
        tokens_estimated=any(r.tokens_estimated for r in ok),
        ttft=dist([r.ttft_s for r in ok]),
        itl=dist([r.itl_s for r in ok]),
        tpot=dist([r.tpot_s for r in ok]),
        e2e=dist([r.e2e_s for r in ok]),
        goodput_rps=sum(_within(r, slo) for r in ok) / duration if duration else 0.0,
    )
