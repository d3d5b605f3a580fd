"""What the HTTP backends for non-OpenAI protocols share: options and a pooled POST.

    class OllamaOptions(HttpOptions):
        model: str
    backend = HttpBackend(...); await backend.start(); await backend.post(b"/api/chat", body)

`url` is the server's root (`http://host:port`, a path prefix allowed); `timeouts` are the
openai backend's (connect, first_token, between_tokens). Plain http only, as for openai.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from unitcost.gateway.upstreams.base import Upstream
from unitcost.wire.http1 import ConnectionPool, Reply

__all__ = ["HttpBackend", "HttpOptions", "Timeouts"]


class Timeouts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    connect: float = Field(5.0, gt=0)
    first_token: float = Field(120.0, gt=0)
    between_tokens: float = Field(60.0, gt=0)


class HttpOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str
    model: str
    api_key: SecretStr | None = None
    max_connections: int = Field(256, ge=1)
    timeouts: Timeouts = Timeouts()

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(
                f"{url!r} is not supported; accepted: http://host:port[/path] "
                "(put a TLS-terminating proxy in front of https upstreams)"
            )
        return url.rstrip("/")


class HttpBackend(Upstream):
    """An upstream reached over the keep-alive pool; subclasses say what to POST."""

    options: HttpOptions
    bearer_auth = True  # send `api_key` as `Authorization: Bearer` (Anthropic uses x-api-key)

    async def start(self) -> None:
        parts = urlsplit(self.options.url)
        self.prefix = (parts.path or "").encode()
        self.pool = ConnectionPool(
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            limit=self.options.max_connections,
            connect_timeout=self.options.timeouts.connect,
        )
        self.between_tokens_timeout = self.options.timeouts.between_tokens
        self.first_token_timeout = self.options.timeouts.first_token
        self.headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
        if self.options.api_key is not None and self.bearer_auth:
            key = self.options.api_key.get_secret_value().encode()
            self.headers.append((b"authorization", b"Bearer " + key))

    async def close(self) -> None:
        await self.pool.close()

    def models(self) -> list[str]:
        return [self.options.model]

    async def post(self, path: str, body: dict[str, Any], call_id: str) -> Reply:
        return await self.pool.request(
            b"POST",
            self.prefix + path.encode(),
            [*self.headers, (b"x-request-id", call_id.encode())],
            orjson.dumps(body),
            first_byte_timeout=self.options.timeouts.first_token,
        )
