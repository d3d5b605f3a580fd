"""One streamed request, timed from the client's clock and counted from the server's usage.

    client = BenchClient("http://127.0.0.1:8080/v1", model="smollm2", tokenizer=tok)
    result = await client.send(prompt)
    result.ttft_s, result.itl_s, result.output_tokens

TTFT is the time to the first generated text; inter-token latency excludes it:
(end-to-end − TTFT) ÷ (output tokens − 1). Tokens come from the `usage` the server sends in
its final chunk (asked for with `stream_options.include_usage`); a server that sends none is
counted with the model's tokenizer, and the result says so. The client rides the gateway's
own connection pool, so its overhead is a few tens of microseconds per request.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson

from unitcost.bench.prompts import Prompt
from unitcost.errors import InputError, UnitcostError
from unitcost.wire.http1 import ConnectionPool
from unitcost.wire.tokens import Tokenizer
from unitcost.wire.usage import StreamMeter, estimate_usage

__all__ = ["BenchClient", "RequestResult"]


@dataclass(slots=True)
class RequestResult:
    started: float
    e2e_s: float
    ok: bool
    status: int = 200
    error: str | None = None
    ttft_s: float | None = None
    prompt_tokens: int = 0
    output_tokens: int = 0
    tokens_estimated: bool = False

    @property
    def ended(self) -> float:
        return self.started + self.e2e_s

    @property
    def itl_s(self) -> float | None:
        if self.ttft_s is None or self.output_tokens < 2:
            return None
        return (self.e2e_s - self.ttft_s) / (self.output_tokens - 1)

    @property
    def tpot_s(self) -> float | None:
        return self.e2e_s / self.output_tokens if self.output_tokens else None


class BenchClient:
    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key: str | None = None,
        tokenizer: Tokenizer | None = None,
        timeout_s: float = 600.0,
        ignore_eos: bool = False,
        extra_headers: dict[str, str] | None = None,
        max_connections: int = 1024,
    ) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme != "http" or not parts.hostname:
            raise InputError(f"URL: {url!r} is not supported; accepted: http://host:port/v1")
        self.path = (parts.path or "").encode() + b"/chat/completions"
        self.models_path = (parts.path or "").encode() + b"/models"
        self._identified: asyncio.Task[None] | None = None
        self.pool = ConnectionPool(
            parts.hostname, parts.port or 80, limit=max_connections, connect_timeout=10.0
        )
        self.model, self.tokenizer, self.timeout_s = model, tokenizer, timeout_s
        self.ignore_eos = ignore_eos
        self.headers = [(b"content-type", b"application/json")]
        if api_key:
            self.headers.append((b"authorization", f"Bearer {api_key}".encode()))
        for name, value in (extra_headers or {}).items():
            self.headers.append((name.lower().encode(), value.encode()))

    async def close(self) -> None:
        await self.pool.close()

    def body(self, prompt: Prompt) -> dict[str, object]:
        body: dict[str, object] = {
            "model": self.model,
            "messages": prompt.messages,
            "max_tokens": prompt.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0,
        }
        if self.ignore_eos:
            body["ignore_eos"] = True
        return body

    async def _identify(self) -> None:
        """llama.cpp's server (cpp-httplib) closes the socket after every streamed response
        without a `Connection: close`, so a pooled socket would fail the next request at
        once; asked with `Connection: close`, it says so and the pool does not reuse it."""
        try:
            reply = await self.pool.request(
                b"GET", self.models_path, self.headers, b"", first_byte_timeout=10.0
            )
            await reply.read(10.0)
        except UnitcostError:
            return
        if any(n == b"server" and v.startswith(b"llama.cpp") for n, v in reply.headers):
            self.headers = [*self.headers, (b"connection", b"close")]

    async def send(self, prompt: Prompt) -> RequestResult:
        if self._identified is None:  # once, before the first request; the rest wait for it
            self._identified = asyncio.ensure_future(self._identify())
        await asyncio.shield(self._identified)
        started = time.perf_counter()
        body = self.body(prompt)
        try:
            reply = await self.pool.request(
                b"POST",
                self.path,
                self.headers,
                orjson.dumps(body),
                first_byte_timeout=self.timeout_s,
            )
            if reply.status != 200:
                text = await reply.read(self.timeout_s)
                return RequestResult(
                    started,
                    time.perf_counter() - started,
                    False,
                    reply.status,
                    text[:300].decode("utf-8", "replace"),
                )
            meter = StreamMeter(drop_usage_chunk=False)
            try:
                async for chunk in reply.chunks(self.timeout_s):
                    meter.feed(chunk)
            except BaseException:
                reply.abort()  # cancelled (the runner's cool-down) or broken: close the socket
                raise
            meter.close()
        except UnitcostError as exc:
            return RequestResult(started, time.perf_counter() - started, False, 0, exc.message)
        ended = time.perf_counter()
        # A 200 is not a success by itself: the stream must be events that end in [DONE]
        # (a truncated stream, an HTML page or garbage events counted as answers before).
        failure = _stream_failure(meter, reply.content_type)
        result = RequestResult(started, ended - started, failure is None)
        if failure is not None:
            result.error = failure[:300]
        if meter.first_token_at is not None:
            result.ttft_s = meter.first_token_at - started
        if failure is not None:
            return result
        if meter.usage is not None:
            usage = meter.usage
        elif self.tokenizer is not None:
            usage = estimate_usage(self.tokenizer, body, "".join(meter.parts))
            result.tokens_estimated = True
        elif meter.rejected_usage is not None:
            raise InputError(
                f"the server sent usage that cannot be counted ({meter.rejected_usage}); "
                "give --tokenizer to count tokens"
            )
        else:
            raise InputError("the server sent no usage; give --tokenizer to count tokens")
        result.prompt_tokens, result.output_tokens = usage.prompt_tokens, usage.completion_tokens
        return result


def _stream_failure(meter: StreamMeter, content_type: bytes) -> str | None:
    """Why a 200 stream is not an answer, or None when it is one."""
    if meter.error is not None:
        return str(meter.error)
    if not content_type.startswith(b"text/event-stream"):
        kind = content_type.decode("latin-1") or "no content type"
        return f"the server answered 200 with {kind}, not an event stream"
    if meter.malformed:
        return f"the stream had {meter.malformed} events that were not JSON"
    if not meter.done:
        return "the stream ended without [DONE]"
    return None
