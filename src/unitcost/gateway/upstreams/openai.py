"""`openai`: any OpenAI-compatible server (vLLM, TGI, llama.cpp, Ollama, Triton, OpenAI).

    deployments:
      - name: llama-local
        backend: openai
        options: {url: "http://127.0.0.1:8080/v1", model: smollm2,
                  timeouts: {connect: 2, first_token: 60, between_tokens: 10}}

Keep-alive connections are pooled per deployment. The body is forwarded as the client sent
it, with `model` set to the upstream's name (the gateway has already asked streams for
`stream_options.include_usage`; `include_usage: false` drops it for servers that refuse it).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from unitcost.gateway.upstreams.base import Call, Reply, Upstream
from unitcost.gateway.upstreams.registry import register
from unitcost.wire.http1 import ConnectionPool

__all__ = ["OpenAIBackend"]


class Timeouts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    connect: float = Field(5.0, gt=0)
    first_token: float = Field(120.0, gt=0)
    between_tokens: float = Field(60.0, gt=0)


class OpenAIOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str
    model: str
    api_key: SecretStr | None = None
    max_connections: int = Field(256, ge=1)
    timeouts: Timeouts = Timeouts()
    include_usage: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(
                f"{url!r} is not supported; accepted: http://host:port/v1 "
                "(put a TLS-terminating proxy in front of https upstreams)"
            )
        return url.rstrip("/")


@register("openai")
class OpenAIBackend(Upstream):
    Options = OpenAIOptions
    options: OpenAIOptions

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
        self.headers = [(b"content-type", b"application/json")]
        if self.options.api_key is not None:
            key = self.options.api_key.get_secret_value().encode()
            self.headers.append((b"authorization", b"Bearer " + key))

    async def close(self) -> None:
        await self.pool.close()

    def models(self) -> list[str]:
        return [self.options.model]

    async def send(self, call: Call) -> Reply:
        body = call.body
        body["model"] = self.options.model
        if call.stream and not self.options.include_usage:
            body.pop("stream_options", None)
        return await self.pool.request(
            b"POST",
            self.prefix + b"/" + call.endpoint.encode(),
            [*self.headers, (b"x-request-id", call.call_id.encode())],
            orjson.dumps(body),
            first_byte_timeout=self.options.timeouts.first_token,
        )
