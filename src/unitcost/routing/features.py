"""What the router reads of a prompt: the whole of it, in well under a millisecond.

    featurize = PromptFeaturizer()
    x = featurize(["Which is a prime? A. 4 B. 6 C. 7 D. 9"])   # (1, N_FEATURES) floats
    featurize.names                                             # what each column is

A transformer over a whole prompt costs ~0.3 ms per word piece on a small CPU, so the router
reads the prompt through *static* MiniLM vectors instead: every word piece of the vocabulary
was run alone through all-MiniLM-L6-v2 once (`tools/distill_static_vectors.py`), its output
reduced to 64 principal components and stored as int8 (`data/minilm/static64.npz`, 2 MB,
Apache-2.0 like the model; see NOTICE). A prompt's features are then a table lookup:

- the mean vector of all its word pieces, of its first 64 and of its last 64 (head and tail:
  a shared instruction at either end is a constant there, which a linear model's ranking
  ignores and training removes by centring per dataset);
- its structure, over all of it: length (characters, words, lines, word pieces), digits,
  LaTeX and
  operators (math), code markers, multiple-choice options, non-ASCII and non-Latin letters
  (language), capitals, numbers, question marks, word length.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from unitcost.errors import InputError

__all__ = ["STRUCTURE", "PromptFeaturizer", "static_vectors", "structure_features"]

_INSTALL = "pip install 'unitcost[route]'"
STATIC_DIMENSIONS = 64
HEAD_TAIL = 64  # word pieces pooled at each end

STRUCTURE = (
    "log_chars",
    "log_words",
    "log_lines",
    "log_pieces",
    "digit_share",
    "upper_share",
    "non_ascii_share",
    "non_latin_share",
    "punct_share",
    "latex",
    "operators",
    "code",
    "choices",
    "log_numbers",
    "questions",
    "mean_word_len",
    "long_words",
)

_LATEX = re.compile(r"\\[a-zA-Z]+|\$|\\\[|\\\(")
_OPERATORS = re.compile(r"[=+\-*/^<>≤≥×÷∑∫√π]")
_CODE = re.compile(r"```|^\s{4,}\S|\bdef |\bclass |\breturn\b|#include|[;{}]\s*$|=>|::", re.M)
_CHOICES = re.compile(r"^[ \t]*\(?[A-Ja-j][\).:]\s", re.M)
_WIDE = re.compile(r"[^\x00-\u024f]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"\w+")


def structure_features(text: str) -> list[float]:
    """The `STRUCTURE` columns of one prompt: shares of characters, log counts, flags.
    (Counted with C-level string methods: a 6,000-character prompt costs ~0.3 ms.)"""
    n = max(len(text), 1)
    words = _WORD.findall(text)
    ascii_chars = len(text.encode("ascii", "ignore"))
    letters = sum(map(str.isalpha, text))
    wide = _WIDE.findall(text)  # beyond Latin Extended-B: other scripts, symbols
    non_latin = sum(map(str.isalpha, wide))
    word_lengths = [len(w) for w in words] or [0]
    alnum, spaces = sum(map(str.isalnum, text)), sum(map(str.isspace, text))
    return [
        float(np.log1p(len(text))),
        float(np.log1p(len(words))),
        float(np.log1p(text.count("\n"))),
        0.0,  # word pieces: filled in by the featurizer, which tokenizes anyway
        sum(map(str.isdigit, text)) / n,
        sum(map(str.isupper, text)) / n,
        (len(text) - ascii_chars) / n,
        non_latin / max(letters, 1),
        (len(text) - alnum - spaces) / n,
        float(np.log1p(len(_LATEX.findall(text)))),
        len(_OPERATORS.findall(text)) / n * 10,
        float(np.log1p(len(_CODE.findall(text)))),
        float(min(len(_CHOICES.findall(text)), 10)),
        float(np.log1p(len(_NUMBER.findall(text)))),
        float(np.log1p(text.count("?"))),
        float(np.mean(word_lengths)),
        sum(x >= 10 for x in word_lengths) / max(len(words), 1),
    ]


@cache
def static_vectors() -> NDArray[np.float32]:
    """The (30,522 × 64) static word-piece vectors distilled from all-MiniLM-L6-v2."""
    raw = np.load(str(resources.files("unitcost") / "data" / "minilm" / "static64.npz"))
    table: NDArray[np.float32] = raw["vectors"].astype(np.float32) * raw["scale"][None, :]
    return table


class PromptFeaturizer:
    """Whole-prompt features: pooled static vectors (whole, head, tail) and structure."""

    def __init__(self, max_chars: int = 3_000) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise InputError(f"the router needs the tokenizers package; `{_INSTALL}`") from None
        vocab = resources.files("unitcost") / "data" / "minilm" / "tokenizer.json"
        self.tokenizer = Tokenizer.from_str(vocab.read_text(encoding="utf-8"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.table = static_vectors()
        # The vectors of a prompt past `max_chars` are read from its first and last halves
        # (tokenizing costs ~5 µs a word piece here); its structure from all of it.
        self.max_chars = max_chars
        pooled = [f"{part}_{i}" for part in ("all", "head", "tail") for i in range(64)]
        self.names = [*pooled, *STRUCTURE]

    @property
    def width(self) -> int:
        return len(self.names)

    def _cut(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        half = self.max_chars // 2
        return text[:half] + "\n" + text[-half:]

    def __call__(self, texts: list[str]) -> NDArray[np.float64]:
        out = np.zeros((len(texts), self.width), dtype=np.float64)
        cut = [self._cut(t) for t in texts]
        encodings = self.tokenizer.encode_batch(cut, add_special_tokens=False)
        d = STATIC_DIMENSIONS
        for i, (text, part, enc) in enumerate(zip(texts, cut, encodings, strict=True)):
            ids = enc.ids or [100]  # [UNK] for an empty prompt
            vectors = self.table[ids]
            out[i, :d] = vectors.mean(axis=0)
            out[i, d : 2 * d] = vectors[:HEAD_TAIL].mean(axis=0)
            out[i, 2 * d : 3 * d] = vectors[-HEAD_TAIL:].mean(axis=0)
            structure = structure_features(text)
            pieces = len(enc.ids) * len(text) / max(len(part), 1)  # scaled up if cut
            structure[3] = float(np.log1p(pieces))
            out[i, 3 * d :] = structure
        return out
