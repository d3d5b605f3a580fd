"""Per-query outcomes of several models: the data routers learn from and are judged on.

    data = load_outcomes("../shared/data/routellm-mmlu")       # RouteLLM's MMLU CSVs
    data = load_outcomes("../shared/data/pricing-reversal")    # recorded answers + real costs
    data = load_outcomes("my.csv")   # prompt, [group], one score column per model, [cost:MODEL]

Scores are correctness (0/1) or any score where higher is better (a 1–10 judge score, say):
`Outcomes.percent` says whether they are shares, shown as %, or points. Costs are dollars
per query: real where the data records them, else estimated from the prompt's tokens and a
stated price, and `cost_source` says which. Pricing-reversal records are matched across
model files by their question text, never by position.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from unitcost.errors import InputError
from unitcost.yamlfile import read_text

__all__ = ["ROUTELLM_PRICES", "Outcomes", "load_outcomes"]

#: blended $/1M tokens the RouteLLM paper prices its pair at (arXiv 2406.18665, §5)
ROUTELLM_PRICES = {"gpt-4-1106-preview": 24.7, "mistralai/Mixtral-8x7B-Instruct-v0.1": 0.24}
ROUTELLM_PRICE_SOURCE = (
    "RouteLLM paper (arXiv 2406.18665): GPT-4 $24.7/M and Mixtral-8x7B "
    "$0.24/M tokens, blended; prompt tokens counted with cl100k_base, "
    "1 answer token (MMLU answers one letter)"
)


@dataclass
class Outcomes:
    name: str
    prompts: list[str]
    groups: list[str]
    scores: dict[str, NDArray[np.float64]]
    costs: dict[str, NDArray[np.float64]]
    cost_source: str

    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.prompts)

    @property
    def percent(self) -> bool:
        """True when every score is a share in [0, 1] (shown as %), else points."""
        return all(bool(((v >= 0) & (v <= 1)).all()) for v in self.scores.values())

    def by_group(self) -> dict[str, Outcomes]:
        """One Outcomes per group (pricing-reversal: gpqa and aime), named data/group."""
        groups = np.asarray(self.groups)
        parts = {}
        for g in sorted(set(self.groups)):
            part = self.subset(np.flatnonzero(groups == g))
            part.name = f"{self.name}/{g}"
            parts[g] = part
        return parts

    def subset(self, index: NDArray[np.int64]) -> Outcomes:
        return Outcomes(
            self.name,
            [self.prompts[i] for i in index],
            [self.groups[i] for i in index],
            {m: s[index] for m, s in self.scores.items()},
            {m: c[index] for m, c in self.costs.items()},
            self.cost_source,
            list(self.notes),
        )

    def require(self, *models: str) -> None:
        for m in models:
            if m not in self.scores:
                raise InputError(
                    f"model {m!r} is not in {self.name}; accepted: {', '.join(sorted(self.scores))}"
                )


def _truthy(value: str, where: str = "score") -> float:
    v = value.strip().lower()
    if v in ("true", "1", "yes"):
        return 1.0
    if v in ("false", "0", "no", ""):
        return 0.0
    try:
        score = float(v)
    except ValueError:
        score = float("nan")
    if not math.isfinite(score):
        raise InputError(
            f"{where}: {value!r} is not a score; accepted: true/false, 1/0 or a finite number"
        )
    return score


def load_routellm_mmlu(folder: Path) -> Outcomes:
    contaminated = set()
    marks = folder / "contaminated_prompts.jsonl"
    if marks.exists():
        for line in marks.read_text(encoding="utf-8").splitlines():
            if line.strip():
                contaminated.add(json.loads(line)["eval_prompt"])
    prompts, groups = [], []
    columns: dict[str, list[float]] = {}
    for path in sorted(folder.glob("mmlu_*.csv")):
        subject = path.stem.removeprefix("mmlu_")
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["prompt"] in contaminated:
                    continue
                prompts.append(row["prompt"])
                groups.append(subject)
                for model, value in row.items():
                    if model != "prompt":
                        columns.setdefault(model, []).append(_truthy(value))
    scores = {m: np.asarray(v) for m, v in columns.items()}
    from unitcost.wire.tokens import load_tokenizer

    tok = load_tokenizer("tiktoken:cl100k_base")
    tokens = np.asarray([tok.count(p) + 1 for p in prompts], dtype=float)
    costs = {m: tokens * ROUTELLM_PRICES[m] / 1e6 for m in scores if m in ROUTELLM_PRICES}
    return Outcomes("routellm-mmlu", prompts, groups, scores, costs, ROUTELLM_PRICE_SOURCE)


def load_pricing_reversal(folder: Path) -> Outcomes:
    """Records are matched across model files by dataset and question text. A question some
    model has no record of is left out (and said so in `notes`), never the model."""
    records: dict[str, dict[tuple[str, str], tuple[float, float]]] = {}
    truth: dict[tuple[str, str], tuple[str, str]] = {}
    for path in sorted(folder.glob("*-*.json")):
        if path.name == "model_info.json":
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            dataset, model = str(data["dataset_name"]), str(data["model_name"])
            rows = data["records"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(
                f"{path.name}: not a pricing-reversal file ({exc}); accepted: JSON with "
                "dataset_name, model_name and records[{prompt, score, cost, ground_truth}]"
            ) from None
        for r in rows:
            qid = (dataset, str(r["prompt"]))
            answer = str(r.get("ground_truth", ""))
            seen = truth.setdefault(qid, (answer, path.name))
            if seen[0] != answer:
                raise InputError(
                    f"{path.name} and {seen[1]} disagree on the answer to the same {dataset} "
                    f"question ({answer!r} vs {seen[0]!r}): {qid[1][:80]!r}"
                )
            records.setdefault(model, {})[qid] = (
                _truthy(str(r["score"]), f"{path.name}: score"),
                float(r["cost"]),
            )
    if not records:
        raise InputError(f"{folder}: no pricing-reversal record files (*-*.json)")
    everyone = set.intersection(*(set(rows) for rows in records.values()))
    notes = []
    for model, rows in sorted(records.items()):
        missing = set(truth) - set(rows)
        if missing:
            notes.append(f"{model} has no record of {len(missing)} question(s): left out")
    if not everyone:
        raise InputError(
            f"{folder}: no question is recorded for every model "
            f"({', '.join(sorted(records))}); the files do not share question texts"
        )
    qids = sorted(everyone)
    models = sorted(records)
    return Outcomes(
        "pricing-reversal",
        [q[1] for q in qids],
        [q[0] for q in qids],
        {m: np.asarray([records[m][q][0] for q in qids]) for m in models},
        {m: np.asarray([records[m][q][1] for q in qids]) for m in models},
        "recorded provider cost of each answer (lchen001/pricing-reversal, prices as of 2026-02-28)",
        notes,
    )


def load_table(path: Path) -> Outcomes:
    text = read_text(path, "--data")
    if path.suffix == ".jsonl":
        rows = [
            _json_line(line, f"--data: {path.name} line {n}")
            for n, line in enumerate(text.splitlines(), 1)
            if line.strip()
        ]
    else:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if not rows or "prompt" not in rows[0]:
        raise InputError(f"{path.name}: needs a 'prompt' column and one score column per model")
    models = [k for k in rows[0] if k not in ("prompt", "group") and not k.startswith("cost:")]
    scores = {
        m: np.asarray([_truthy(_cell(r, m, path.name), f"{path.name}: column {m!r}") for r in rows])
        for m in models
    }
    costs = {
        k.removeprefix("cost:"): np.asarray(
            [_cost(r[k], f"{path.name}: column {k!r}") for r in rows]
        )
        for k in rows[0]
        if k.startswith("cost:")
    }
    groups = [str(r.get("group", "all")) for r in rows]
    return Outcomes(
        path.stem,
        [str(r["prompt"]) for r in rows],
        groups,
        scores,
        costs,
        f"cost columns of {path.name}" if costs else "no costs in the data",
    )


def load_outcomes(path: str | Path) -> Outcomes:
    p = Path(path)
    if not p.exists():
        raise InputError(f"--data: {str(p)!r} does not exist")
    if p.is_dir() and any(p.glob("mmlu_*.csv")):
        return load_routellm_mmlu(p)
    if p.is_dir() and (p / "model_info.json").exists():
        return load_pricing_reversal(p)
    if p.is_file() and p.suffix in (".csv", ".jsonl"):
        return load_table(p)
    raise InputError(
        f"--data: {str(p)!r} is not a RouteLLM MMLU folder, a pricing-reversal folder, or a "
        ".csv/.jsonl file with a prompt column and one score column per model"
    )


def _cost(value: object, where: str) -> float:
    try:
        cost = float(str(value))
    except ValueError:
        cost = float("nan")
    if not math.isfinite(cost) or cost < 0:
        raise InputError(f"{where}: {value!r} is not a cost; accepted: a number of dollars ≥ 0")
    return cost


def _json_line(line: str, where: str) -> dict[str, object]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        raise InputError(f"{where} is not JSON; accepted: one JSON object per line") from None
    if not isinstance(row, dict):
        raise InputError(f"{where} is a {type(row).__name__}; accepted: a JSON object")
    return row


def _cell(row: dict[str, object], column: str, origin: str) -> str:
    value = row.get(column)
    if value is None:  # csv gives None for a short row, which an unclosed quote makes
        raise InputError(
            f"{origin}: column {column!r}: a row has no value (a short row or an unclosed quote); "
            "accepted: one value per column in every row"
        )
    return str(value)
