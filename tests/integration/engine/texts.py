"""Varied texts for tokenizer parity: unicode, digits, code, whitespace, special tokens."""

from __future__ import annotations

import random

FRAGMENTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "It's they're we've I'm you'll he'd",
    "IT'S THEY'RE",
    "1234567890",
    "3.14159",
    "-42",
    "1,000,000",
    "$12.50",
    "2026-12-01T20:56:41Z",
    "def f(x):\n    return x ** 2\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "SELECT * FROM t WHERE id=7;",
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<repo_name>",
    "<file_sep>",
    "<|im_start|>user\nhi<|im_end|>",
    "naïve café résumé",
    "Ünïcödé",
    "日本語のテキスト",
    "中文字符测试",
    "한국어 문장",
    "Привет, мир",
    "مرحبا بالعالم",
    "שלום עולם",
    "😀🎉👍🏽",
    "👨‍👩‍👧‍👦",
    "e\u0301",
    "\u00a0non-breaking\u00a0space",
    "tab\tseparated\tvalues",
    "   leading spaces",
    "trailing spaces   ",
    "\n\n\nnewlines\n\n",
    "\r\nwindows\r\n",
    "a  b   c    d",
    "½ ¼ ² ³ ٣ ४ ௫",
    "Ⅻ roman ⅷ",
    "x²+y²=z²",
    "#include <stdio.h>",
    "https://example.com/path?q=1&r=2",
    "email@example.com",
    "C++ C# F# .NET",
    "```python\nprint('hi')\n```",
    '{"key": [1, 2, {"n": null}]}',
    "¿Qué tal? ¡Bien!",
    "ﬁ ligature",
    "İstanbul ıi",
    "ß ẞ",
    "Ωmega",
    "\u200bzero\u200bwidth",
    "...",
    "—–-",
    "'s",
    "'t",
    "''",
    "don't",
    "rock'n'roll",
    "0x1F 0b1010 1e-9",
    "   \t  \n  ",
    "!!!???",
    "Mr. Smith's",
]


def texts(n: int = 300, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = list(FRAGMENTS)
    while len(out) < n:
        k = rng.randint(1, 5)
        seps = [" ", "", "\n", "  ", "\t"]
        out.append("".join(rng.choice(FRAGMENTS) + rng.choice(seps) for _ in range(k)))
    return out
