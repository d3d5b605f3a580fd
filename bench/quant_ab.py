"""Quantization A/B on a real model: SmolLM2-135M at Q4_1 and lower-bit levels, on quality
against $ per 1M tokens, each level priced from the tokens/s measured on this machine.

Each level's output tokens/s is measured first, alone on this machine with every engine
slot busy (the median of `--repeats` runs); then every level is a gateway deployment
(`backend: local, options: {quant: ..., tokens_per_s: <measured>}`) that starts its own
llama.cpp engine, and its price card is the machine's hourly price ÷ that rate (the seed
method, unitcost.engine.pricing). The levels are
then asked the same prompts through the gateway by `unitcost eval` (greedy decoding), and
scored three ways, two of which need no ground truth, because a 135M model has little:

- **MMLU letter as Q4_1**: asked a multiple-choice question (RouteLLM's MMLU prompts,
  Apache-2.0, contaminated ones dropped), does the level reply what Q4_1 replies? 0/1,
  Wilson intervals. At 135M the letters are near chance, so this measures drift, not skill.
- **rewrite: token F1 vs Q4_1**: rewriting a statement of GPTCache's paraphrase benchmark
  (MIT) in simpler words, SQuAD's word-overlap F1 with Q4_1's rewrite: graded, bootstrap.
- **capitals right**: does the answer name the capital (20 countries, a ground truth).

Q4_1 is the reference (the highest precision shipped; there is no original offline), so its
own agreement is 100% by construction; `Q4_1-again` asks Q4_1 the same prompts once more
(greedy still, another seed) and shows how often it agrees with itself when llama.cpp
batches a prompt with different neighbours: the floor any level's drift should be read
against. Data are read from ../shared/data; lower-bit levels
are made offline from the shipped Q4_1 by `unitcost engine quantize` when missing.

    flock /tmp/unitcost-bench.lock python bench/quant_ab.py [--prompts 100] \
        [--quants Q4_1,Q4_0,Q3_K_S,Q2_K] [--out quant-ab]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import statistics
import sys
import time
from pathlib import Path

import orjson
import yaml

from unitcost.engine.cache import model_path
from unitcost.engine.pricing import VM_SOURCE
from unitcost.engine.quantize import SHIPPED, quantize
from unitcost.engine.server import LocalModel, available
from unitcost.evals.portfolio import Rate
from unitcost.evals.results import TaskResult, VariantResult, summarise
from unitcost.evals.runner import RunOptions, run_eval
from unitcost.evals.tasks import load_task

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PARAPHRASE = DATA / "gptcache-paraphrase" / "mock_data.json"
MMLU = DATA / "routellm-mmlu"
SUBJECTS = ("high_school_geography", "high_school_biology", "world_religions", "marketing")
CAPITALS = ROOT / "examples" / "evals" / "capitals.jsonl"


def _slug(quant: str) -> str:
    return f"smollm2-{quant.lower()}"


def _mmlu(limit: int) -> list[dict[str, str]]:
    """The first `limit` uncontaminated MMLU questions, a few subjects in turn."""
    marks = MMLU / "contaminated_prompts.jsonl"
    bad = {json.loads(x)["eval_prompt"] for x in marks.read_text().splitlines() if x.strip()}
    pools = []
    for name in SUBJECTS:
        with (MMLU / f"mmlu_{name}.csv").open(newline="", encoding="utf-8") as f:
            pools.append([r["prompt"] for r in csv.DictReader(f) if r["prompt"] not in bad])
    questions = [p[k] for k in range(max(map(len, pools))) for p in pools if k < len(p)]
    return [{"id": f"m{i:03d}", "question": q} for i, q in enumerate(questions[:limit])]


def measure(quant: str, repeats: int, parallel: int) -> tuple[float, list[float]]:
    """Output tokens/s of one level with every slot busy: the median of `repeats` runs, each
    on a freshly warmed engine of its own (nothing else of this script runs meanwhile)."""
    with LocalModel.start(quant, parallel=parallel) as model:
        runs = [model.measure_tokens_per_s() for _ in range(repeats)]
    return statistics.median(runs), runs


def write_tasks(
    out: Path, quants: list[str], prompts: int, rates: dict[str, float], parallel: int
) -> tuple[Path, list[Path]]:
    out.mkdir(parents=True, exist_ok=True)
    statements = json.loads(PARAPHRASE.read_text(encoding="utf-8"))[:prompts]
    (out / "statements.jsonl").write_bytes(
        b"".join(
            orjson.dumps({"id": f"s{i:03d}", "text": r["origin"]}) + b"\n"
            for i, r in enumerate(statements)
        )
    )
    (out / "mmlu.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in _mmlu(prompts)))
    source = f"{VM_SOURCE}; tokens/s: the median of 3 runs by bench/quant_ab.py on this machine"
    gateway = {
        "deployments": [
            {
                "name": _slug(q),
                "backend": "local",
                "options": {
                    "quant": q,
                    "parallel": parallel,
                    "tokens_per_s": round(rates[q], 2),
                    "price_source": source,
                },
            }
            for q in quants
        ],
        "log_level": "error",
    }
    (out / "gateway.yaml").write_text(yaml.safe_dump(gateway, sort_keys=False))
    variants = [{"name": q, "model": _slug(q)} for q in quants]
    # Q4_1 asked again (another seed, still greedy): how often the reference agrees with
    # itself when the engine batches the same prompt with different neighbours
    variants.insert(
        1, {"name": f"{quants[0]}-again", "model": _slug(quants[0]), "params": {"seed": 2}}
    )
    reference = {"kind": "agreement", "reference": quants[0]}
    tasks = {
        "quant-mmlu": {
            "dataset": {"path": "mmlu.jsonl", "input": "question"},
            "templates": {
                "default": "Reply with the letter of the right option only.\n\n{question}"
            },
            "metric": {**reference, "measure": "exact"},
            "params": {"temperature": 0, "max_tokens": 3, "seed": 1},
        },
        "quant-rewrite": {
            "dataset": {"path": "statements.jsonl", "input": "text"},
            "templates": {"default": "Rewrite this sentence in simpler words: {text}"},
            "metric": {**reference, "measure": "token_f1"},
            "params": {"temperature": 0, "max_tokens": 48, "seed": 1},
        },
        "quant-capitals": {
            "dataset": {"path": str(CAPITALS), "target": "answer", "input": "country"},
            "templates": {"default": "What is the capital of {country}?"},
            "metric": {"kind": "contains"},
            "params": {"temperature": 0, "max_tokens": 24, "seed": 1},
        },
    }
    paths = []
    for name, body in tasks.items():
        path = out / f"{name}.yaml"
        doc = {"name": name, **body, "variants": variants, "gateway": "gateway.yaml"}
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        paths.append(path)
    return out / "gateway.yaml", paths


def _ci(r: VariantResult) -> str:
    q = r.quality
    if not math.isfinite(q.low):
        return f"{q.point:.1%}"
    return f"{q.point:.1%} ({q.low:.1%}–{q.high:.1%})"


def table(results: list[TaskResult], rates: dict[str, Rate], sizes: dict[str, str]) -> str:
    by = {r.task: r for r in results}
    lines = [
        "| level | GGUF | output tok/s (measured) | $/1M output tokens | MMLU letter as Q4_1 "
        "(95% CI) | rewrite: token F1 vs Q4_1 (95% CI) | capitals right (95% CI) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, v in by["quant-mmlu"].variants.items():
        rate = rates[v.model]
        size = sizes.get(name, "the same engine as Q4_1" if name.endswith("-again") else "?")
        found = re.search(r"÷ ([\d.]+) output tokens/s", rate.origin)
        lines.append(
            f"| {name} | {size} | {found.group(1) if found else '?'} | "
            f"${rate.output_usd_per_m:.4f} | {_ci(v)} | "
            f"{_ci(by['quant-rewrite'].variants[name])} | "
            f"{_ci(by['quant-capitals'].variants[name])} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=80, help="MMLU questions and statements")
    ap.add_argument("--quants", default="Q4_1,Q4_0,IQ4_NL,Q3_K_S,Q2_K")
    ap.add_argument("--repeats", type=int, default=3, help="tokens/s runs per level")
    ap.add_argument("--parallel", type=int, default=4, help="engine slots per level")
    ap.add_argument("--out", default="quant-ab")
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    if not available():
        sys.exit("the local engine is not built: run `unitcost engine install` first")
    quants = [q.strip().upper() for q in args.quants.split(",")]
    if quants[0] != SHIPPED:
        sys.exit(f"--quants: the first level is the reference and must be {SHIPPED}")
    sizes = {SHIPPED: f"{model_path(SHIPPED).stat().st_size / 2**20:.1f} MiB (shipped)"}
    for q in quants[1:]:
        v = quantize(q, log=lambda m: print(m, file=sys.stderr))
        sizes[q] = f"{v.size_bytes / 2**20:.1f} MiB"
        if v.fallback_tensors:
            sizes[q] += f", {v.fallback_tensors}/{v.tensors} tensors as another type"
        print(v.summary(), file=sys.stderr)
    rates = {}
    for q in quants:
        rates[q], runs = measure(q, args.repeats, args.parallel)
        print(
            f"{q}: {rates[q]:.1f} output tokens/s (runs: {', '.join(f'{r:.1f}' for r in runs)})",
            file=sys.stderr,
        )
    out = Path(args.out)
    gateway, paths = write_tasks(out, quants, args.prompts, rates, args.parallel)
    tasks = [load_task(str(p)) for p in paths]
    started = time.perf_counter()
    run = run_eval(
        tasks,
        RunOptions(
            out=out / "run",
            concurrency=args.concurrency,
            gateway=str(gateway),
            log=lambda m: print(m, file=sys.stderr),
        ),
    )
    results = summarise(run)
    print(
        f"{run.fresh} calls through the gateway in {time.perf_counter() - started:.0f} s; "
        f"ledger {run.ledger_url}",
        file=sys.stderr,
    )
    text = table(results, dict(run.rates), sizes)
    print(text)
    (out / "quant-ab.md").write_text(text + "\n")
    for name, rate in sorted(run.rates.items()):
        print(f"{name}: priced by {rate.origin}", file=sys.stderr)


if __name__ == "__main__":
    main()
