"""One request's state, and the client connection it answers on.

    x = Exchange.begin(scope, receive, send, "chat/completions", settings.attribution)
    await x.client.respond(200, body, b"application/json", x.headers)
    await x.client.start_stream(x.headers); await x.client.send(chunk); await x.client.end()

Stages read and fill the exchange instead of taking `receive, send, headers` each; only
`Client` writes ASGI messages, so the stages can be tested with a recording client.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from unitcost.errors import UnitcostError
from unitcost.gateway.asgi import Receive, Scope, Send
from unitcost.gateway.auth import TWO_KEYS, Principal
from unitcost.gateway.settings import AttributionHeaders
from unitcost.ledger.record import new_id

__all__ = ["Client", "Exchange"]

_JSON = b"application/json"
#: a client's x-request-id is kept when it looks like an id (UUIDs, ULIDs, trace ids)
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:/+=@-]{1,128}")


class Client:
    """The client side of one request: ASGI receive/send behind a few verbs."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self.receive = receive
        self._send = send
        self.started = False  # the response head has gone out: no fallback any more
        self.finished = False

    async def respond(
        self, status: int, body: bytes, content_type: bytes, headers: list[tuple[bytes, bytes]]
    ) -> None:
        self.started = True
        await self._send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
            }
        )
        await self._send({"type": "http.response.body", "body": body})
        self.finished = True

    async def error(self, exc: UnitcostError, headers: list[tuple[bytes, bytes]]) -> None:
        extra = [(k.encode(), v.encode()) for k, v in exc.headers.items()]
        await self.respond(exc.status_code, orjson.dumps(exc.to_openai()), _JSON, headers + extra)

    async def start_stream(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.started = True
        await self._send(
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

    async def send(self, body: bytes) -> None:
        """Part of a stream; raises OSError when the client has gone."""
        await self._send({"type": "http.response.body", "body": body, "more_body": True})

    async def end(self, body: bytes = b"") -> None:
        with contextlib.suppress(OSError):  # the client is gone; the record is what matters
            await self._send({"type": "http.response.body", "body": body, "more_body": False})
        self.finished = True

    async def send_quietly(self, body: bytes) -> None:
        with contextlib.suppress(OSError):
            await self.send(body)

    async def disconnected(self) -> None:
        """Returns when the client goes away."""
        while (await self.receive())["type"] != "http.disconnect":
            pass


@dataclass(slots=True)
class Exchange:
    """What the gateway knows about one request, filled in stage by stage."""

    client: Client
    endpoint: str
    request_id: str
    started: float  # perf_counter at arrival
    ts: float  # wall clock at arrival
    authorization: bytes | None = None
    declared_length: int | None = None
    tags: dict[str, str] = field(default_factory=dict)  # feature, cohort, end_user
    principal: Principal | None = None
    body: dict[str, Any] = field(default_factory=dict)
    requested: str = ""
    stream: bool = False
    wants_usage: bool = False  # the client itself asked a stream for its usage
    screened: Any = None  # what the guard decided (gateway/stages/guard.py)
    workload_class: str | None = None
    calls: int = 0  # upstream calls so far (the first counts against requests per minute)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    @classmethod
    def begin(
        cls,
        scope: Scope,
        receive: Receive,
        send: Send,
        endpoint: str,
        attribution: AttributionHeaders,
    ) -> Exchange:
        x = cls(Client(receive, send), endpoint, "", time.perf_counter(), time.time())
        names = {
            attribution.feature.encode(): "feature",
            attribution.cohort.encode(): "cohort",
            attribution.end_user.encode(): "end_user",
        }
        request_id = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                x.authorization = value if x.authorization is None else TWO_KEYS
            elif name == b"content-length":
                x.declared_length = int(value) if value.isdigit() else None
            elif name == b"x-request-id":  # echoed and stored: a safe id, or one of ours
                request_id = value.decode() if _REQUEST_ID.fullmatch(value) else None
            elif name == b"x-unitcost-class":  # checked by the route stage
                x.workload_class = value.decode("latin-1")[:128]
            elif name in names:
                x.tags[names[name]] = value.decode("utf-8", "replace")[:256]
        x.request_id = request_id or new_id()
        x.headers = [(b"x-request-id", x.request_id.encode())]
        return x

    @property
    def tenant(self) -> str:
        return self.principal.tenant if self.principal is not None else "anonymous"

    @property
    def feature(self) -> str | None:
        return self.tags.get("feature")

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0
