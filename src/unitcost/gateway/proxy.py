"""The model endpoints: one request, one or more upstream calls, one ledger row per call.

    authenticate → read and check the body → admit (rate, budget) → plan (a deployment, or a
    route's candidates)
    → cache → call upstream → meter (usage, else the tokenizer) → price → respond → ledger

Non-streaming bodies go back to the client byte for byte. Streams pass through event by
event while the meter watches; a client that goes away cancels the upstream call, and
what was streamed until then is still recorded. A route falls back to its next deployment
on an error, a timeout or a rate limit, but never once the first byte has reached the
client, and only within its retry budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from typing import Any

import orjson

from unitcost.economics.pricing import TokenUsage
from unitcost.errors import (
    InputError,
    LimitExceeded,
    UnitcostError,
    UpstreamError,
    UpstreamTimeout,
)
from unitcost.gateway.asgi import Receive, Send, read_body, send_error, send_response
from unitcost.gateway.auth import Keyring, Principal
from unitcost.gateway.cache import CachedAnswer, Probe, ResponseCache, is_cacheable
from unitcost.gateway.limits import Limits
from unitcost.gateway.metrics import GatewayMetrics
from unitcost.gateway.portfolio import Deployment, Portfolio
from unitcost.gateway.settings import GatewaySettings
from unitcost.gateway.upstreams.base import Call, Reply
from unitcost.ledger.record import UsageRecord
from unitcost.ledger.writer import LedgerWriter
from unitcost.routing.config import CascadeCheck
from unitcost.routing.policies import Plan, Route, passes_check
from unitcost.wire.sse import completion_to_sse
from unitcost.wire.usage import StreamMeter, estimate_usage, usage_from_body

__all__ = ["ENDPOINTS", "Proxy"]

ENDPOINTS = {
    "/v1/chat/completions": "chat/completions",
    "/v1/completions": "completions",
    "/v1/embeddings": "embeddings",
}
_REQUIRED = {"chat/completions": "messages", "completions": "prompt", "embeddings": "input"}
_JSON = b"application/json"


@dataclass(slots=True)
class Incoming:
    """What the gateway learned about a request before calling upstream."""

    principal: Principal
    request_id: str
    endpoint: str
    body: dict[str, Any]
    requested: str
    stream: bool
    feature: str | None
    cohort: str | None
    end_user: str | None
    started: float
    ts: float


class Proxy:
    def __init__(
        self,
        settings: GatewaySettings,
        portfolio: Portfolio,
        keyring: Keyring,
        ledger: LedgerWriter,
        metrics: GatewayMetrics,
        routes: dict[str, Route] | None = None,
        cache: ResponseCache | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.settings = settings
        self.limits = limits or Limits(settings)
        self.routes = routes or {}
        self.cache = cache or ResponseCache(settings.cache)
        self.portfolio = portfolio
        self.keyring = keyring
        self.ledger = ledger
        self.metrics = metrics
        a = settings.attribution
        self.tag_headers = {
            a.feature.encode(): "feature",
            a.cohort.encode(): "cohort",
            a.end_user.encode(): "end_user",
        }

    async def handle(self, scope: Any, receive: Receive, send: Send, endpoint: str) -> None:
        started, ts = time.perf_counter(), time.time()
        tags: dict[str, str] = {}
        authorization = declared = request_id = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-length":
                declared = int(value) if value.isdigit() else None
            elif name == b"x-request-id":
                request_id = value.decode("latin-1")[:128]
            elif name in self.tag_headers:
                tags[self.tag_headers[name]] = value.decode("utf-8", "replace")[:256]
        request_id = request_id or os.urandom(16).hex()
        headers = [(b"x-request-id", request_id.encode())]
        try:
            principal = self.keyring.authenticate(authorization)
            raw = await read_body(receive, self.settings.max_body_bytes, declared)
            body = _parse(raw, endpoint)
            self.limits.admit(principal.tenant)
            route = self.routes.get(body["model"])
            if route is None:
                plan = Plan([self.portfolio.get(body["model"]).name], "")
            elif route.blocking:
                plan = await asyncio.to_thread(
                    route.plan, body, principal.tenant, tags.get("feature")
                )
            else:
                plan = route.plan(body, principal.tenant, tags.get("feature"))
        except UnitcostError as exc:
            await send_error(send, exc, headers)
            return
        user = body.get("user")
        incoming = Incoming(
            principal,
            request_id,
            endpoint,
            body,
            str(body["model"]),
            body.get("stream") is True,
            tags.get("feature"),
            tags.get("cohort"),
            tags.get("end_user") or (user if isinstance(user, str) else None),
            started,
            ts,
        )
        await self.serve(incoming, plan, route, receive, send, headers)

    async def serve(
        self,
        req: Incoming,
        plan: Plan,
        route: Route | None,
        receive: Receive,
        send: Send,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        """Try the plan's deployments in order until one answers; fall back only while
        nothing has reached the client, and only within the route's retry budget."""
        wants_usage = self._prepare_stream(req)
        candidates = plan.candidates[: route.config.max_attempts] if route else plan.candidates[:1]
        if route is not None:
            route.budget.deposit()
        reason = plan.reason or None
        failure: UnitcostError | None = None
        for i, name in enumerate(candidates):
            last = i == len(candidates) - 1
            # a retry after an error spends the budget; a cascade's escalation is the policy
            if failure is not None and (route is None or not route.budget.withdraw()):
                break
            attempt = await self.attempt(
                req,
                self.portfolio.deployments[name],
                reason,
                None if last else plan.cascade,
                route,
                wants_usage,
                receive,
                send,
                list(headers),
            )
            if attempt.sent:
                return
            failure = attempt.error
            if not last:
                reason = f"{plan.reason}; {attempt.why} → {candidates[i + 1]}"
        await send_error(send, failure or UpstreamError("no deployment could answer"), headers)

    def _prepare_stream(self, req: Incoming) -> bool:
        """Ask a stream for usage in its final chunk; say whether the client asked too."""
        if not req.stream:
            return False
        options = req.body.get("stream_options")
        wants = isinstance(options, dict) and options.get("include_usage") is True
        req.body["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
        return wants

    async def attempt(
        self,
        req: Incoming,
        dep: Deployment,
        reason: str | None,
        check: CascadeCheck | None,
        route: Route | None,
        wants_usage: bool,
        receive: Receive,
        send: Send,
        headers: list[tuple[bytes, bytes]],
    ) -> Attempt:
        record = self._record(req, dep, reason)
        headers.append((b"x-unitcost-deployment", dep.name.encode()))
        probe = None
        if (
            self.cache.enabled
            and req.endpoint != "embeddings"
            and is_cacheable(req.body, route is not None and route.config.cache_sampling)
        ):
            probe = await self.cache.probe(req.principal.tenant, dep.name, req.body)
            if probe.hit is not None:
                await self._answer_from_cache(req, record, probe, wants_usage, send, headers)
                return Attempt(sent=True)
        streaming = req.stream and check is None
        body = req.body if streaming or not req.stream else _unstreamed(req.body)
        try:
            reply = await dep.upstream.send(Call(req.endpoint, body, streaming, record.id))
            if (
                streaming
                and reply.status == 200
                and reply.content_type.startswith(b"text/event-stream")
            ):
                await self._stream(req, dep, reply, record, wants_usage, receive, send, headers)
                return Attempt(sent=True)
            data = await reply.read(dep.upstream.between_tokens_timeout)
        except UpstreamError as exc:
            record.status, record.error = _failure(exc)
            record.http_status = exc.status_code
            self._finish(record, req.started)
            return Attempt(False, exc, f"{dep.name} failed ({exc.message[:80]})")
        record.http_status = reply.status
        if reply.status >= 500 or reply.status == 429:
            record.status, record.error = "upstream_error", _snippet(data)
            self._finish(record, req.started)
            error: UnitcostError = (
                LimitExceeded(f"upstream {dep.name} is rate limiting: {_snippet(data)}")
                if reply.status == 429
                else UpstreamError(f"upstream {dep.name} answered {reply.status}: {_snippet(data)}")
            )
            return Attempt(False, error, f"{dep.name} answered {reply.status}")
        if reply.status >= 400:
            record.status, record.error = "upstream_rejected", _snippet(data)
            self._finish(record, req.started)
            await send_response(send, reply.status, data, reply.content_type or _JSON, headers)
            return Attempt(sent=True)
        usage, generated = usage_from_body(data)
        self._meter(record, dep, req.body, usage, generated)
        if check is not None:
            why = passes_check(check, _json(data))
            if why is not None:
                record.route_reason = f"{reason}; failed the cascade check: {why}"
                self._finish(record, req.started)
                return Attempt(False, None, f"{dep.name}'s answer failed the check ({why})")
        self._finish(record, req.started)
        if probe is not None:
            await self.cache.store_answer(
                probe,
                CachedAnswer(
                    data,
                    record.cost_usd,
                    record.prompt_tokens,
                    record.completion_tokens,
                    time.time(),
                ),
            )
        headers.append((b"x-unitcost-cost-usd", f"{record.cost_usd:.10f}".encode()))
        await self._respond(req, data, reply.content_type or _JSON, wants_usage, send, headers)
        return Attempt(sent=True)

    async def _respond(
        self,
        req: Incoming,
        data: bytes,
        content_type: bytes,
        wants_usage: bool,
        send: Send,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        if req.stream:  # the answer was read whole (cache, cascade): stream it as events
            data, content_type = completion_to_sse(data, wants_usage), b"text/event-stream"
        await send_response(send, 200, data, content_type, headers)

    async def _answer_from_cache(
        self,
        req: Incoming,
        record: UsageRecord,
        probe: Probe,
        wants_usage: bool,
        send: Send,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        hit = probe.hit
        assert hit is not None
        record.status = "cache_hit"
        record.route_reason = "; ".join(
            x for x in (record.route_reason, f"cache hit ({probe.how})") if x
        )
        record.prompt_tokens, record.completion_tokens = hit.prompt_tokens, hit.completion_tokens
        record.saving_usd = hit.cost_usd
        self._finish(record, req.started)
        headers.append((b"x-unitcost-cache", probe.how.encode()))
        await self._respond(req, hit.body, _JSON, wants_usage, send, headers)

    async def _stream(
        self,
        req: Incoming,
        dep: Deployment,
        reply: Reply,
        record: UsageRecord,
        client_wants_usage: bool,
        receive: Receive,
        send: Send,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        meter = StreamMeter(drop_usage_chunk=not client_wants_usage)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                    *headers,
                ],
            }
        )

        async def pump() -> None:
            async for chunk in reply.chunks(dep.upstream.between_tokens_timeout):
                out = meter.feed(chunk)
                if out:
                    await send({"type": "http.response.body", "body": out, "more_body": True})
            rest = meter.close()
            if rest:
                await send({"type": "http.response.body", "body": rest, "more_body": True})

        pumping = asyncio.ensure_future(pump())
        watching = asyncio.ensure_future(_disconnected(receive))
        error: BaseException | None = None
        try:
            await asyncio.wait((pumping, watching), return_when=asyncio.FIRST_COMPLETED)
        finally:
            watching.cancel()
            interrupted = not pumping.done()  # the client left, or the server is stopping us
            if interrupted:
                pumping.cancel()
                client_gone = not meter.done  # leaving after [DONE] is a normal end
            else:
                error = None if pumping.cancelled() else pumping.exception()
                client_gone = isinstance(error, OSError)  # a send to a closed socket
            if interrupted or client_gone:
                reply.abort()  # closes the upstream socket: the server stops generating
            if client_gone:
                record.status, record.error = "client_disconnected", "client went away mid-stream"
                record.http_status = 499
            elif isinstance(error, UpstreamError):
                record.status, record.error = _failure(error)
                record.http_status = error.status_code
                await _send_quietly(send, b"data: " + orjson.dumps(error.to_openai()) + b"\n\n")
            elif error is not None:
                record.status, record.error = "gateway_error", repr(error)[:300]
            elif meter.error is not None:
                record.status, record.error = "upstream_error", str(meter.error)[:300]
            if meter.first_token_at is not None:
                record.ttft_ms = (meter.first_token_at - req.started) * 1000.0
            self._meter(record, dep, req.body, meter.usage, "".join(meter.parts))
            self._finish(record, req.started)
            if not client_gone:
                await _send_quietly(send, b"", more_body=False)
        if error is not None and not isinstance(error, UpstreamError | OSError):
            raise error

    def _record(self, req: Incoming, dep: Deployment, reason: str | None) -> UsageRecord:
        return UsageRecord(
            id=os.urandom(16).hex(),
            request_id=req.request_id,
            ts=req.ts,
            tenant=req.principal.tenant,
            endpoint=req.endpoint,
            requested=req.requested,
            deployment=dep.name,
            status="ok",
            http_status=200,
            stream=req.stream,
            feature=req.feature,
            cohort=req.cohort,
            end_user=req.end_user,
            price_origin=dep.card.origin,
            route_reason=reason,
        )

    def _meter(
        self,
        record: UsageRecord,
        dep: Deployment,
        request: dict[str, Any],
        usage: dict[str, Any] | None,
        generated: str,
    ) -> None:
        if usage:
            tokens = TokenUsage.from_openai(usage)
        else:
            tokens = estimate_usage(dep.tokenizer, request, generated)
            record.tokens_estimated = True
        cost = dep.card.cost(tokens)
        record.prompt_tokens, record.cached_tokens = tokens.prompt_tokens, tokens.cached_tokens
        record.completion_tokens = tokens.completion_tokens
        record.reasoning_tokens = tokens.reasoning_tokens
        record.cost_input, record.cost_cached_input = cost.input, cost.cached_input
        record.cost_output, record.cost_reasoning = cost.output, cost.reasoning
        record.cost_usd = cost.total

    def _finish(self, record: UsageRecord, started: float) -> None:
        record.latency_ms = (time.perf_counter() - started) * 1000.0
        self.limits.settle(record.tenant, record.cost_usd)
        self.ledger.append(record)
        self.metrics.observe(record)


@dataclass(slots=True)
class Attempt:
    """One upstream call: the client has its answer (sent), or a failure to fall back from."""

    sent: bool
    error: UnitcostError | None = None
    why: str = ""


def _unstreamed(body: dict[str, Any]) -> dict[str, Any]:
    """The request as a non-streaming call, for answers that must be read whole first."""
    return {k: v for k, v in body.items() if k not in ("stream", "stream_options")}


def _json(data: bytes) -> dict[str, Any]:
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    return obj if isinstance(obj, dict) else {}


def _failure(exc: UpstreamError) -> tuple[str, str]:
    return (
        "upstream_timeout" if isinstance(exc, UpstreamTimeout) else "upstream_error",
        exc.message[:300],
    )


def _snippet(data: bytes) -> str:
    try:
        message = orjson.loads(data)["error"]["message"]
        return str(message)[:300]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return data[:300].decode("utf-8", "replace")


def _parse(raw: bytes, endpoint: str) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"request body is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(body, dict):
        raise InputError("request body must be a JSON object")
    if not isinstance(body.get("model"), str):
        raise InputError("model: required, a string naming a deployment", param="model")
    field = _REQUIRED[endpoint]
    if field not in body:
        raise InputError(f"{field}: required for /v1/{endpoint}", param=field)
    if field == "messages" and not (isinstance(body["messages"], list) and body["messages"]):
        raise InputError("messages: must be a non-empty array of messages", param="messages")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InputError("stream: must be true or false", param="stream")
    return body


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send_quietly(send: Send, body: bytes, more_body: bool = True) -> None:
    with contextlib.suppress(OSError):  # the client is gone; the record is what matters now
        await send({"type": "http.response.body", "body": body, "more_body": more_body})
