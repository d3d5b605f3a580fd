"""AnthropicProtocolServer: a local server of Anthropic's Messages API wire format.

    server = await AnthropicProtocolServer().start()     # server.url → "http://127.0.0.1:PORT"
    anthropic.Anthropic(base_url=server.url, api_key="k").messages.create(...)   # parses

`POST /v1/messages`, JSON or SSE, as the published API shapes them: a key (`x-api-key`,
or `authorization: Bearer` as SDK 2.x sends it) and `anthropic-version` are required; the
body is checked the way the API checks it (model, max_tokens, roles, each `tool_result`
answering a `tool_use` of the turn before, at most 4 `cache_control` breakpoints, tools
with an `input_schema`); usage carries
`cache_creation_input_tokens` and `cache_read_input_tokens`; errors are
`{"type": "error", "error": {"type", "message"}}` with the API's status → type table; a
stream is message_start, ping, content_block_start/delta/stop per block (text_delta,
thinking_delta + signature_delta, input_json_delta), message_delta, message_stop. What it
answers comes from the `Script` (see protocol_server.py); it is not a model.
"""

from __future__ import annotations

from typing import Any

import orjson

from unitcost.testing.protocol_server import ProtocolServer, Request, Writer

__all__ = ["ERROR_TYPES", "AnthropicProtocolServer"]

#: HTTP status → the API's error type
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class _Invalid(Exception):
    pass


def _event(name: str, obj: dict[str, Any]) -> bytes:
    return b"event: %s\ndata: %s\n\n" % (name.encode(), orjson.dumps({"type": name, **obj}))


