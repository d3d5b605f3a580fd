"""The text of an OpenAI request, as routing, caching, replay and token counting read it.

prompt_text(body)      # the last user message (or a completion's prompt)
conversation(body)     # every message as "role: text", one per line
"""

from __future__ import annotations

from typing import Any

__all__ = ["content_text", "conversation", "prompt_text"]


def content_text(content: Any) -> str:
    """A message's content as text: a string, or the text parts of a list of parts."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def prompt_text(body: dict[str, Any]) -> str:
    """The text a request asks about: the last user message, or a completion prompt."""
    if isinstance(body.get("prompt"), str):
        return str(body["prompt"])
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def conversation(body: dict[str, Any]) -> str:
    """Every message's text, for length rules and the semantic cache."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return prompt_text(body)
    return "\n".join(
        f"{m.get('role', '')}: {content_text(m.get('content'))}"
        for m in messages
        if isinstance(m, dict)
    )
