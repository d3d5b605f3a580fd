"""`unitcost bench`: measure an OpenAI-compatible endpoint under load, then price it.

    report = asyncio.run(run_bench(BenchConfig(url="http://127.0.0.1:8080/v1", model="m",
                                               levels=parse_levels("1,2,4", None), requests=40)))
    report.chosen            # the cheapest level that meets the SLO

Every level's results are written as soon as it ends, so a failure later keeps what was
measured.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from unitcost.bench.client import BenchClient, RequestResult
from unitcost.bench.costing import Pricing
from unitcost.bench.energy import PowerSampler
from unitcost.bench.metrics import SLO, LevelStats, summarize
from unitcost.bench.prompts import Prompt
from unitcost.bench.report import write_outputs
from unitcost.bench.runner import Level, run_level
from unitcost.errors import UpstreamError
from unitcost.wire.tokens import Tokenizer

__all__ = ["BenchConfig", "BenchReport", "run_bench"]


@dataclass
class BenchConfig:
    url: str
    model: str
    levels: list[Level]
    prompts: list[Prompt]
    requests: int | None = None
    duration_s: float | None = None
    warmup: int = 0
    api_key: str | None = None
    tokenizer: Tokenizer | None = None
    ignore_eos: bool = False
    slo: SLO = field(default_factory=dict)
    pricing: Pricing | None = None
    out_dir: Path | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 60.0  # for a request's first token, and for each token after it


@dataclass
class BenchReport:
    levels: list[LevelStats]
    chosen: str | None
    outputs: list[Path]
    meta: dict[str, Any]


def check_reachable(url: str, api_key: str | None) -> None:
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        httpx.get(url.rstrip("/") + "/models", headers=headers, timeout=10.0)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise UpstreamError(
            f"cannot reach {url} ({exc.__class__.__name__}); is the server up?"
        ) from None
    except httpx.HTTPError as exc:  # it answered, but not as HTTP should: a broken server
        raise UpstreamError(
            f"{url} answered GET /models with a broken response ({exc.__class__.__name__}: "
            f"{exc}); is it an OpenAI-compatible server?"
        ) from None


def _price(pricing: Pricing, levels: list[LevelStats]) -> None:
    """(Re)price every level with the prefill share of the least-loaded one."""
    base = min(levels, key=lambda s: (s.concurrency or 0, s.rate or 0.0))
    share = pricing.prefill_share(base)
    for s in levels:
        s.costs = pricing.level_costs(s, share)
        s.costs["prefill_share_from"] = base.label
        s.costs["roofline"] = pricing.roofline_efficiency(s)


def cheapest(levels: list[LevelStats], slo: SLO) -> str | None:
    meeting = [s for s in levels if s.meets(slo) and s.costs.get("usd_per_1k_output") is not None]
    if not meeting:
        return None
    return min(meeting, key=lambda s: s.costs["usd_per_1k_output"]).label


async def run_bench(
    cfg: BenchConfig, on_result: Callable[[Level, RequestResult], None] | None = None
) -> BenchReport:
    check_reachable(cfg.url, cfg.api_key)
    client = BenchClient(
        cfg.url,
        cfg.model,
        api_key=cfg.api_key,
        tokenizer=cfg.tokenizer,
        ignore_eos=cfg.ignore_eos,
        extra_headers=cfg.extra_headers,
        timeout_s=cfg.timeout_s,
    )
    prompts = itertools.cycle(cfg.prompts)
    meta: dict[str, Any] = {
        "url": cfg.url,
        "model": cfg.model,
        "warmup": cfg.warmup,
        "requests_per_level": cfg.requests,
        "duration_s": cfg.duration_s,
        "priced_by": cfg.pricing.source if cfg.pricing else None,
        "tokenizer": cfg.tokenizer.name if cfg.tokenizer else None,
    }
    levels: list[LevelStats] = []
    outputs: list[Path] = []
    try:
        for level in cfg.levels:
            report_one = functools.partial(on_result, level) if on_result else None
            with PowerSampler() as power:
                results = await run_level(
                    client,
                    prompts,
                    level,
                    requests=cfg.requests,
                    duration_s=cfg.duration_s,
                    warmup=cfg.warmup,
                    on_result=report_one,
                )
            stats = summarize(
                level.label, results, cfg.slo, concurrency=level.concurrency, rate=level.rate
            )
            levels.append(stats)
            if cfg.pricing is not None:
                stats.energy = cfg.pricing.energy(stats, power.joules, power.reason)
                _price(cfg.pricing, levels)
            elif power.available:
                stats.energy = {"measured": True, "joules": power.joules}
            if cfg.out_dir is not None:
                outputs = write_outputs(
                    cfg.out_dir, meta, levels, cfg.slo, cheapest(levels, cfg.slo)
                )
    finally:
        await client.close()
    return BenchReport(levels, cheapest(levels, cfg.slo), outputs, meta)
