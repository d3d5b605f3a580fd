"""The request path, top to bottom: the only place its stages are put in order.

    authenticate → intake → guard → route → for each candidate, in order:
        admit (reserve a hold) → cache → call → relay or respond → meter → record → settle

Every call is one ledger row, recorded before the client's last byte; every refusal is
counted, and recorded with zero cost for a tenant we know. The stages live in
`gateway/stages/`, one module each; this module holds no logic of its own beyond the order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from unitcost.errors import UnitcostError
from unitcost.gateway.auth import Keyring
from unitcost.gateway.cache import ResponseCache
from unitcost.gateway.exchange import Exchange
from unitcost.gateway.fallback import Attempt, try_in_order
from unitcost.gateway.limits import Limits
from unitcost.gateway.portfolio import Deployment, Portfolio
from unitcost.gateway.settings import GatewaySettings
from unitcost.gateway.stages.admit import prepare_call, reserve, settle
from unitcost.gateway.stages.authenticate import authenticate
from unitcost.gateway.stages.cache import lookup, remember, served_from_cache
from unitcost.gateway.stages.call import Verdict, call
from unitcost.gateway.stages.guard import cacheable, screen_answer, screen_input, stream_watch
from unitcost.gateway.stages.intake import read_request
from unitcost.gateway.stages.meter import meter
from unitcost.gateway.stages.record import Recorder
from unitcost.gateway.stages.relay import relay_stream, respond
from unitcost.gateway.stages.route import plan_for
from unitcost.guard import Guard, GuardOutputBlocked
from unitcost.ledger.record import RowStatus, UsageRecord
from unitcost.routing.config import CascadeCheck
from unitcost.routing.policies import Route, passes_check
from unitcost.wire.openai import unstreamed
from unitcost.wire.usage import StreamMeter

__all__ = ["Services", "handle"]

log = logging.getLogger("unitcost.gateway")


@dataclass
class Services:
    """What the stages use, built once at start-up (gateway/app.py)."""

    settings: GatewaySettings
    keyring: Keyring
    portfolio: Portfolio
    routes: dict[str, Route]
    cache: ResponseCache
    limits: Limits
    recorder: Recorder
    guard: Guard | None = None


async def handle(x: Exchange, s: Services) -> None:
    try:
        x.principal = authenticate(s.keyring, x.authorization)
        await read_request(x, s.settings.max_body_bytes)
        try:
            await screen_input(s.guard, x)
        finally:
            if x.screened is not None:
                screened = x.screened
                s.recorder.metrics.observe_guard(screened.action, screened.reasons, screened.ms)
        plan, route = await plan_for(x, s.routes, s.portfolio)
    except UnitcostError as exc:
        s.recorder.reject(x, exc)
        await x.client.error(exc, x.headers)
        return

    async def one(name: str, check: CascadeCheck | None, reason: str | None) -> Attempt:
        return await attempt(x, s.portfolio.deployments[name], check, route, reason, s)

    try:
        result = await try_in_order(plan, route, one)
    except Exception:  # a bug of ours: the row says so (attempt), the client gets JSON
        log.exception("request %s failed inside the gateway", x.request_id)
        if not x.client.started:
            await x.client.error(
                UnitcostError("the gateway failed on this request; it was recorded"), x.headers
            )
        return
    if not result.sent:
        assert result.error is not None
        await x.client.error(result.error, x.headers)


async def attempt(
    x: Exchange,
    dep: Deployment,
    check: CascadeCheck | None,
    route: Route | None,
    reason: str | None,
    s: Services,
) -> Attempt:
    prepared = prepare_call(x, dep, s.limits.plan, s.settings.limits)
    try:
        hold = await reserve(s.limits, x, prepared)
    except UnitcostError as exc:
        if x.calls == 0:  # refused before any call: a rejection of the request
            s.recorder.reject(x, exc, dep.name)
        return Attempt(False, exc, f"{dep.name} refused ({exc.code})")
    row = s.recorder.open_row(x, dep, reason, hold)
    try:
        return await _serve(x, dep, check, route, prepared.body, row, s)
    except Exception as exc:
        if not row.latency_ms:  # `record` stamps the latency: not recorded yet, so record it
            row.status, row.error, row.http_status = RowStatus.GATEWAY_ERROR, repr(exc)[:300], 500
            s.recorder.record(row, x)
        raise
    finally:
        # After the client has its answer. Settling never suspends (Redis's is queued, not
        # awaited), so a request cancelled by its client's departure still settles.
        await settle(s.limits, hold, row)


async def _serve(
    x: Exchange,
    dep: Deployment,
    check: CascadeCheck | None,
    route: Route | None,
    body: dict[str, Any],
    row: UsageRecord,
    s: Services,
) -> Attempt:
    x.headers = [h for h in x.headers if h[0] != b"x-unitcost-deployment"]
    x.headers.append((b"x-unitcost-deployment", dep.name.encode()))
    probe = await lookup(s.cache, x, dep, route) if cacheable(x) else None
    if probe is not None and probe.hit is not None:
        # the cache holds the upstream's answer (placeholders, if masked): this request's
        # own values go back in, never the first sender's
        data = screen_answer(s.guard, x, served_from_cache(row, probe, x))
        await respond(x, data, b"application/json", row, lambda r: s.recorder.record(r, x))
        return Attempt(True)
    streaming = x.stream and check is None
    out = await call(
        dep, x, row, body if streaming or not x.stream else unstreamed(body), streaming
    )
    if out.verdict is Verdict.RETRY:
        s.recorder.record(row, x)
        return Attempt(False, out.error, out.why)
    if out.verdict is Verdict.RELAY:  # the upstream refused the request: the client's to see
        s.recorder.record(row, x)
        await x.client.respond(row.http_status, out.data, out.content_type, x.headers)
        return Attempt(True)
    if out.reply is not None:

        def meter_stream(m: StreamMeter) -> None:
            meter(row, dep, body, m.usage, "".join(m.parts), m.rejected_usage)

        streamed = await relay_stream(
            x,
            dep,
            out,
            row,
            lambda r: s.recorder.record(r, x),
            meter_stream,
            stream_watch(s.guard, x),
        )
        if not streamed.sent:
            s.recorder.record(row, x)
        return Attempt(streamed.sent, streamed.error, streamed.why)
    completion = out.completion
    assert completion is not None
    meter(row, dep, body, completion.usage, completion.text, completion.rejected_usage)
    if check is not None and (why := passes_check(check, completion.obj)) is not None:
        row.status = RowStatus.ESCALATED
        row.route_reason = f"{row.route_reason}; failed the cascade check: {why}"
        s.recorder.record(row, x)
        return Attempt(False, None, f"{dep.name}'s answer failed the check ({why})", escalated=True)
    try:
        data = screen_answer(s.guard, x, out.data)
    except GuardOutputBlocked as exc:  # the answer repeated the canary: paid, not served
        row.status, row.error, row.http_status = RowStatus.WITHHELD, exc.code, exc.status_code
        s.recorder.record(row, x)
        return Attempt(False, exc, f"{dep.name}'s answer was withheld ({exc.code})")
    await remember(s.cache, probe, out.data, row)  # as the upstream answered: no raw values
    x.headers.append((b"x-unitcost-cost-usd", f"{row.cost_usd:.10f}".encode()))
    await respond(x, data, out.content_type, row, lambda r: s.recorder.record(r, x))
    return Attempt(True)
