"""Task metrics: is this answer right?

    >>> score("gpqa", "...so the shift is 2 eV.\\nAnswer: C", "C")
    1.0
    >>> score("aime", "Thus $m+n=\\\\boxed{033}$.", "33")
    1.0

GPQA answers end with `Answer: LETTER`; AIME answers put an integer in `\\boxed{}`; both
prompts in the replay set ask for exactly that. The last match counts, as in the
original evaluation.
"""

from __future__ import annotations

import re

__all__ = ["extract", "score"]

# openai/simple-evals' ANSWER_PATTERN_MULTICHOICE, which scored the recorded answers
_LETTER = re.compile(r"(?i)Answer[ \t]*:[ \t]*\$?([A-D])\$?")
_BOXED = re.compile(r"\\boxed\s*\{([^{}]*)\}")


def extract(dataset: str, text: str) -> str | None:
    if dataset == "gpqa":
        found = _LETTER.findall(text)
        return found[-1].upper() if found else None
    if dataset == "aime":
        found = _BOXED.findall(text)
        if not found:
            return None
        return _number(found[-1])
    raise ValueError(f"dataset: unknown {dataset!r}; accepted: gpqa, aime")


def _number(value: str) -> str:
    value = value.replace("^\\circ", "").replace("°", "").replace(",", "").strip()
    return str(int(value)) if value.isdigit() else value


def score(dataset: str, text: str, ground_truth: str) -> float:
    got = extract(dataset, text)
    truth = _number(ground_truth) if dataset == "aime" else ground_truth.strip().upper()
    return 1.0 if got is not None and got == truth else 0.0
