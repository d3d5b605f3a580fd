"""Placeholders for personal data sent upstream, and their restoration in the answer.

    masker = Masker()
    masker.mask("write to ana@example.org", findings)   # "write to <EMAIL_1>"
    restore("Sent to <EMAIL_1>.", masker.originals)       # "Sent to ana@example.org."

The same value gets the same placeholder throughout a request, so a model can still tell
two people apart; numbering restarts with each request, so two requests that differ only in
the data masked are the same request upstream (and in the cache), whose answer is restored
with each one's own values. The originals live in memory for the request only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["PLACEHOLDER", "Masker", "partial_placeholder", "restore"]

PLACEHOLDER = re.compile(r"<([A-Z][A-Z_]{1,15})_(\d{1,4})>")
_PARTIAL = re.compile(r"<(?:[A-Z][A-Z_]{0,15}(?:_\d{0,4})?)?$")


class _Span(NamedTuple):
    kind: str
    start: int
    end: int
    value: str


class Masker:
    def __init__(self) -> None:
        self.originals: dict[str, str] = {}
        self._by_value: dict[tuple[str, str], str] = {}
        self._count: dict[str, int] = {}

    def placeholder(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self._by_value:
            n = self._count.get(kind, 0) + 1
            self._count[kind] = n
            token = f"<{kind.upper()}_{n}>"
            self._by_value[key] = token
            self.originals[token] = value
        return self._by_value[key]

    def mask(self, text: str, spans: Sequence[_Span | tuple[str, int, int, str]]) -> str:
        for kind, start, end, value in sorted(spans, key=lambda s: s[1], reverse=True):
            text = f"{text[:start]}{self.placeholder(kind, value)}{text[end:]}"
        return text


def restore(text: str, originals: dict[str, str]) -> str:
    if "<" not in text or not originals:
        return text
    return PLACEHOLDER.sub(lambda m: originals.get(m.group(0), m.group(0)), text)


def partial_placeholder(text: str) -> int:
    """How many characters at the end of `text` could be the start of a placeholder."""
    m = _PARTIAL.search(text[-24:])
    return len(m.group(0)) if m else 0
