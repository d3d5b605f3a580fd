"""`ollama`: Ollama's native API (`/api/chat`, `/api/generate`, `/api/embed`).

    deployments:
      - name: llama-ollama
        backend: ollama
        options: {url: "http://127.0.0.1:11434", model: "llama3.2:3b", keep_alive: "10m"}
        price: {self_hosted: {accelerator: L4, model: llama-3.1-8b, lease_usd_per_hour: 0.8}}

Why native and not Ollama's `/v1` OpenAI endpoint (which the `openai` backend also
speaks): the native API reports `prompt_eval_count` and `eval_count` in every final line,
streams included, and takes `keep_alive`, `think` and `options` such as `num_ctx`. Chat
maps to `/api/chat`, completions to `/api/generate` (raw prompt), embeddings to
`/api/embed`; translation is in `unitcost.wire.ollama`. Ollama answers a prompt it reused
from its KV cache without counting it again, so `prompt_eval_count` can be lower than the
prompt; the ledger records what Ollama reported.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from unitcost.errors import InputError
from unitcost.gateway.upstreams.base import Call, Reply
from unitcost.gateway.upstreams.http_backend import HttpBackend, HttpOptions
from unitcost.gateway.upstreams.registry import register
from unitcost.gateway.upstreams.translated import TranslatedReply, error_reply
from unitcost.wire.ollama import (
    OllamaToOpenAIStream,
    chat_from_ollama,
    completion_from_ollama,
    embeddings_from_ollama,
    error_to_openai,
    to_ollama_chat,
    to_ollama_embed,
    to_ollama_generate,
)

__all__ = ["OllamaBackend", "OllamaOptions"]

_ROUTES = {
    "chat/completions": ("/api/chat", to_ollama_chat, chat_from_ollama, "chat"),
    "completions": ("/api/generate", to_ollama_generate, completion_from_ollama, "generate"),
    "embeddings": ("/api/embed", to_ollama_embed, embeddings_from_ollama, ""),
}


class OllamaOptions(HttpOptions):
    keep_alive: str | None = Field(
        None, description='how long Ollama keeps the model loaded, e.g. "10m"'
    )
    options: dict[str, Any] = Field(
        {}, description="Ollama `options` sent with every call, e.g. num_ctx"
    )


@register("ollama")
class OllamaBackend(HttpBackend):
    Options = OllamaOptions
    options: OllamaOptions

    async def send(self, call: Call) -> Reply:
        path, translate, answer, kind = _ROUTES[call.endpoint]
        try:
            body = translate(call.body, self.options.model)
        except InputError as exc:
            return error_reply(400, exc.message, exc.param)
        if kind:
            body["stream"] = call.stream
            body["options"] = {**self.options.options, **(body.get("options") or {})}
        if self.options.keep_alive is not None:
            body.setdefault("keep_alive", self.options.keep_alive)
        stream_options = call.body.get("stream_options")
        include_usage = (
            isinstance(stream_options, dict) and stream_options.get("include_usage") is True
        )
        reply = await self.post(path, body, call.call_id)
        return TranslatedReply(
            reply,
            body=answer,
            stream=(lambda: OllamaToOpenAIStream(kind, include_usage)) if kind else None,
            error=error_to_openai,
            stream_types=(b"application/x-ndjson",),
            where=f"ollama upstream of {self.deployment}",
        )
