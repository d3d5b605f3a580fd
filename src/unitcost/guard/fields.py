"""Every piece of text in an OpenAI request, read and rewritten in one walk.

    def shout(text: str, at: Where) -> str:
        return text.upper() if at.role == "user" else text
    new_body, changed = map_texts(body, "chat/completions", shout)

Chat: each message's content (a string, or the `text` of each content part) and each
assistant tool call's arguments; completions: `prompt` (a string or a list of them);
embeddings: `input` (likewise; token arrays are left alone). Containers are copied only
where a text changed, so an untouched request is returned as it came.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["Where", "map_texts"]


class Where(NamedTuple):
    role: str  # "user", "system", "assistant", "tool", ... ; "prompt" / "input" outside chat
    position: int  # the message's position (or the prompt's, in a list)
    name: str | None  # the message's `name`
    part: str  # "content", "arguments", "prompt", "input"


Rewrite = Callable[[str, Where], str]


def _strings(value: Any, fn: Rewrite, at: Where) -> tuple[Any, bool]:
    if isinstance(value, str):
        new = fn(value, at)
        return new, new != value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        out = [fn(v, at._replace(position=i)) for i, v in enumerate(value)]
        return out, out != value
    return value, False


def _message(m: dict[str, Any], i: int, fn: Rewrite) -> tuple[dict[str, Any], bool]:
    role = str(m.get("role", ""))
    name = m.get("name") if isinstance(m.get("name"), str) else None
    at = Where(role, i, name, "content")
    content, changed = m.get("content"), False
    if isinstance(content, str):
        new = fn(content, at)
        content, changed = new, new != content
    elif isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, dict) and isinstance(p.get("text"), str):
                new = fn(p["text"], at)
                if new != p["text"]:
                    p, changed = {**p, "text": new}, True
            parts.append(p)
        content = parts
    calls = m.get("tool_calls")
    if isinstance(calls, list):
        new_calls, any_call = [], False
        for c in calls:
            fnc = c.get("function") if isinstance(c, dict) else None
            if isinstance(fnc, dict) and isinstance(fnc.get("arguments"), str):
                new = fn(fnc["arguments"], at._replace(part="arguments"))
                if new != fnc["arguments"]:
                    c, any_call = {**c, "function": {**fnc, "arguments": new}}, True
            new_calls.append(c)
        if any_call:
            return {**m, "content": content, "tool_calls": new_calls}, True
    return ({**m, "content": content}, True) if changed else (m, False)


def map_texts(body: dict[str, Any], endpoint: str, fn: Rewrite) -> tuple[dict[str, Any], bool]:
    if endpoint == "chat/completions":
        messages = body.get("messages")
        if not isinstance(messages, list):
            return body, False
        out, changed = [], False
        for i, m in enumerate(messages):
            if isinstance(m, dict):
                m, c = _message(m, i, fn)
                changed |= c
            out.append(m)
        return ({**body, "messages": out}, True) if changed else (body, False)
    field = {"completions": "prompt", "embeddings": "input"}.get(endpoint)
    if field is None or field not in body:
        return body, False
    value, changed = _strings(body[field], fn, Where(field, 0, None, field))
    return ({**body, field: value}, True) if changed else (body, False)