class AnthropicProtocolServer(ProtocolServer):
    protocol = "anthropic"

    @property
    def url(self) -> str:
        return self.base_url

    def error(self, out: Writer, status: int, message: str) -> None:
        kind = ERROR_TYPES.get(status, "api_error")
        out.json(status, {"type": "error", "error": {"type": kind, "message": message}})

    async def respond(self, request: Request, out: Writer) -> None:
        if request.method != "POST" or request.path.split("?")[0] != "/v1/messages":
            return self.error(out, 404, f"Not found: {request.method} {request.path}")
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not (request.headers.get("x-api-key") or bearer):  # the SDK ≥ 2 sends a bearer
            return self.error(out, 401, "x-api-key header is required")
        if not request.headers.get("anthropic-version"):
            return self.error(out, 400, "anthropic-version: header is required")
        try:
            body = self.record(request)
            self.check(body)
        except orjson.JSONDecodeError:
            return self.error(out, 400, "request body is not valid JSON")
        except _Invalid as exc:
            return self.error(out, 400, str(exc))
        status = self.take_failure()
        if status is not None:
            return self.error(out, status, "injected failure (protocol fake)")
        blocks = self.blocks(body)
        if body.get("stream"):
            await self.stream(body, blocks, out)
        else:
            out.json(200, self.message(body, blocks, self.usage(self.script.output_tokens)))

    def check(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise _Invalid("body: expected an object")
        if not isinstance(body.get("model"), str):
            raise _Invalid("model: Field required")
        if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
            raise _Invalid("max_tokens: Field required (an integer >= 1)")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _Invalid("messages: at least one message is required")
        breakpoints = 0
        system = body.get("system")
        if isinstance(system, list):
            breakpoints += sum(1 for b in system if isinstance(b, dict) and "cache_control" in b)
        elif system is not None and not isinstance(system, str):
            raise _Invalid("system: Input should be a valid string or list of text blocks")
        previous_tool_ids: set[str] = set()
        for i, m in enumerate(messages):
            if m.get("role") not in ("user", "assistant"):
                raise _Invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
            content = m.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            if not isinstance(blocks, list):
                raise _Invalid(f"messages.{i}.content: Input should be a valid list")
            tool_ids = set()
            for j, b in enumerate(blocks):
                kind = b.get("type")
                breakpoints += "cache_control" in b
                if kind == "tool_use":
                    if not (b.get("id") and b.get("name") and isinstance(b.get("input"), dict)):
                        raise _Invalid(f"messages.{i}.content.{j}: tool_use needs id, name, input")
                    tool_ids.add(b["id"])
                elif kind == "tool_result":
                    if b.get("tool_use_id") not in previous_tool_ids:
                        raise _Invalid(
                            f"messages.{i}.content.{j}: unexpected `tool_use_id` found in "
                            "`tool_result` blocks: each tool_result block must have a "
                            "corresponding tool_use block in the previous message"
                        )
                elif kind == "image":
                    if (b.get("source") or {}).get("type") not in ("base64", "url"):
                        raise _Invalid(f"messages.{i}.content.{j}.source: base64 or url")
                elif kind not in ("text", "thinking", "redacted_thinking"):
                    raise _Invalid(f"messages.{i}.content.{j}.type: {kind!r} is not accepted")
            previous_tool_ids = tool_ids
        for k, tool in enumerate(body.get("tools") or []):
            breakpoints += "cache_control" in tool
            if not tool.get("name") or not isinstance(tool.get("input_schema"), dict):
                raise _Invalid(f"tools.{k}: name and input_schema are required")
        if breakpoints > 4:
            raise _Invalid(
                f"A maximum of 4 blocks with cache_control may be provided. Found {breakpoints}."
            )

    def blocks(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        s = self.script
        out: list[dict[str, Any]] = []
        if s.thinking and (body.get("thinking") or {}).get("type") == "enabled":
            out.append({"type": "thinking", "thinking": s.thinking, "signature": "sig-fake"})
        choice = (body.get("tool_choice") or {}).get("type")
        if s.tool_call and body.get("tools") and choice != "none":
            name, args = s.tool_call
            out.append({"type": "text", "text": s.text})
            out.append({"type": "tool_use", "id": "toolu_fake01", "name": name, "input": args})
        else:
            out.append({"type": "text", "text": s.text})
        return out

    def usage(self, output_tokens: int) -> dict[str, Any]:
        s = self.script
        return {
            "input_tokens": s.input_tokens,
            "cache_creation_input_tokens": s.cache_write_tokens,
            "cache_read_input_tokens": s.cache_read_tokens,
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }

    def message(
        self, body: dict[str, Any], content: list[dict[str, Any]], usage: dict[str, Any]
    ) -> dict[str, Any]:
        tool = any(b["type"] == "tool_use" for b in content)
        return {
            "id": "msg_fake01",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": "tool_use" if tool else "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }

    async def stream(self, body: dict[str, Any], blocks: list[dict[str, Any]], out: Writer) -> None:
        s = self.script
        events = [_event("message_start", {"message": self.message(body, [], self.usage(1))})]
        events[0] = events[0].replace(b'"stop_reason":"end_turn"', b'"stop_reason":null')
        events.append(_event("ping", {}))
        for i, b in enumerate(blocks):
            start: dict[str, Any] = {
                "text": {"type": "text", "text": ""},
                "thinking": {"type": "thinking", "thinking": "", "signature": ""},
            }.get(b["type"], {**b, "input": {}})
            events.append(_event("content_block_start", {"index": i, "content_block": start}))
            if b["type"] == "text":
                deltas = [{"type": "text_delta", "text": p} for p in s.split(b["text"])]
            elif b["type"] == "thinking":
                deltas = [{"type": "thinking_delta", "thinking": p} for p in s.split(b["thinking"])]
                deltas.append({"type": "signature_delta", "signature": b["signature"]})
            else:
                args = orjson.dumps(b["input"]).decode()
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in s.split(args)]
            for delta in deltas:
                events.append(_event("content_block_delta", {"index": i, "delta": delta}))
            events.append(_event("content_block_stop", {"index": i}))
        reason = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
        end: dict[str, Any] = {
            "delta": {"stop_reason": reason, "stop_sequence": None},
            "usage": {"output_tokens": s.output_tokens},
        }
        events.append(_event("message_delta", end))
        events.append(_event("message_stop", {}))
        out.start(b"text/event-stream; charset=utf-8")
        for n, event in enumerate(events):
            if s.stream_error_after is not None and n >= s.stream_error_after:
                error = {
                    "type": "overloaded_error",
                    "message": "Overloaded (injected, protocol fake)",
                }
                await out.chunk(_event("error", {"error": error}))
                break
            if not await out.chunk(event):
                return
        out.end()
