"""TritonProtocolServer: a local server of Triton's KServe v2 HTTP/REST protocol, generate
extension included.

    server = await TritonProtocolServer(models=("vllm_model",)).start()
    tritonclient.http.InferenceServerClient(server.address).is_model_ready("vllm_model")

`GET /v2/health/live`, `/v2/health/ready`, `/v2` (server metadata), `/v2/models/{m}`
(model metadata) and `/v2/models/{m}/ready` as the KServe v2 protocol (and `tritonclient`)
shapes them; `POST /v2/models/{m}/generate` and `/generate_stream` as Triton's generate
extension does: inputs as top-level keys, `parameters` for the request, outputs as keys
(`text_output`, and `num_input_tokens`/`num_output_tokens`/`finish_reason` when the request
asks for them with `return_num_input_tokens`... as the vLLM backend's optional outputs do),
SSE `data:` events for a stream (each `text_output` a delta, streamed `num_output_tokens`
per response), errors `{"error": "..."}` with 400 (bad input) or 404 (unknown model).
What it answers comes from the `Script` (see protocol_server.py); it is not a model.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from unitcost.testing.protocol_server import ProtocolServer, Request, Writer

__all__ = ["TritonProtocolServer"]

_MODEL_PATH = re.compile(
    r"^/v2/models/([^/]+)(?:/versions/([^/]+))?(/ready|/generate|/generate_stream)?$"
)


class TritonProtocolServer(ProtocolServer):
    protocol = "triton"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, models: tuple[str, ...] = ("vllm_model",)
    ) -> None:
        super().__init__(host, port)
        self.models = models

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def address(self) -> str:
        """host:port, as tritonclient takes it."""
        return f"{self.host}:{self.port}"

    def error(self, out: Writer, status: int, message: str) -> None:
        out.json(status, {"error": message})

    async def respond(self, request: Request, out: Writer) -> None:
        path = request.path.split("?")[0]
        if request.method == "GET" and path in ("/v2/health/live", "/v2/health/ready"):
            return out.whole(200, b"", b"text/plain")
        if request.method == "GET" and path == "/v2":
            return out.json(
                200, {"name": "triton", "version": "2.60.0", "extensions": ["generate"]}
            )
        match = _MODEL_PATH.match(path)
        if match is None:
            return self.error(out, 404, "Not Found")
        model, version, action = match.groups()
        if model not in self.models:
            return self.error(out, 404, f"Request for unknown model: '{model}' is not found")
        if request.method == "GET" and action is None:
            return out.json(
                200,
                {
                    "name": model,
                    "versions": ["1"],
                    "platform": "vllm",
                    "inputs": [{"name": "text_input", "datatype": "BYTES", "shape": [1]}],
                    "outputs": [{"name": "text_output", "datatype": "BYTES", "shape": [-1]}],
                },
            )
        if request.method == "GET" and action == "/ready":
            return out.whole(200, b"", b"text/plain")
        if request.method != "POST" or action not in ("/generate", "/generate_stream"):
            return self.error(out, 404, "Not Found")
        try:
            body = self.record(request)
        except orjson.JSONDecodeError:
            return self.error(out, 400, "failed to parse the request JSON buffer")
        if not isinstance(body, dict) or not isinstance(body.get("text_input"), str):
            return self.error(out, 400, "expected 1 inputs but got 0 inputs for model 'text_input'")
        if not isinstance(body.get("parameters", {}), dict):
            return self.error(out, 400, "parameters must be an object")
        status = self.take_failure()
        if status is not None:
            return self.error(out, status, "injected failure (protocol fake)")
        responses = self.responses(model, version or "1", body, action == "/generate_stream")
        if action == "/generate":
            return out.json(200, responses[0])
        out.start(b"text/event-stream")
        for n, response in enumerate(responses):
            if self.script.stream_error_after is not None and n >= self.script.stream_error_after:
                await out.chunk(
                    b"data: " + orjson.dumps({"error": "injected stream error"}) + b"\n\n"
                )
                break
            if not await out.chunk(b"data: " + orjson.dumps(response) + b"\n\n"):
                return
        out.end()

    def responses(
        self, model: str, version: str, body: dict[str, Any], stream: bool
    ) -> list[dict[str, Any]]:
        s = self.script
        pieces = s.split() if stream else [s.text]
        limit = (body.get("parameters") or {}).get("max_tokens") or body.get("max_tokens")
        finish = "length" if isinstance(limit, int) and limit <= s.output_tokens else "stop"
        per, extra = divmod(s.output_tokens, len(pieces))
        out = []
        for i, piece in enumerate(pieces):
            response: dict[str, Any] = {
                "model_name": model,
                "model_version": version,
                "text_output": piece,
            }
            if body.get("return_num_input_tokens"):
                response["num_input_tokens"] = s.prompt_tokens
            if body.get("return_num_output_tokens"):
                response["num_output_tokens"] = per + (extra if i == len(pieces) - 1 else 0)
            if body.get("return_finish_reason") and i == len(pieces) - 1:
                response["finish_reason"] = [finish]
            out.append(response)
        return out
