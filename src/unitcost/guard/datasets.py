"""The labelled sets the guard is trained and measured on (read from disk, never fetched).

    ctx, attacks = bipia_parts(Path("../shared/data/bipia"), "test")
    texts, labels = bipia_indirect(ctx, attacks, per_attack=8, seed=0)   # 1 = attacked
    rows = presidio_pii(Path("../shared/data/presidio-pii"))             # text + spans

BIPIA (microsoft/BIPIA, MIT) ships contexts (e-mails, tables, code) and attack instructions,
each in train and test parts with different attack categories. An attacked text is a context
with one attack planted at its start, its end or between two of its sentences, as BIPIA's
own `insert_start/insert_end/insert_middle` do; a clean text is the context alone.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PiiRow", "bipia_indirect", "bipia_parts", "plant", "presidio_pii"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_TEXT_TASKS = ("email", "table")


def bipia_parts(root: Path, split: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Contexts by task (email, table, code) and attacks by kind (text, code) of one split."""
    contexts: dict[str, list[str]] = {}
    for task in ("email", "table", "code"):
        path = root / task / f"{split}.jsonl"
        if path.exists():
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            contexts[task] = [_context(r["context"]) for r in rows if r.get("context")]
    attacks = {}
    for kind in ("text", "code"):
        groups = json.loads((root / f"{kind}_attack_{split}.json").read_text(encoding="utf-8"))
        attacks[kind] = [a for group in groups.values() for a in group]
    return contexts, attacks


def _context(value: object) -> str:
    return "\n".join(map(str, value)) if isinstance(value, list) else str(value)


def plant(context: str, attack: str, where: str, rng: random.Random) -> str:
    """The context with the attack at its start, its end, or between two sentences."""
    if where == "start":
        return f"{attack}\n{context}"
    if where == "end":
        return f"{context}\n{attack}"
    sentences = _SENTENCE.split(context)
    sentences.insert(rng.randint(0, len(sentences)), attack)
    return " ".join(sentences)


def bipia_indirect(
    contexts: dict[str, list[str]],
    attacks: dict[str, list[str]],
    per_attack: int = 8,
    seed: int = 0,
) -> tuple[list[str], list[int], list[str]]:
    """Attacked texts (each attack in `per_attack` random contexts of its kind) then every
    clean context; labels 1/0; and each text's task."""
    rng = random.Random(seed)
    texts, labels, tasks = [], [], []
    for kind, planted in attacks.items():
        pool = [
            (task, c)
            for task in (_TEXT_TASKS if kind == "text" else ("code",))
            for c in contexts.get(task, [])
        ]
        for attack in planted:
            for task, context in rng.sample(pool, min(per_attack, len(pool))):
                where = rng.choice(("start", "middle", "end"))
                texts.append(plant(context, attack, where, rng))
                labels.append(1)
                tasks.append(task)
    for task, clean in contexts.items():
        texts += clean
        labels += [0] * len(clean)
        tasks += [task] * len(clean)
    return texts, labels, tasks


@dataclass(frozen=True)
class PiiRow:
    text: str
    spans: tuple[tuple[str, int, int], ...]  # (entity type, start, end)


def presidio_pii(root: Path) -> list[PiiRow]:
    """presidio-research's synthetic PII set (MIT): texts with labelled entity spans."""
    rows = json.loads((root / "synth_dataset_v2.json").read_text(encoding="utf-8"))
    return [
        PiiRow(
            r["full_text"],
            tuple(
                (s["entity_type"], int(s["start_position"]), int(s["end_position"]))
                for s in r["spans"]
            ),
        )
        for r in rows
    ]
