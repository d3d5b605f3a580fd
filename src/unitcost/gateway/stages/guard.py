"""Screen input before cache and upstream, and answers on their way back (unitcost.guard).

    screened = await screen_input(guard, x)   # GuardBlocked (400) when the policy refuses
    body = screen_answer(guard, x, body)      # placeholders restored; canary → 502
    watch = stream_watch(guard, x)            # the same, event by event, for streams

The input screen runs after authentication, before routing, caching and any upstream call,
so the body every later stage sees (and the cache keys it) is the normalised, redacted or
masked one. Policies with the injection classifier hop to a thread: it costs milliseconds.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from unitcost.gateway.exchange import Exchange
from unitcost.guard import Guard, Screened, StreamWatch
from unitcost.guard.canary import plant_canary
from unitcost.ledger.record import UsageRecord

__all__ = [
    "attribution_safe",
    "cacheable",
    "mark_row",
    "screen_answer",
    "screen_input",
    "stream_watch",
    "with_canary",
]


async def screen_input(guard: Guard | None, x: Exchange) -> None:
    if guard is None:
        return
    principal = x.principal
    key_id = principal.key_id if principal is not None else None
    policy = guard.config.policy(tenant=x.tenant, key_id=key_id, deployment=x.requested)
    body = x.body

    def screen() -> Screened:
        return guard.screen_request(
            body,
            tenant=x.tenant,
            key_id=key_id,
            deployment=x.requested,
            endpoint=x.endpoint,
            plant=False,  # the canary goes on the upstream's copy only: see `with_canary`
        )

    screened = await asyncio.to_thread(screen) if policy.injection.policy != "off" else screen()
    x.screened = screened
    x.body = screened.body
    x.headers.append(screened.header())
    x.tags = {k: attribution_safe(guard, v) for k, v in x.tags.items()}
    if screened.blocked:
        raise screened.error()


def attribution_safe(guard: Guard, value: str) -> str:
    """An attribution tag (end user, feature, cohort) as the ledger may keep it: a value that
    carries personal data (an e-mail as the end user) becomes a stable pseudonym, so spend is
    still attributed per user without the raw value reaching any sink."""
    if guard.redact(value) == value:
        return value
    return "pii-" + hashlib.sha256(value.encode()).hexdigest()[:12]


def mark_row(x: Exchange, row: UsageRecord) -> None:
    """The guard's decision on the row: action, reasons (labels only) and time."""
    if x.screened is not None:
        for name, value in x.screened.record_fields().items():
            setattr(row, name, value)


def with_canary(x: Exchange, body: dict[str, Any]) -> dict[str, Any]:
    """The upstream's copy of the body with the canary in its system prompt. Only a request
    with a system prompt has one to protect; routing, caching and rules saw the client's
    request without it."""
    mark = x.screened.canary if x.screened is not None else None
    if mark is None or not any(
        isinstance(m, dict) and m.get("role") in ("system", "developer")
        for m in body.get("messages") or []
    ):
        return body
    return plant_canary(body, mark)


def screen_answer(guard: Guard | None, x: Exchange, body: bytes) -> bytes:
    if guard is None or x.screened is None:
        return body
    return guard.screen_answer(body, x.screened)


def stream_watch(guard: Guard | None, x: Exchange) -> StreamWatch | None:
    if guard is None or x.screened is None:
        return None
    return guard.stream_watch(x.screened)


def cacheable(x: Exchange) -> bool:
    """Raw personal data that went upstream may come back in the answer: such answers are
    not cached (masked requests are)."""
    return x.screened is None or bool(x.screened.cacheable)
