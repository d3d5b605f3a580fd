"""Answer the client: a whole body, or a stream passed through event by event.

    await respond(x, body, content_type, row, finish)         # finish(row) records it first
    sent = await relay_stream(x, dep, outcome, row, finish)   # False: nothing reached the client

A stream's response head is held back until its first token arrives within the
deployment's first-token timeout, so an upstream that sends headers and then queues (vLLM
and OpenAI do) can still be fallen back from, like a non-streaming call. Once committed,
events pass through unchanged while the meter watches; malformed events, an upstream that
dies, or a stream that ends without `[DONE]` end the client's stream with an error event
and `[DONE]`. A client that goes away cancels the upstream call. In every case the row is
recorded (`finish`) before the stream's last bytes are sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import orjson

from unitcost.errors import UpstreamError, UpstreamTimeout
from unitcost.gateway.exchange import Exchange
from unitcost.gateway.portfolio import Deployment
from unitcost.gateway.stages.call import Outcome
from unitcost.guard import StreamWatch
from unitcost.ledger.record import RowStatus, UsageRecord
from unitcost.wire.sse import completion_to_sse
from unitcost.wire.usage import StreamMeter

__all__ = ["StreamResult", "relay_stream", "respond"]

Finish = Callable[[UsageRecord], None]
_ERROR_EVENT = "upstream sent an error event mid-stream"


async def respond(
    x: Exchange, data: bytes, content_type: bytes, row: UsageRecord, finish: Finish
) -> None:
    """Record the row, then send a whole answer (as events if the client asked a stream)."""
    finish(row)
    if x.stream:  # read whole (cache, cascade, a server that ignored `stream`): as events
        data, content_type = completion_to_sse(data, x.wants_usage), b"text/event-stream"
    await x.client.respond(200, data, content_type, x.headers)


class StreamResult:
    def __init__(self, sent: bool, error: UpstreamError | None = None, why: str = "") -> None:
        self.sent, self.error, self.why = sent, error, why


def _error_event(error: UpstreamError) -> bytes:
    return b"data: " + orjson.dumps(error.to_openai()) + b"\n\ndata: [DONE]\n\n"


async def relay_stream(
    x: Exchange,
    dep: Deployment,
    outcome: Outcome,
    row: UsageRecord,
    finish: Finish,
    meter_row: Callable[[StreamMeter], None],
    watch: StreamWatch | None = None,
) -> StreamResult:
    reply = outcome.reply
    assert reply is not None
    meter = StreamMeter(drop_usage_chunk=not x.wants_usage)
    client = x.client
    held: list[bytes] = []  # events before the first token, and the final ones
    committed = False
    timed_out = False
    first_token = dep.upstream.first_token_timeout

    def expire() -> None:
        nonlocal timed_out
        if not committed:
            timed_out = True
            reply.abort()

    timer = None
    if first_token is not None:
        remaining = max(0.0, first_token - (time.perf_counter() - outcome.sent_at))
        timer = asyncio.get_running_loop().call_later(remaining, expire)

    async def commit() -> None:
        nonlocal committed
        committed = True
        if timer is not None:
            timer.cancel()
        await client.start_stream(x.headers)

    async def pump() -> None:
        async for chunk in reply.chunks(dep.upstream.between_tokens_timeout):
            out = meter.feed(chunk)
            if meter.malformed:
                raise UpstreamError(f"upstream {dep.name} sent malformed stream events")
            if watch is not None:  # the guard: canary, placeholders back (may raise)
                out = watch.feed(out)
            if not out:
                continue
            if not committed:
                held.append(out)
                if meter.answered and not meter.done:
                    await commit()
                    await client.send(b"".join(held))
                    held.clear()
            elif meter.done:
                held.append(out)  # the end goes out after the row is recorded
            else:
                await client.send(out)
        rest = meter.close()
        if meter.malformed:
            raise UpstreamError(f"upstream {dep.name} sent malformed stream events")
        if watch is not None:
            rest = watch.feed(rest) + watch.close()
        if rest:
            held.append(rest)
        if not meter.done:
            raise UpstreamError(f"upstream {dep.name} ended the stream without [DONE]")

    pumping = asyncio.ensure_future(pump())
    watching = asyncio.ensure_future(client.disconnected())
    error: BaseException | None = None
    client_gone = cancelled = False
    try:
        await asyncio.wait((pumping, watching), return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        cancelled = True  # the server is stopping: record what was streamed, then stop
    finally:
        watching.cancel()
        if timer is not None:
            timer.cancel()
        interrupted = not pumping.done()  # the client left, or the server is stopping us
        if interrupted:
            pumping.cancel()
            client_gone = not meter.done and not cancelled  # leaving after [DONE] is normal
        else:
            error = None if pumping.cancelled() else pumping.exception()
            client_gone = isinstance(error, OSError)  # a send to a closed socket
        if interrupted or client_gone or error is not None:
            reply.abort()  # closes the upstream socket: the server stops generating
        if timed_out:
            error = UpstreamTimeout(
                f"upstream {dep.name} sent no token within {first_token:g} s (first-token timeout)"
            )
        row.upstream_ms = (time.perf_counter() - outcome.sent_at) * 1000.0
        if meter.first_token_at is not None:
            row.ttft_ms = (meter.first_token_at - x.started) * 1000.0
        # A call that failed before its first token is billed nothing (it is fallen back
        # from); one the client watched, or left, is billed for what it used.
        if committed or client_gone or cancelled or meter.usage is not None:
            meter_row(meter)
    if cancelled:
        row.status, row.error = RowStatus.GATEWAY_ERROR, "the gateway stopped mid-stream"
        finish(row)
        raise asyncio.CancelledError
    if client_gone:
        if committed and meter.error is not None:
            # The upstream's error event reached the client, which then hung up (the openai
            # SDK raises on it and closes): the upstream's failure, whoever closed first.
            # Before the first token nothing was sent: a client leaving then is its own doing.
            row.status, row.error = RowStatus.UPSTREAM_ERROR, _ERROR_EVENT
        else:
            row.status, row.error, row.http_status = (
                RowStatus.CLIENT_DISCONNECTED,
                "client went away mid-stream",
                499,
            )
        finish(row)
        return StreamResult(True)
    if isinstance(error, UpstreamError):
        row.status = (
            RowStatus.UPSTREAM_TIMEOUT
            if isinstance(error, UpstreamTimeout)
            else RowStatus.UPSTREAM_ERROR
        )
        row.error, row.http_status = error.message[:300], error.status_code
        if not committed:  # nothing reached the client: the route may fall back
            return StreamResult(False, error, f"{dep.name} failed ({error.message[:80]})")
        finish(row)
        await client.send_quietly(b"".join(held) + _error_event(error))
        await client.end()
        return StreamResult(True)
    if error is not None:  # a bug of ours: record it, end the stream, and let it surface
        row.status, row.error = RowStatus.GATEWAY_ERROR, repr(error)[:300]
        finish(row)
        if committed:
            await client.end()
        raise error
    if meter.error is not None:
        row.status, row.error = RowStatus.UPSTREAM_ERROR, _ERROR_EVENT
    finish(row)
    if not committed:
        await commit()
    await client.send_quietly(b"".join(held))
    await client.end()
    return StreamResult(True)
