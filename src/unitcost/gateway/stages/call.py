"""Send one call upstream and classify what came back, once.

    outcome = await call(dep, x, row, body, streaming)
    outcome.verdict    # ANSWER (use it), RELAY (a 4xx the client should see), RETRY (fall back)

Classification sets the row's status, HTTP status and error summary. An upstream's error
message is never copied into the row: messages often quote the prompt back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from unitcost.errors import LimitExceeded, UnitcostError, UpstreamError, UpstreamTimeout
from unitcost.gateway.exchange import Exchange
from unitcost.gateway.portfolio import Deployment
from unitcost.gateway.upstreams.base import Call, Reply
from unitcost.ledger.record import RowStatus, UsageRecord
from unitcost.wire.openai import error_message, error_summary
from unitcost.wire.usage import Completion, UsageError, read_completion

__all__ = ["Outcome", "Verdict", "call"]


class Verdict(Enum):
    ANSWER = "answer"
    RELAY = "relay"
    RETRY = "retry"


@dataclass(slots=True)
class Outcome:
    verdict: Verdict
    reply: Reply | None = None  # an open stream
    data: bytes = b""  # a whole body
    completion: Completion | None = None
    content_type: bytes = b"application/json"
    error: UnitcostError | None = None
    why: str = ""  # for the route's reason when it falls back
    sent_at: float = 0.0  # perf_counter when the call was sent


def _failed(row: UsageRecord, exc: UpstreamError, dep: Deployment) -> Outcome:
    row.status = (
        RowStatus.UPSTREAM_TIMEOUT if isinstance(exc, UpstreamTimeout) else RowStatus.UPSTREAM_ERROR
    )
    row.http_status = exc.status_code
    row.error = exc.message[:300]
    return Outcome(Verdict.RETRY, error=exc, why=f"{dep.name} failed ({exc.message[:80]})")


async def call(
    dep: Deployment, x: Exchange, row: UsageRecord, body: dict[str, Any], streaming: bool
) -> Outcome:
    sent_at = time.perf_counter()
    try:
        reply = await dep.upstream.send(Call(x.endpoint, body, streaming, row.id))
        if (
            streaming
            and reply.status == 200
            and reply.content_type.startswith(b"text/event-stream")
        ):
            return Outcome(Verdict.ANSWER, reply=reply, sent_at=sent_at)
        data = await reply.read(dep.upstream.between_tokens_timeout)
    except UpstreamError as exc:
        return _failed(row, exc, dep)
    finally:
        row.upstream_ms = (time.perf_counter() - sent_at) * 1000.0
    row.http_status = reply.status
    if reply.status >= 500 or reply.status == 429:
        row.status, row.error = RowStatus.UPSTREAM_ERROR, error_summary(reply.status, data)
        said = error_message(data)  # for the client only: it may quote the prompt
        error: UnitcostError = (
            LimitExceeded(f"upstream {dep.name} is rate limiting: {said}")
            if reply.status == 429
            else UpstreamError(f"upstream {dep.name} answered {reply.status}: {said}")
        )
        return Outcome(Verdict.RETRY, error=error, why=f"{dep.name} answered {reply.status}")
    if reply.status >= 400:
        row.status, row.error = RowStatus.UPSTREAM_REJECTED, error_summary(reply.status, data)
        return Outcome(
            Verdict.RELAY, data=data, content_type=reply.content_type or b"application/json"
        )
    try:
        completion = read_completion(data)
    except UsageError as exc:
        return _failed(
            row, UpstreamError(f"upstream {dep.name} sent a malformed answer: {exc}"), dep
        )
    return Outcome(
        Verdict.ANSWER,
        data=data,
        completion=completion,
        content_type=reply.content_type or b"application/json",
        sent_at=sent_at,
    )
