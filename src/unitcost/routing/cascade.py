"""Does the cheap answer look right? The verifier a cascade consults before escalating.

    verifier = AnswerVerifier.load()                    # shipped: GPQA + AIME answers
    verifier.doubt(completion_body)                     # P(the answer is wrong), 0..1
    doubt_reason(completion_body, max_doubt=0.5)        # None, or why to escalate
    disagreement(first_body, second_body)               # self-consistency: None if they agree

A cascade answers with the cheap model first. Three checks read that answer, none of which
needs the question's ground truth:

- format: the answer ends in the form the prompt asked for (`Answer: C`, `\\boxed{42}`);
- the model's own effort and confidence: how many tokens it spent (reasoning and visible:
  a model that thinks for long is often lost), hedging words, and the mean and lowest
  token logprob where the upstream returns logprobs;
- self-consistency: a second cheap answer (another sample, or another cheap model) that
  reaches a different final answer.

`AnswerVerifier` is a logistic regression over the first two, trained on recorded answers of
cheap models (`tools/train_cascade_verifier.py`); `bench/cascade_eval.py` measures the
cascade with RouteLLM's metrics, counting the cost of every call it makes.

Effort means something only against the same model's usual effort: across models, the ones
that reason longer are the *more* accurate; within one model, a question it reasons long
about is one it is more often wrong on. So features are centred per model in training, and
at run time against a running mean of the same model's recent answers (`DoubtMeter`,
keyed by the completion's `model`); until it has seen 20 answers, the training mean.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unitcost.errors import InputError
from unitcost.routing.classifier import LogisticRegression

__all__ = [
    "ANSWER_FEATURES",
    "DEFAULT_ANSWER_VERIFIER",
    "AnswerVerifier",
    "DoubtMeter",
    "answer_features",
    "default_meter",
    "disagreement",
    "doubt_reason",
    "final_answer",
]

DEFAULT_ANSWER_VERIFIER = "cascade-verifier.json"
FORMAT = 1
ANSWER_FEATURES = (
    "has_final_answer",
    "log_visible_tokens",
    "log_reasoning_tokens",
    "truncated",
    "hedges",
    "answers_given",
    "mean_logprob",
    "min_logprob",
    "has_logprobs",
)

_FINAL = (
    re.compile(r"answer\s*[:：]\s*[$*(\[\s]*([A-J])\b", re.I),
    re.compile(r"\\boxed\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}"),
    re.compile(r"final answer\s*(?:is)?\s*[:：]?\s*([^\n.]+)", re.I),
)
_HEDGES = re.compile(
    r"\b(maybe|perhaps|not sure|unsure|i think|likely|approximately|guess|unclear|"
    r"cannot be determined|can't be sure|might be|hmm|wait)\b",
    re.I,
)


def _choice(body: dict[str, Any]) -> dict[str, Any]:
    choices = body.get("choices") if isinstance(body, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else {}
    return first if isinstance(first, dict) else {}


def _text(body: dict[str, Any]) -> str:
    choice = _choice(body)
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    text = (message or {}).get("content") or choice.get("text") or ""
    return text if isinstance(text, str) else ""


def final_answer(text: str) -> str | None:
    """The last final answer the text states (a letter, a boxed value), normalised."""
    for pattern in _FINAL:
        found = pattern.findall(text)
        if found:
            return " ".join(str(found[-1]).split()).strip().upper().rstrip(".")
    return None


def _tokens(body: dict[str, Any], text: str) -> tuple[float, float]:
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    details = (usage or {}).get("completion_tokens_details") or {}
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else 0
    completion = (usage or {}).get("completion_tokens")
    reasoning_n = float(reasoning) if isinstance(reasoning, int | float) and reasoning > 0 else 0.0
    if isinstance(completion, int | float) and completion >= 0:
        return max(float(completion) - reasoning_n, 0.0), reasoning_n
    return len(text) / 4, reasoning_n  # no usage: about 4 characters a token


def answer_features(body: dict[str, Any]) -> list[float]:
    """The `ANSWER_FEATURES` of one OpenAI chat completion (or its recorded equivalent)."""
    text = _text(body)
    visible, reasoning = _tokens(body, text)
    choice = _choice(body)
    logprobs = (choice.get("logprobs") or {}).get("content") if isinstance(choice, dict) else None
    values = [
        float(t["logprob"])
        for t in (logprobs if isinstance(logprobs, list) else [])
        if isinstance(t, dict) and isinstance(t.get("logprob"), int | float)
    ]
    answers = sum(len(p.findall(text)) for p in _FINAL[:2])
    return [
        float(final_answer(text) is not None),
        math.log1p(visible),
        math.log1p(reasoning),
        float(choice.get("finish_reason") == "length"),
        math.log1p(len(_HEDGES.findall(text))),
        math.log1p(answers),
        float(np.mean(values)) if values else 0.0,
        float(min(values)) if values else 0.0,
        float(bool(values)),
    ]


def disagreement(first: dict[str, Any], second: dict[str, Any]) -> str | None:
    """Self-consistency: None if both answers reach the same final answer, else why not."""
    a, b = final_answer(_text(first)), final_answer(_text(second))
    if a is None or b is None:
        return "no final answer to compare"
    return None if a == b else f"two cheap answers disagree ({a!r} vs {b!r})"


@dataclass(frozen=True)
class AnswerVerifier:
    classifier: LogisticRegression
    scale: NDArray[np.float64]
    centre: NDArray[np.float64]  # mean features of the training answers
    meta: dict[str, Any] = field(default_factory=dict)

    def doubts(
        self, rows: NDArray[np.float64], centre: NDArray[np.float64] | None = None
    ) -> NDArray[np.float64]:
        """P(wrong) per row, the rows centred on `centre` (that model's usual answer)."""
        x = (rows - (self.centre if centre is None else centre)) / self.scale
        p: NDArray[np.float64] = self.classifier.predict(x)
        return p

    def doubt(self, body: dict[str, Any], centre: NDArray[np.float64] | None = None) -> float:
        """P(this answer is wrong)."""
        return float(self.doubts(np.asarray([answer_features(body)]), centre)[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "classifier": self.classifier.to_dict(),
            "scale": [float(x) for x in self.scale],
            "centre": [float(x) for x in self.centre],
            "meta": self.meta,
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path | None = None) -> AnswerVerifier:
        return _load(str(path) if path else None)

    @classmethod
    def fit(
        cls,
        rows: NDArray[np.float64],
        wrong: NDArray[np.float64],
        models: list[str],
        l2: float = 3.0,
    ) -> AnswerVerifier:
        """Rows of `answer_features`, 1 where the answer was wrong, which model gave it."""
        centred = rows.copy()
        labels = np.asarray(models)
        for m in np.unique(labels):
            centred[labels == m] -= rows[labels == m].mean(axis=0)
        spread = centred.std(axis=0)
        scale = np.where(spread > 1e-9, spread, 1.0)
        clf = LogisticRegression.fit(centred / scale, wrong, l2=l2)
        meta = {"answers": len(wrong), "wrong_share": float(wrong.mean())}
        return cls(clf, scale, rows.mean(axis=0), meta)


@cache
def _load(path: str | None) -> AnswerVerifier:
    if path is None:
        text = (resources.files("unitcost") / "data" / DEFAULT_ANSWER_VERIFIER).read_text("utf-8")
    elif Path(path).is_file():
        text = Path(path).read_text(encoding="utf-8")
    else:
        raise InputError(f"cascade verifier file {path!r} does not exist")
    data = json.loads(text)
    if data.get("format") != FORMAT:
        raise InputError(f"cascade verifier {path!r}: format {data.get('format')!r} is not 1")
    return AnswerVerifier(
        LogisticRegression.from_dict(data["classifier"]),
        np.asarray(data["scale"], dtype=np.float64),
        np.asarray(data["centre"], dtype=np.float64),
        data.get("meta", {}),
    )


class DoubtMeter:
    """Doubts against each model's recent answers: a running mean of the last `window`."""

    WARM = 20

    def __init__(self, verifier: AnswerVerifier | None = None, window: int = 500) -> None:
        self.verifier = verifier or AnswerVerifier.load()
        self.window = window
        self.recent: dict[str, deque[list[float]]] = {}
        self._lock = threading.Lock()

    def doubt(self, body: dict[str, Any]) -> float:
        row = answer_features(body)
        model = str(body.get("model", ""))
        with self._lock:
            seen = self.recent.setdefault(model, deque(maxlen=self.window))
            seen.append(row)
            centre = np.mean(seen, axis=0) if len(seen) >= self.WARM else None
        return float(self.verifier.doubts(np.asarray([row]), centre)[0])


@cache
def default_meter() -> DoubtMeter:
    return DoubtMeter()


def doubt_reason(
    body: dict[str, Any], max_doubt: float, meter: DoubtMeter | None = None
) -> str | None:
    """None if the verifier's doubt is at most `max_doubt`; else the escalation reason."""
    doubt = (meter or default_meter()).doubt(body)
    return (
        None if doubt <= max_doubt else f"verifier doubts the answer ({doubt:.2f} > {max_doubt:g})"
    )
