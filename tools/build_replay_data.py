"""Build the replay set shipped in the package from ../shared/data/pricing-reversal.

    python tools/build_replay_data.py [--models gpt-5-mini,...]

Source: lchen001/pricing-reversal @69f5f1a (MIT), data/consolidated/{gpqa,aime}-*.json and
constant/model_info.json. Only what the replay backend and the demo use is kept: the prompt,
the recorded answer, its token counts, cost and score, and each model's list prices.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "pricing-reversal"
OUT = ROOT / "src" / "unitcost" / "data"
DEFAULT_MODELS = "claude-haiku-4.5,gpt-5-mini,gpt-5.2-high,gemini-3.1-pro-preview"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=DEFAULT_MODELS)
    models = ap.parse_args().models.split(",")
    info = json.loads((SOURCE / "model_info.json").read_text())
    prices = {m["model_name"]: m for m in info["models"]}
    questions: dict[str, dict[str, object]] = {}
    answers: dict[str, dict[str, object]] = {m: {} for m in models}
    for path in sorted(SOURCE.glob("*-*.json")):
        if path.name == "model_info.json":
            continue
        data = json.loads(path.read_text())
        model, dataset = data["model_name"], data["dataset_name"]
        for r in data["records"]:
            qid = f"{dataset}-{int(r['index']):03d}"
            questions[qid] = {
                "dataset": dataset,
                "prompt": r["prompt"],
                "ground_truth": str(r["ground_truth"]),
            }
            if model in answers:
                answers[model][qid] = {
                    "prompt_tokens": int(r["prompt_tokens"]),
                    "completion_tokens": int(r["completion_tokens"]),
                    "reasoning_tokens": int(r["thinking_tokens"]),
                    "cost": float(r["cost"]),
                    "score": float(r["score"]),
                    "answer": r["raw_output"],
                }
    out = {
        "source": "lchen001/pricing-reversal @69f5f1a (MIT): data/consolidated, constant/model_info.json",
        "prices_as_of": info["_metadata"]["last_updated"],
        "price_sources": info["_metadata"]["sources"],
        "questions": questions,
        "models": {
            m: {
                "provider": prices[m]["provider"],
                "input_usd_per_m": prices[m]["input_price_per_MTok"],
                "output_usd_per_m": prices[m]["output_price_per_MTok"],
                "cached_input_usd_per_m": prices[m].get("cached_input_price_per_MTok")
                or prices[m].get("cached_input_read_price_per_MTok"),
                "notes": prices[m].get("notes", ""),
                "answers": answers[m],
            }
            for m in models
        },
    }
    OUT.mkdir(parents=True, exist_ok=True)
    blob = json.dumps(out, separators=(",", ":"), sort_keys=True).encode()
    (OUT / "replay.json.gz").write_bytes(gzip.compress(blob, 9, mtime=0))
    shutil.copy(SOURCE / "LICENSE", OUT / "LICENSE-pricing-reversal")
    print(
        f"{len(questions)} questions × {len(models)} models → {len(blob):,} bytes, "
        f"{(OUT / 'replay.json.gz').stat().st_size:,} gzipped"
    )


if __name__ == "__main__":
    main()
