"""Look up and store answers per tenant and deployment (exact and semantic caches)."""

from __future__ import annotations

import time

from unitcost.gateway.cache import CachedAnswer, Probe, ResponseCache, is_cacheable
from unitcost.gateway.exchange import Exchange
from unitcost.gateway.portfolio import Deployment
from unitcost.ledger.record import RowStatus, UsageRecord
from unitcost.routing.policies import Route

__all__ = ["lookup", "remember", "served_from_cache"]


async def lookup(
    cache: ResponseCache, x: Exchange, dep: Deployment, route: Route | None
) -> Probe | None:
    """A probe for this request (None when it may not be cached); `probe.hit` if found."""
    if not cache.enabled or x.endpoint == "embeddings":
        return None
    if not is_cacheable(x.body, route is not None and route.config.cache_sampling):
        return None
    return await cache.probe(x.tenant, dep.name, x.body)


def served_from_cache(row: UsageRecord, probe: Probe, x: Exchange) -> bytes:
    hit = probe.hit
    assert hit is not None
    row.status = RowStatus.CACHE_HIT
    row.route_reason = "; ".join(p for p in (row.route_reason, f"cache hit ({probe.how})") if p)
    row.prompt_tokens, row.completion_tokens = hit.prompt_tokens, hit.completion_tokens
    row.saving_nanos = hit.cost_nanos
    x.headers.append((b"x-unitcost-cache", probe.how.encode()))
    return hit.body


async def remember(
    cache: ResponseCache, probe: Probe | None, data: bytes, row: UsageRecord
) -> None:
    if probe is None:
        return
    answer = CachedAnswer(
        data, row.cost_nanos, row.prompt_tokens, row.completion_tokens, time.time()
    )
    await cache.store_answer(probe, answer)
