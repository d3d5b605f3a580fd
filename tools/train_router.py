"""Train the learned router shipped in the package (unitcost/data/router-default.json).

    python tools/train_router.py [--data ../shared/data] [--l2 L2]

Trained on every outcome dataset in ../shared/data, each weighing the same:
- RouteLLM's MMLU (14,037 non-contaminated prompts): label 1 where GPT-4-1106-preview
  answered correctly and Mixtral-8x7B-Instruct did not;
- pricing-reversal GPQA (198) and AIME (60): the share of (cheaper, better) pairs of its 8
  models where the better one scored higher.
`python bench/router_lodo.py` measures the same recipe with each dataset left out in turn.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from unitcost.routing.datasets import load_outcomes
from unitcost.routing.learned import (
    DEFAULT_ROUTER,
    TrainingSet,
    outcome_pairs,
    train_router,
)

ROOT = Path(__file__).resolve().parents[1]
MMLU_PAIR = ("mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview")


def training_sets(data: Path) -> list[TrainingSet]:
    sets = [TrainingSet(load_outcomes(data / "routellm-mmlu"), [MMLU_PAIR])]
    for part in load_outcomes(data / "pricing-reversal").by_group().values():
        sets.append(TrainingSet(part, outcome_pairs(part)))
    return sets


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--l2", type=float, default=None, help="default: chosen by inner validation")
    args = ap.parse_args()
    router = train_router(training_sets(Path(args.data)), l2=args.l2)
    path = ROOT / "src" / "unitcost" / "data" / DEFAULT_ROUTER
    router.save(path)
    print(f"wrote {path}: {router.meta}")


if __name__ == "__main__":
    main()
