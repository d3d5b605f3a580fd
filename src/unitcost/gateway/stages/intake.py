"""Read, cap and validate the body; note what the client asked of a stream."""

from __future__ import annotations

from unitcost.gateway.asgi import read_body
from unitcost.gateway.exchange import Exchange
from unitcost.wire.openai import parse_request

__all__ = ["read_request"]


async def read_request(x: Exchange, max_bytes: int) -> None:
    raw = await read_body(x.client.receive, max_bytes, x.declared_length)
    body = parse_request(raw, x.endpoint)
    x.body, x.requested = body, body["model"]
    x.stream = body.get("stream") is True
    user = body.get("user")
    if "end_user" not in x.tags and isinstance(user, str):
        x.tags["end_user"] = user[:256]
    if x.stream:
        # Ask every stream for usage in its final chunk; hide it again from a client that
        # did not ask for it itself.
        options = body.get("stream_options") or {}
        x.wants_usage = options.get("include_usage") is True
        body["stream_options"] = {**options, "include_usage": True}
