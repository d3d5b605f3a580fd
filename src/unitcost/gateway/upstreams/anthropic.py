"""`anthropic`: Anthropic's Messages API, spoken by the gateway as OpenAI chat.

    deployments:
      - name: claude-sonnet
        backend: anthropic
        options: {url: "http://127.0.0.1:8081", model: claude-sonnet-4-5,
                  api_key: "${ANTHROPIC_API_KEY}", max_tokens: 4096}
        price: {price_map: {path: model_prices_and_context_window.json,
                            model: claude-sonnet-4-5}}

Requests are translated by `unitcost.wire.anthropic` (system, tools and tool_choice, tool
results, images, `cache_control`), answers and streams back to OpenAI's shape, usage with
cache writes and reads as their own token kinds (priced at the card's cache rates).
Anthropic's API is https: put a TLS-terminating proxy (or egress gateway) at `url`.
Only `/v1/chat/completions` is served; completions and embeddings answer 400.
"""

from __future__ import annotations

from pydantic import Field

from unitcost.errors import InputError
from unitcost.gateway.upstreams.base import Call, Reply
from unitcost.gateway.upstreams.http_backend import HttpBackend, HttpOptions
from unitcost.gateway.upstreams.registry import register
from unitcost.gateway.upstreams.translated import TranslatedReply, error_reply
from unitcost.wire.anthropic import error_to_openai, to_chat_completion, to_messages_request
from unitcost.wire.anthropic_stream import MessagesToChatStream

__all__ = ["AnthropicBackend", "AnthropicOptions"]


class AnthropicOptions(HttpOptions):
    anthropic_version: str = "2023-06-01"
    max_tokens: int = Field(4096, ge=1, description="sent when the request gives none")
    beta: tuple[str, ...] = ()  # anthropic-beta feature names


@register("anthropic")
class AnthropicBackend(HttpBackend):
    bearer_auth = False  # the key goes in x-api-key
    Options = AnthropicOptions
    options: AnthropicOptions

    async def start(self) -> None:
        await super().start()
        self.headers.append((b"anthropic-version", self.options.anthropic_version.encode()))
        if self.options.api_key is not None:
            self.headers.append((b"x-api-key", self.options.api_key.get_secret_value().encode()))
        if self.options.beta:
            self.headers.append((b"anthropic-beta", ",".join(self.options.beta).encode()))

    async def send(self, call: Call) -> Reply:
        if call.endpoint != "chat/completions":
            return error_reply(
                400,
                f"deployment {self.deployment!r} (anthropic) serves /v1/chat/completions only",
            )
        try:
            body = to_messages_request(call.body, self.options.model, self.options.max_tokens)
        except InputError as exc:
            return error_reply(400, exc.message, exc.param)
        body["stream"] = call.stream
        options = call.body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        reply = await self.post("/v1/messages", body, call.call_id)
        return TranslatedReply(
            reply,
            body=to_chat_completion,
            stream=lambda: MessagesToChatStream(include_usage),
            error=error_to_openai,
            where=f"anthropic upstream of {self.deployment}",
        )
