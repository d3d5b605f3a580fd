"""Train the cascade's answer verifier shipped in the package (data/cascade-verifier.json).

    python tools/train_cascade_verifier.py [--data ../shared/data/pricing-reversal]

Data: the recorded GPQA and AIME answers of the five cheaper models in pricing-reversal
(gpt-5-mini, claude-haiku-4.5, gemini-3-flash-preview, kimi-k2.5, MiniMax-M2.5): each
answer's text and billed tokens, labelled wrong where its recorded score is below 1.
`bench/cascade_eval.py` measures the recipe trained on one dataset and tested on the other.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from unitcost.routing.cascade import DEFAULT_ANSWER_VERIFIER, AnswerVerifier, answer_features

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "pricing-reversal"
CHEAP = ("gpt-5-mini", "claude-haiku-4.5", "gemini-3-flash-preview", "kimi-k2.5", "MiniMax-M2.5")


def as_completion(record: dict[str, Any]) -> dict[str, Any]:
    """A recorded answer as the OpenAI completion the gateway would have received."""
    return {
        "choices": [{"message": {"content": record["raw_output"]}, "finish_reason": "stop"}],
        "usage": {
            "completion_tokens": int(float(record["completion_tokens"])),
            "completion_tokens_details": {
                "reasoning_tokens": int(float(record["thinking_tokens"] or 0))
            },
        },
    }


def recorded(folder: Path) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """(dataset, model) → prompt → {body, score, cost}."""
    out: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for path in sorted(folder.glob("*-*.json")):
        if path.name == "model_info.json":
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        out[(data["dataset_name"], data["model_name"])] = {
            r["prompt"]: {
                "body": as_completion(r),
                "score": float(r["score"]),
                "cost": float(r["cost"]),
            }
            for r in data["records"]
        }
    return out


def train(answers, datasets: tuple[str, ...]) -> AnswerVerifier:  # type: ignore[no-untyped-def]
    rows, wrong, groups = [], [], []
    for (dataset, model), by_prompt in answers.items():
        if dataset in datasets and model in CHEAP:
            for a in by_prompt.values():
                rows.append(answer_features(a["body"]))
                wrong.append(float(a["score"] < 1))
                groups.append(f"{dataset}:{model}")  # effort is relative to the model's own
    verifier = AnswerVerifier.fit(np.asarray(rows), np.asarray(wrong), groups)
    verifier.meta["trained_on"] = (
        f"pricing-reversal {'+'.join(datasets)}, models {', '.join(CHEAP)}"
    )
    return verifier


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    args = ap.parse_args()
    verifier = train(recorded(Path(args.data)), ("gpqa", "aime"))
    path = ROOT / "src" / "unitcost" / "data" / DEFAULT_ANSWER_VERIFIER
    verifier.save(path)
    print(f"wrote {path}: {verifier.meta}")


if __name__ == "__main__":
    main()
