"""OpenAIProtocolServer: a local server of OpenAI's chat completions wire format, with the
usage habits of the servers that imitate it.

    server = await OpenAIProtocolServer(usage="with_finish").start()   # TGI-like
    openai.OpenAI(base_url=server.url, api_key="k").chat.completions.create(...)

`POST /v1/chat/completions` and `/v1/completions`, JSON or SSE: tool calls (`tool_calls`
with JSON-string arguments, streamed as an opening entry then argument pieces),
`reasoning_content` deltas, `usage` with `prompt_tokens_details.cached_tokens`, errors
`{"error": {message, type, param, code}}`, `data: [DONE]`. `usage` says where a stream's
usage goes, as the servers the gateway fronts differ:

- `final_chunk`: a last chunk with `choices: []`, only when `stream_options.include_usage`
  is set (OpenAI, vLLM, recent llama.cpp);
- `with_finish`: on the chunk that carries `finish_reason`, whether asked or not;
- `every_chunk`: cumulative usage on every chunk (vLLM's `continuous_usage_stats`);
- `none`: never in a stream (older servers; the gateway then counts with the tokenizer).

`refuse_stream_options` answers 400 to any request with `stream_options`, as servers that
validate strictly do. What it answers comes from the `Script`; it is not a model.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from unitcost.testing.protocol_server import ProtocolServer, Request, Writer

__all__ = ["OpenAIProtocolServer", "UsagePlacement"]

UsagePlacement = Literal["final_chunk", "with_finish", "every_chunk", "none"]
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


class OpenAIProtocolServer(ProtocolServer):
    protocol = "openai"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        usage: UsagePlacement = "final_chunk",
        refuse_stream_options: bool = False,
    ) -> None:
        super().__init__(host, port)
        self.usage_placement = usage
        self.refuse_stream_options = refuse_stream_options

    @property
    def url(self) -> str:
        return self.base_url + "/v1"

    def error(self, out: Writer, status: int, message: str, param: str | None = None) -> None:
        kind = _TYPES.get(status, "server_error")
        out.json(
            status, {"error": {"message": message, "type": kind, "param": param, "code": None}}
        )

    def usage(self, generated: int | None = None) -> dict[str, Any]:
        s = self.script
        completion = s.output_tokens if generated is None else generated
        out: dict[str, Any] = {
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": s.prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": s.cache_read_tokens},
        }
        if s.reasoning_tokens:
            out["completion_tokens_details"] = {"reasoning_tokens": s.reasoning_tokens}
        return out

    async def respond(self, request: Request, out: Writer) -> None:
        path = request.path.split("?")[0]
        if request.method != "POST" or path not in ("/v1/chat/completions", "/v1/completions"):
            return self.error(out, 404, f"Unknown request URL: {request.method} {path}")
        try:
            body = self.record(request)
        except orjson.JSONDecodeError:
            return self.error(out, 400, "We could not parse the JSON body of your request.")
        chat = path.endswith("/chat/completions")
        field = "messages" if chat else "prompt"
        if (
            not isinstance(body, dict)
            or field not in body
            or not isinstance(body.get("model"), str)
        ):
            return self.error(out, 400, f"Missing required parameter: '{field}'.", field)
        if self.refuse_stream_options and "stream_options" in body:
            return self.error(
                out, 400, "Unrecognized request argument supplied: stream_options", "stream_options"
            )
        status = self.take_failure()
        if status is not None:
            return self.error(out, status, "injected failure (protocol fake)")
        s = self.script
        call = (
            s.tool_call
            if chat and body.get("tools") and body.get("tool_choice") != "none"
            else None
        )
        base = {
            "id": "chatcmpl-fake" if chat else "cmpl-fake",
            "created": 1,
            "model": body["model"],
        }
        finish = "tool_calls" if call else "stop"
        if not body.get("stream"):
            choice: dict[str, Any]
            if chat:
                message: dict[str, Any] = {"role": "assistant", "content": s.text}
                if s.thinking:
                    message["reasoning_content"] = s.thinking
                if call:
                    message["tool_calls"] = [self._call(call)]
                choice = {"index": 0, "message": message, "finish_reason": finish}
            else:
                choice = {"index": 0, "text": s.text, "finish_reason": finish}
            kind = "chat.completion" if chat else "text_completion"
            return out.json(
                200, {**base, "object": kind, "choices": [choice], "usage": self.usage()}
            )
        await self._stream(body, base, chat, call, finish, out)

    @staticmethod
    def _call(call: tuple[str, dict[str, Any]]) -> dict[str, Any]:
        name, args = call
        return {
            "id": "call_fake01",
            "type": "function",
            "function": {"name": name, "arguments": orjson.dumps(args).decode()},
        }

    async def _stream(
        self,
        body: dict[str, Any],
        base: dict[str, Any],
        chat: bool,
        call: tuple[str, dict[str, Any]] | None,
        finish: str,
        out: Writer,
    ) -> None:
        s = self.script
        kind = "chat.completion.chunk" if chat else "text_completion"
        choices: list[dict[str, Any]] = []
        if chat:
            choices.append({"delta": {"role": "assistant", "content": ""}})
            if s.thinking:
                choices += [{"delta": {"reasoning_content": p}} for p in s.split(s.thinking)]
            choices += [{"delta": {"content": p}} for p in s.split()]
            if call:
                opening = self._call(call)
                args = opening["function"]["arguments"]
                opening["function"]["arguments"] = ""
                choices.append({"delta": {"tool_calls": [{"index": 0, **opening}]}})
                pieces = s.split(args)
                choices += [
                    {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": p}}]}}
                    for p in pieces
                ]
            choices.append({"delta": {}, "finish_reason": finish})
        else:
            choices += [{"text": p} for p in s.split()]
            choices.append({"text": "", "finish_reason": finish})
        asked = (body.get("stream_options") or {}).get("include_usage") is True
        events = []
        for i, c in enumerate(choices):
            chunk: dict[str, Any] = {
                **base,
                "object": kind,
                "choices": [{"index": 0, "finish_reason": None, **c}],
            }
            last = i == len(choices) - 1
            if self.usage_placement == "every_chunk":
                chunk["usage"] = self.usage(
                    generated=round(s.output_tokens * (i + 1) / len(choices))
                )
            elif self.usage_placement == "with_finish" and last:
                chunk["usage"] = self.usage()
            events.append(chunk)
        if self.usage_placement == "final_chunk" and asked:
            events.append({**base, "object": kind, "choices": [], "usage": self.usage()})
        out.start(b"text/event-stream")
        for n, event in enumerate(events):
            if s.stream_error_after is not None and n >= s.stream_error_after:
                error = {
                    "message": "injected stream error (protocol fake)",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
                await out.chunk(b"data: " + orjson.dumps({"error": error}) + b"\n\n")
                break
            if not await out.chunk(b"data: " + orjson.dumps(event) + b"\n\n"):
                return
        else:
            if not await out.chunk(b"data: [DONE]\n\n"):
                return
        out.end()
