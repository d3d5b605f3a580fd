"""OllamaProtocolServer: a local server of Ollama's native API wire format.

    server = await OllamaProtocolServer(models=("llama3.2",)).start()
    ollama.Client(host=server.url).chat(model="llama3.2", messages=[...])   # parses

`POST /api/chat`, `/api/generate` and `/api/embed`, `GET /api/tags` and `/api/version`, as
Ollama's API documentation shapes them: `stream` defaults to true and streams are NDJSON
(`application/x-ndjson`), one object per line, the last with `done: true`, `done_reason`
and the counts and durations (`prompt_eval_count`, `eval_count`, `*_duration` in
nanoseconds); tool calls carry `arguments` as an object; an unknown model is a 404 and
errors are `{"error": "..."}`, in a stream too. What it answers comes from the `Script`
(see protocol_server.py); it is not a model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from unitcost.testing.protocol_server import ProtocolServer, Request, Writer

__all__ = ["OllamaProtocolServer"]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


class OllamaProtocolServer(ProtocolServer):
    protocol = "ollama"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, models: tuple[str, ...] = ("llama3.2",)
    ):
        super().__init__(host, port)
        self.models = models

    @property
    def url(self) -> str:
        return self.base_url

    def error(self, out: Writer, status: int, message: str) -> None:
        out.json(status, {"error": message})

    async def respond(self, request: Request, out: Writer) -> None:
        path = request.path.split("?")[0]
        if request.method == "GET" and path == "/api/version":
            return out.json(200, {"version": "0.12.0"})
        if request.method == "GET" and path == "/api/tags":
            models = [
                {"name": m, "model": m, "modified_at": _now(), "size": 0, "digest": "0" * 64}
                for m in self.models
            ]
            return out.json(200, {"models": models})
        if request.method != "POST" or path not in ("/api/chat", "/api/generate", "/api/embed"):
            return self.error(out, 404, "404 page not found")
        try:
            body = self.record(request)
        except orjson.JSONDecodeError:
            return self.error(out, 400, "invalid character in request body")
        if not isinstance(body, dict) or not body.get("model"):
            return self.error(out, 400, "model is required")
        if body["model"] not in self.models:
            return self.error(out, 404, f"model '{body['model']}' not found")
        problem = self.check(path, body)
        if problem:
            return self.error(out, 400, problem)
        status = self.take_failure()
        if status is not None:
            return self.error(out, status, "injected failure (protocol fake)")
        if path == "/api/embed":
            inputs = body.get("input")
            n = len(inputs) if isinstance(inputs, list) else 1
            return out.json(
                200,
                {
                    "model": body["model"],
                    "embeddings": [[0.1, 0.2, 0.3]] * n,
                    "total_duration": 1_000_000,
                    "load_duration": 0,
                    "prompt_eval_count": self.script.prompt_tokens,
                },
            )
        lines = self.lines(path, body)
        if body.get("stream", True) is False:
            return out.json(200, self.merge(path, lines))
        out.start(b"application/x-ndjson")
        for n, line in enumerate(lines):
            if self.script.stream_error_after is not None and n >= self.script.stream_error_after:
                await out.chunk(
                    orjson.dumps({"error": "injected stream error (protocol fake)"}) + b"\n"
                )
                break
            if not await out.chunk(orjson.dumps(line) + b"\n"):
                return
        out.end()

    def check(self, path: str, body: dict[str, Any]) -> str | None:
        if path == "/api/chat":
            messages = body.get("messages")
            if not isinstance(messages, list):
                return "messages is required"
            for m in messages:
                if m.get("role") not in ("system", "user", "assistant", "tool"):
                    return f"invalid role: {m.get('role')}"
                if not isinstance(m.get("content", ""), str):
                    return "json: cannot unmarshal array into Go struct field Message.messages.content of type string"
                if any(not isinstance(i, str) for i in m.get("images") or []):
                    return "illegal base64 data in images"
                for call in m.get("tool_calls") or []:
                    if not isinstance((call.get("function") or {}).get("arguments"), dict):
                        return "tool_calls.function.arguments must be an object"
        elif path == "/api/generate" and not isinstance(body.get("prompt", ""), str):
            return "prompt must be a string"
        if not isinstance(body.get("options", {}), dict):
            return "options must be an object"
        return None

    def lines(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        s = self.script
        model, chat = body["model"], path == "/api/chat"
        out = []
        for piece in s.split():
            line: dict[str, Any] = {"model": model, "created_at": _now(), "done": False}
            if chat:
                line["message"] = {"role": "assistant", "content": piece}
            else:
                line["response"] = piece
            out.append(line)
        final: dict[str, Any] = {"model": model, "created_at": _now(), "done": True}
        if chat:
            final["message"] = {"role": "assistant", "content": ""}
            if s.tool_call and body.get("tools"):
                name, args = s.tool_call
                final["message"]["tool_calls"] = [{"function": {"name": name, "arguments": args}}]
        else:
            final["response"] = ""
        limit = (body.get("options") or {}).get("num_predict")
        final.update(
            done_reason="length"
            if isinstance(limit, int) and 0 < limit <= s.output_tokens
            else "stop",
            total_duration=5_000_000,
            load_duration=1_000_000,
            prompt_eval_count=s.prompt_tokens,
            prompt_eval_duration=1_000_000,
            eval_count=s.output_tokens,
            eval_duration=3_000_000,
        )
        if chat and s.thinking and body.get("think"):
            out[0]["message"]["thinking"] = s.thinking
        return [*out, final]

    @staticmethod
    def merge(path: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        """A stream's lines as the one object a non-streaming call answers."""
        final = dict(lines[-1])
        if path == "/api/chat":
            message = dict(final["message"])
            message["content"] = "".join(line["message"]["content"] for line in lines)
            thinking = "".join(line["message"].get("thinking", "") for line in lines)
            if thinking:
                message["thinking"] = thinking
            final["message"] = message
        else:
            final["response"] = "".join(line["response"] for line in lines)
        return final
