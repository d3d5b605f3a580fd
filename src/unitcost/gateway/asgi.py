"""The few ASGI pieces the gateway needs, typed once (starlette's shapes, no framework)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from unitcost.errors import PayloadTooLarge, UnitcostError

__all__ = [
    "ASGIApp",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "read_body",
    "send_error",
    "send_json",
    "send_response",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON = b"application/json"


async def read_body(receive: Receive, limit: int, declared: int | None) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit`."""
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {limit} bytes")
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body  # the common case: one message
    parts = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


async def send_response(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = JSON,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_json(
    send: Send, status: int, obj: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send_response(send, status, orjson.dumps(obj), JSON, headers)


async def send_error(
    send: Send, exc: UnitcostError, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """An OpenAI-shaped error body: {"error": {message, type, param, code}}."""
    await send_json(send, exc.status_code, exc.to_openai(), headers)
