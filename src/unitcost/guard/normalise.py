"""Unicode normalisation before any check, so invisible characters cannot hide a word.

    normalise("ig\u200bnore previous instructions")   # Normalised("ignore previous ...", 1)
    normalise("ｉｇｎｏｒｅ")                             # NFKC folds full-width letters

NFKC folds compatibility forms (full-width letters, ligatures, superscripts) into the plain
letters every later check matches on; then zero-width characters, Unicode tag characters
(U+E0000–E007F, used to smuggle invisible ASCII), bidirectional controls (which reorder what
a person sees) and the supplementary variation selectors are removed. ASCII text is already
normal and skips both steps.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

__all__ = ["INVISIBLE", "Normalised", "normalise", "strip_invisible"]

_ZERO_WIDTH = [
    0x00AD,
    0x180E,
    0x200B,
    0x200C,
    0x200D,
    0x2060,
    0x2061,
    0x2062,
    0x2063,
    0x2064,
    0xFEFF,
]
_BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_TAGS = list(range(0xE0000, 0xE0080))
_SELECTORS = list(range(0xE0100, 0xE01F0))
INVISIBLE: frozenset[int] = frozenset(_ZERO_WIDTH + _BIDI + _TAGS + _SELECTORS)


def _ranges(points: frozenset[int]) -> str:
    """A regex character class of ranges: one test per character, where a class of 560
    single characters (or str.translate with a dict) costs milliseconds on 4 KB."""
    out: list[tuple[int, int]] = []
    run: list[int] = []
    for c in sorted(points):
        if run and c == run[-1] + 1:
            run.append(c)
            continue
        if run:
            out.append((run[0], run[-1]))
        run = [c]
    out.append((run[0], run[-1]))
    return "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in out)


_DROP = re.compile(f"[{_ranges(INVISIBLE)}]")


class Normalised(NamedTuple):
    text: str
    removed: int  # invisible characters removed


def normalise(text: str) -> Normalised:
    if text.isascii():
        return Normalised(text, 0)
    folded = unicodedata.normalize("NFKC", text)
    clean, removed = _DROP.subn("", folded)
    return Normalised(clean, removed)


def strip_invisible(text: str) -> str:
    """The text with only the invisible characters removed, no compatibility folding: what
    goes upstream when no check rewrote it (NFKC would turn `x²` into `x2`)."""
    return text if text.isascii() else _DROP.sub("", text)
