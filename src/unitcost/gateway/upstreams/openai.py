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

from unitcost.gateway.upstreams.base import Call, Reply
from unitcost.gateway.upstreams.http_backend import HttpBackend, HttpOptions, Timeouts
from unitcost.gateway.upstreams.registry import register

__all__ = ["OpenAIBackend", "OpenAIOptions", "Timeouts"]


class OpenAIOptions(HttpOptions):
    include_usage: bool = True


@register("openai")
class OpenAIBackend(HttpBackend):
    Options = OpenAIOptions
    options: OpenAIOptions

    async def send(self, call: Call) -> Reply:
        body = call.body
        body["model"] = self.options.model
        if call.stream and not self.options.include_usage:
            body.pop("stream_options", None)
        return await self.post("/" + call.endpoint, body, call.call_id)
