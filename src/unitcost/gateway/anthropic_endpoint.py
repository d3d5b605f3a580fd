"""`POST /v1/messages`: Anthropic's Messages API in front of the gateway's one pipeline.

    anthropic.Anthropic(base_url="http://127.0.0.1:8000", api_key=TENANT_KEY).messages.create(
        model="gpt-5-mini", max_tokens=256, messages=[{"role": "user", "content": "hi"}])

An adapter, not a second request path: the Messages body is translated to an OpenAI chat
request (`unitcost.wire.anthropic_inbound`), run through `pipeline.handle` exactly as
`/v1/chat/completions` is (auth, limits, guard, routes, classes, cache, fallback, metering,
the ledger), and every answer is translated back on its way out: JSON to a Messages
response, chunks to Messages events (`wire.anthropic_stream.ChatToMessagesStream`),
errors to `{"type": "error", "error": {type, message}}`. Any deployment serves it, whatever
its backend. The key may come as `x-api-key` (Anthropic's header) or `authorization`.
"""

from __future__ import annotations

import os
from typing import Any

import orjson

from unitcost.errors import InputError, UnitcostError
from unitcost.gateway.asgi import Receive, Scope, Send, read_body
from unitcost.gateway.auth import TWO_KEYS, key_header
from unitcost.gateway.exchange import Client, Exchange
from unitcost.gateway.pipeline import Services, handle
from unitcost.gateway.settings import AttributionHeaders
from unitcost.gateway.stages.authenticate import authenticate
from unitcost.wire.anthropic import error_to_anthropic
from unitcost.wire.anthropic_inbound import to_anthropic_message, to_chat_request
from unitcost.wire.anthropic_stream import ChatToMessagesStream

__all__ = ["MESSAGES_PATH", "MessagesClient", "handle_messages"]

MESSAGES_PATH = "/v1/messages"

_JSON = b"application/json"


class MessagesClient(Client):
    """The client side of a `/v1/messages` request: OpenAI-shaped answers go out as
    Anthropic's. The pipeline calls the same verbs it calls on any client."""

    def __init__(self, receive: Receive, send: Send, message_id: str) -> None:
        super().__init__(receive, send)
        self.message_id = message_id
        self.stream: ChatToMessagesStream | None = None

    async def respond(
        self, status: int, body: bytes, content_type: bytes, headers: list[tuple[bytes, bytes]]
    ) -> None:
        if status >= 400:
            body, content_type = orjson.dumps(error_to_anthropic(_json(body))), _JSON
        elif content_type.startswith(b"text/event-stream"):  # a whole answer as events
            events = ChatToMessagesStream(self.message_id)
            body = events.feed(body) + events.close()
        else:
            message = to_anthropic_message(_json(body))
            message["id"] = self.message_id
            body, content_type = orjson.dumps(message), _JSON
        await super().respond(status, body, content_type, headers)

    async def start_stream(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.stream = ChatToMessagesStream(self.message_id)
        await super().start_stream(headers)

    async def send(self, body: bytes) -> None:
        out = self.stream.feed(body) if self.stream is not None else body
        if out:
            await super().send(out)

    async def end(self, body: bytes = b"") -> None:
        rest = b""
        if self.stream is not None:
            rest = (self.stream.feed(body) if body else b"") + self.stream.close()
        await super().end(rest)


def _json(body: bytes) -> dict[str, Any]:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {"error": {"type": "api_error", "message": body[:300].decode("utf-8", "replace")}}
    return obj if isinstance(obj, dict) else {}


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that first hands over the translated body, then the real messages
    (so the pipeline still sees the client disconnect)."""
    sent = False

    async def again() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return again


def _error(exc: UnitcostError) -> bytes:
    return orjson.dumps(error_to_anthropic(exc.to_openai()))


async def handle_messages(
    scope: Scope, receive: Receive, send: Send, services: Services, attribution: AttributionHeaders
) -> None:
    """Serve one `/v1/messages` request through the pipeline."""
    message_id = "msg_" + os.urandom(12).hex()
    x = Exchange.begin(scope, receive, send, "chat/completions", attribution)
    key = key_header(scope["headers"], b"x-api-key")  # Anthropic's header for the key
    if key is not None:
        bearer = key if key is TWO_KEYS else b"Bearer " + key
        if x.authorization is None:
            x.authorization = bearer
        elif x.authorization.partition(b" ")[2].strip() != key:  # two keys: who pays?
            x.authorization = TWO_KEYS
    client = MessagesClient(receive, send, message_id)
    try:
        x.principal = authenticate(services.keyring, x.authorization)  # 401 before the body
        raw = await read_body(receive, services.settings.max_body_bytes, x.declared_length)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InputError(
                f"request body is not valid JSON ({exc.msg} at char {exc.pos})"
            ) from None
        if not isinstance(body, dict):
            raise InputError("request body must be a JSON object")
        if isinstance(body.get("model"), str):
            x.requested = body["model"][:256]  # a refusal's row says what was asked for
        chat = to_chat_request(body)
    except UnitcostError as exc:
        services.recorder.reject(x, exc)  # counted, and a zero-cost row for a known tenant
        await Client.respond(client, exc.status_code, _error(exc), _JSON, x.headers)
        return
    if chat.get("stream") is True:
        chat["stream_options"] = {"include_usage": True}  # message_delta carries the usage
    translated = orjson.dumps(chat)
    x.client = MessagesClient(_replay(translated, receive), send, message_id)
    x.declared_length = len(translated)
    await handle(x, services)
