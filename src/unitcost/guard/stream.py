"""Watch a streamed answer: stop at the canary, restore placeholders across chunk cuts.

    watch = StreamWatch(canary="uc-canary-…", originals={"<EMAIL_1>": "ana@example.org"},
                        deployment="gpt-5-mini")
    for chunk in upstream_chunks:
        client.send(watch.feed(chunk))      # raises GuardOutputBlocked at the canary
    client.send(watch.close())

Bytes are split into server-sent events; each JSON event's texts (`delta.content`,
`delta.reasoning_content`, tool-call arguments, a completion's `text`) are followed per
choice, so a canary or a placeholder cut across two events is still seen whole. Without
placeholders to restore, events are forwarded byte for byte and only read. With them, a text
that ends in what may be the start of a placeholder keeps that tail until the next event
(or the choice's finish) shows what it is.
"""

from __future__ import annotations

from typing import Any

import orjson

from unitcost.guard.canary import CanaryWatch
from unitcost.guard.mask import partial_placeholder, restore
from unitcost.guard.verdict import GuardOutputBlocked

__all__ = ["StreamWatch"]

_TEXT_KEYS = ("content", "reasoning_content", "text")


def _slots(choice: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(slot id, the dict that holds the text, its key) for each text in a choice."""
    out: list[tuple[str, dict[str, Any], str]] = []
    delta: dict[str, Any] = choice["delta"] if isinstance(choice.get("delta"), dict) else choice
    for key in _TEXT_KEYS:
        if isinstance(delta.get(key), str):
            out.append((key, delta, key))
    for call in delta.get("tool_calls") or []:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
            out.append((f"tool{call.get('index', 0)}", fn, "arguments"))
    return out


class StreamWatch:
    def __init__(
        self, *, canary: str | None, originals: dict[str, str], deployment: str = ""
    ) -> None:
        self.canary, self.originals, self.deployment = canary, originals, deployment
        self._buffer = b""
        self._watch: dict[tuple[int, str], CanaryWatch] = {}
        self._held: dict[tuple[int, str], str] = {}
        self._template: dict[str, Any] | None = None

    def feed(self, chunk: bytes) -> bytes:
        self._buffer += chunk
        out = []
        while True:
            cut, width = self._buffer.find(b"\n\n"), 2
            crlf = self._buffer.find(b"\r\n\r\n")
            if crlf >= 0 and (cut < 0 or crlf < cut):
                cut, width = crlf, 4
            if cut < 0:
                break
            event, self._buffer = self._buffer[: cut + width], self._buffer[cut + width :]
            out.append(self._event(event))
        return b"".join(out)

    def close(self) -> bytes:
        """What is still buffered: an unterminated event, and any held text."""
        rest, self._buffer = self._buffer, b""
        return self._flush_held() + (self._event(rest) if rest.strip() else rest)

    def _event(self, event: bytes) -> bytes:
        start = event.find(b"data:")
        if start < 0:
            return event
        payload = event[start + 5 :].strip()
        if payload == b"[DONE]":
            return self._flush_held() + event
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return event  # not ours to judge; the relay validates what it meters
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            return event
        changed = False
        for choice in data["choices"]:
            if isinstance(choice, dict):
                changed |= self._choice(choice)
        if not changed:
            return event
        self._template = data
        return b"data: " + orjson.dumps(data) + b"\n\n"

    def _choice(self, choice: dict[str, Any]) -> bool:
        index = choice.get("index", 0) if isinstance(choice.get("index"), int) else 0
        changed = False
        for slot, holder, key in _slots(choice):
            text = holder[key]
            if self.canary:
                watch = self._watch.setdefault((index, slot), CanaryWatch(self.canary))
                if watch.feed(text):
                    raise GuardOutputBlocked(self.deployment)
            if self.originals:
                text = self._held.pop((index, slot), "") + text
                # tool-call arguments are restored whole-placeholder only: JSON fragments
                # cannot be held back and re-emitted as their own event
                hold = not choice.get("finish_reason") and slot in _TEXT_KEYS
                keep = partial_placeholder(text) if hold else 0
                if keep:
                    self._held[(index, slot)] = text[-keep:]
                    text = text[:-keep]
                holder[key] = restore(text, self.originals)
                changed = True
        if choice.get("finish_reason") and self.originals:
            changed |= self._release_into(choice, index)
        return changed

    def _release_into(self, choice: dict[str, Any], index: int) -> bool:
        held = {s: t for (i, s), t in self._held.items() if i == index}
        if not held:
            return False
        delta = (
            choice.setdefault("delta", {}) if "delta" in choice or "text" not in choice else choice
        )
        for slot, text in held.items():
            del self._held[(index, slot)]
            if slot in _TEXT_KEYS:
                delta[slot] = delta.get(slot, "") + restore(text, self.originals)
        return True

    def _flush_held(self) -> bytes:
        if not self._held:
            return b""
        base = {k: v for k, v in (self._template or {}).items() if k != "usage"}
        events = []
        for (index, slot), text in sorted(self._held.items()):
            if slot not in _TEXT_KEYS:
                continue
            choice: dict[str, Any] = {"index": index, "finish_reason": None}
            if slot == "text":
                choice["text"] = restore(text, self.originals)
            else:
                choice["delta"] = {slot: restore(text, self.originals)}
            events.append(b"data: " + orjson.dumps({**base, "choices": [choice]}) + b"\n\n")
        self._held.clear()
        return b"".join(events)
