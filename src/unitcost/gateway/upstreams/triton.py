"""`triton`: NVIDIA Triton Inference Server, by its generate extension or OpenAI frontend.

    deployments:
      - name: llama-triton
        backend: triton
        options: {url: "http://10.0.0.7:8000", model: vllm_model, chat_format: llama3}
        price: {self_hosted: {accelerator: H100-SXM, model: llama-3.1-8b, lease_usd_per_hour: 2.49}}
        tokenizer: hf:/models/llama-3.1-8b/tokenizer.json   # if the model returns no counts
      - name: llama-triton-openai
        backend: triton
        options: {api: openai, url: "http://10.0.0.7:9000/v1", model: llama-3.1-8b}

`api: generate` (the default) posts to `/v2/models/{model}/generate` or `/generate_stream`
(KServe v2's generate extension, translated by `unitcost.wire.triton`): chat is rendered
with `chat_format`; sampling fields go in `parameters` (Triton's vLLM backend) or as
top-level inputs (`sampling_as: inputs`, TensorRT-LLM's ensemble); token counts are asked
for with `return_num_input_tokens`/`return_num_output_tokens` (`count_tokens: false` for
models without those inputs). `api: openai` is Triton's OpenAI-compatible frontend, served
by the `openai` backend as is (tools included).
"""

from __future__ import annotations

from typing import Literal

from unitcost.errors import InputError
from unitcost.gateway.upstreams.base import Call, Reply
from unitcost.gateway.upstreams.http_backend import HttpBackend, HttpOptions
from unitcost.gateway.upstreams.openai import OpenAIBackend, OpenAIOptions
from unitcost.gateway.upstreams.registry import register
from unitcost.gateway.upstreams.translated import TranslatedReply, error_reply
from unitcost.wire.triton import (
    GenerateToOpenAIStream,
    chat_from_generate,
    completion_from_generate,
    error_to_openai,
    to_generate_request,
)

__all__ = ["TritonBackend", "TritonOptions"]


class TritonOptions(HttpOptions):
    api: Literal["generate", "openai"] = "generate"
    chat_format: Literal["chatml", "llama3", "plain"] = "chatml"
    sampling_as: Literal["parameters", "inputs"] = "parameters"
    count_tokens: bool = True
    model_version: str | None = None
    include_usage: bool = True  # api: openai only, as for the openai backend


@register("triton")
class TritonBackend(HttpBackend):
    Options = TritonOptions
    options: TritonOptions

    def __init__(self, deployment: str, options: TritonOptions) -> None:
        super().__init__(deployment, options)
        self.frontend: OpenAIBackend | None = None
        if options.api == "openai":
            self.frontend = OpenAIBackend(
                deployment,
                OpenAIOptions(
                    url=options.url,
                    model=options.model,
                    api_key=options.api_key,
                    max_connections=options.max_connections,
                    timeouts=options.timeouts,
                    include_usage=options.include_usage,
                ),
            )

    async def start(self) -> None:
        if self.frontend is not None:
            await self.frontend.start()
            self.between_tokens_timeout = self.frontend.between_tokens_timeout
            self.first_token_timeout = self.frontend.first_token_timeout
            return
        await super().start()

    async def close(self) -> None:
        await (self.frontend.close() if self.frontend is not None else super().close())

    async def send(self, call: Call) -> Reply:
        if self.frontend is not None:
            return await self.frontend.send(call)
        if call.endpoint == "embeddings":
            return error_reply(
                400, f"deployment {self.deployment!r} (triton generate) does not serve embeddings"
            )
        o = self.options
        try:
            body = to_generate_request(
                call.body, call.endpoint, o.chat_format, o.sampling_as, o.count_tokens
            )
        except InputError as exc:
            return error_reply(400, exc.message, exc.param)
        version = f"/versions/{o.model_version}" if o.model_version else ""
        action = "/generate_stream" if call.stream else "/generate"
        stream_options = call.body.get("stream_options")
        include_usage = (
            isinstance(stream_options, dict) and stream_options.get("include_usage") is True
        )
        kind = "chat" if call.endpoint == "chat/completions" else "completion"
        reply = await self.post(f"/v2/models/{o.model}{version}{action}", body, call.call_id)
        return TranslatedReply(
            reply,
            body=chat_from_generate if kind == "chat" else completion_from_generate,
            stream=lambda: GenerateToOpenAIStream(kind, include_usage),
            error=error_to_openai,
            where=f"triton upstream of {self.deployment}",
        )
