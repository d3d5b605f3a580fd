"""Measure the guard: deterministic-layer latency, classifier latency, PII recall, injection ROC.

    flock /tmp/unitcost-bench.lock python bench/guard.py            # all, ~2 minutes
    python bench/guard.py --only pii,injection --out bench/out

Each latency comes with a baseline from the same run: the deterministic layer against
parsing and re-serialising the same 8 KB body (what any proxy that reads JSON pays), the
classifier against one MiniLM pass over the whole 512-token text (the naive classifier).
Injection: TPR at 1% and 5% FPR read off the ROC on BIPIA's *test* split (attacks and
contexts never seen in training) and on a direct-injection set from other authors
(bench/data/guard), plus TPR and FPR at the shipped thresholds. Writes guard.json and
guard-roc.png under --out; `unitcost governance` reads guard.json as evidence.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from unitcost.guard import Guard, GuardConfig
from unitcost.guard.datasets import bipia_indirect, bipia_parts, presidio_pii
from unitcost.guard.injection import InjectionClassifier, load_heads
from unitcost.guard.pii import find_pii

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PII_TYPES = {
    "card": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "email": "EMAIL_ADDRESS",
    "us_ssn": "US_SSN",
    "ip": "IP_ADDRESS",
    "phone": "PHONE_NUMBER",
}


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def timed(fn: Any, n: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock ms per call; with `cpu`, also this thread's CPU ms per call (what the call
    itself costs, without the time another process on a shared machine held the core)."""
    out = []
    for _ in range(n):
        c, t = time.thread_time(), time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
        if cpu is not None:
            cpu.append((time.thread_time() - c) * 1000)
    return out


def request_8kb() -> dict[str, Any]:
    contexts, _ = bipia_parts(DATA / "bipia", "test")
    text = ""
    for c in contexts["email"]:
        text += c + "\n"
        if len(text) > 7600:
            break
    text = text[:7600] + "\nReply to ana.lima@example.org, card 4111 1111 1111 1111."
    return {
        "model": "gpt-5-mini",
        "temperature": 0,
        "messages": [
            {"role": "system", "content": "You are an e-mail assistant."},
            {"role": "user", "content": text[:4000]},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": text[4000:]},
        ],
    }


def bench_deterministic(n: int) -> dict[str, Any]:
    body = request_8kb()
    raw = orjson.dumps(body)
    guard = Guard(
        GuardConfig.model_validate(
            {"default": {"injection": {"policy": "off"}, "pii": {"mask_upstream": True}}}
        )
    )

    def screen() -> None:
        guard.screen_request(
            orjson.loads(raw),
            tenant="acme",
            key_id=None,
            deployment="gpt-5-mini",
            endpoint="chat/completions",
        )

    def baseline() -> None:
        orjson.dumps(orjson.loads(raw))

    for _ in range(50):
        screen()
        baseline()
    cpu: list[float] = []
    g, b = timed(screen, n, cpu), timed(baseline, n)
    return {
        "bytes": len(raw),
        "runs": n,
        "p50_ms": pct(g, 50),
        "p95_ms": pct(g, 95),
        "p99_ms": pct(g, 99),
        "cpu_p95_ms": pct(cpu, 95),
        "baseline_json_roundtrip_p95_ms": pct(b, 95),
        "ratio_p95": pct(g, 95) / max(pct(b, 95), 1e-9),
        "target_p95_ms": 2.0,
    }


def bench_classifier(clf: InjectionClassifier, n: int) -> dict[str, Any]:
    contexts, _ = bipia_parts(DATA / "bipia", "test")
    from importlib import resources

    from tokenizers import Tokenizer

    # a fresh tokenizer: the classifier's own one truncates at 64 word pieces
    vocab = resources.files("unitcost") / "data" / "minilm" / "tokenizer.json"
    tok = Tokenizer.from_str(vocab.read_text(encoding="utf-8"))
    tok.no_truncation()
    texts = []
    for c in contexts["email"] + contexts["table"] + contexts["code"]:
        ids = tok.encode(c * 8).ids[1:511]  # 510 word pieces: 512 with [CLS] and [SEP]
        texts.append(tok.decode(ids))
    assert all(len(tok.encode(t).ids) >= 500 for t in texts[:5])
    rng = random.Random(0)
    from unitcost.routing.embeddings import Embedder

    full = Embedder(max_tokens=512)
    ms: list[float] = []
    base: list[float] = []
    cpu: list[float] = []
    for _ in range(3):
        clf.score(texts[0], "retrieved")
    for i in range(n):
        t = rng.choice(texts)
        ms += timed(lambda t=t: clf.score(t, "retrieved"), 1, cpu)
        if i < max(10, n // 4):
            base += timed(lambda t=t: full.embed([t]), 1)
    return {
        "tokens": 512,
        "runs": n,
        "p50_ms": pct(ms, 50),
        "p95_ms": pct(ms, 95),
        "cpu_p95_ms": pct(cpu, 95),
        "budget_tokens": clf.heads.budget_tokens,
        "baseline_full_minilm_p95_ms": pct(base, 95),
        "ratio_p95": pct(ms, 95) / pct(base, 95),
        "target_p95_ms": 25.0,
    }


def bench_pii() -> dict[str, Any]:
    rows = presidio_pii(DATA / "presidio-pii")
    out: dict[str, Any] = {}
    for kind, gold_type in PII_TYPES.items():
        tp = fn = fp = 0
        for r in rows:
            gold = [(s, e) for t, s, e in r.spans if t == gold_type]
            pred = [(f.start, f.end) for f in find_pii(r.text) if f.kind == kind]
            hit = [any(ps < e and s < pe for ps, pe in pred) for s, e in gold]
            tp, fn = tp + sum(hit), fn + len(hit) - sum(hit)
            fp += sum(not any(ps < e and s < pe for s, e in gold) for ps, pe in pred)
        out[kind] = {
            "recall": tp / max(tp + fn, 1),
            "precision": tp / max(tp + fp, 1),
            "n": tp + fn,
            "false_positives": fp,
        }
    out["texts"] = len(rows)
    return out


def roc(scores: list[float], labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    s, y = np.asarray(scores), np.asarray(labels)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    tps, fps = np.cumsum(y), np.cumsum(1 - y)
    keep = np.r_[np.diff(s) != 0, True]
    tpr = np.r_[0, tps[keep] / max(y.sum(), 1)]
    fpr = np.r_[0, fps[keep] / max((1 - y).sum(), 1)]
    return fpr, tpr


def summarise(
    name: str, scores: list[float], labels: list[int], threshold: float
) -> dict[str, Any]:
    fpr, tpr = roc(scores, labels)
    s, y = np.asarray(scores), np.asarray(labels)
    flagged = s >= threshold
    return {
        "attacks": int(y.sum()),
        "benign": int((1 - y).sum()),
        "tpr_at_1pct_fpr": float(tpr[fpr <= 0.01].max()),
        "tpr_at_5pct_fpr": float(tpr[fpr <= 0.05].max()),
        "auc": float(np.trapezoid(tpr, fpr)),
        "shipped_threshold": threshold,
        "tpr_at_shipped_threshold": float(flagged[y == 1].mean()),
        "fpr_at_shipped_threshold": float(flagged[y == 0].mean()),
        "roc": {"fpr": [round(float(v), 5) for v in fpr], "tpr": [round(float(v), 5) for v in tpr]},
        "name": name,
    }


def bench_injection(clf: InjectionClassifier, per_attack: int) -> dict[str, Any]:
    contexts, attacks = bipia_parts(DATA / "bipia", "test")
    texts, labels, _ = bipia_indirect(contexts, attacks, per_attack=per_attack, seed=1)
    bipia = summarise(
        "BIPIA test (indirect: email, table, code)",
        [clf.score(t, "retrieved") for t in texts],
        labels,
        clf.threshold("tool"),
    )
    rows = [
        json.loads(x)
        for x in (ROOT / "bench/data/guard/direct-test.jsonl").read_text().splitlines()
    ]
    user = [r for r in rows if r["channel"] == "user"]
    benign: dict[str, list[str]] = {"bastion": [r["text"] for r in user if r["label"] == 0]}
    benign["do-not-answer"] = [
        json.loads(x)["text"]
        for x in (ROOT / "bench/data/guard/benign-requests.jsonl").read_text().splitlines()
    ]
    benign["gpqa-aime"] = []
    for f in sorted((DATA / "pricing-reversal").glob("*-gpt-5-mini.json")):
        benign["gpqa-aime"] += [r["prompt"] for r in json.loads(f.read_text())["records"]]
    attacks = [r for r in user if r["label"] == 1]
    pos = [clf.score(r["text"], "user") for r in attacks]
    neg = {k: [clf.score(t, "user") for t in v] for k, v in benign.items()}
    all_neg = [x for v in neg.values() for x in v]
    limit = clf.threshold("user")
    direct = summarise(
        "direct (bastioncorpus + jailbreak-corpus-mini; benign: their look-alikes,"
        " Do-Not-Answer, GPQA/AIME requests)",
        pos + all_neg,
        [1] * len(pos) + [0] * len(all_neg),
        limit,
    )
    direct["fpr_at_shipped_threshold_by_source"] = {
        k: float(np.mean(np.asarray(v) >= limit)) for k, v in neg.items()
    }
    english = [s for s, r in zip(pos, attacks, strict=True) if r["lang"] == "en"]
    direct["english_attacks"] = len(english)
    direct["english_tpr_at_shipped_threshold"] = float(np.mean(np.asarray(english) >= limit))
    tool = [r for r in rows if r["channel"] != "user"]
    other = summarise(
        "bastioncorpus tool output and memory (indirect, other authors)",
        [clf.score(r["text"], "tool") for r in tool],
        [r["label"] for r in tool],
        clf.threshold("tool"),
    )
    return {"bipia": bipia, "direct": direct, "bastion_tool": other}


def plot_roc(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5), dpi=110)
    for key, style in (("bipia", "-"), ("direct", "--"), ("bastion_tool", ":")):
        r = result[key]
        ax.plot(
            np.maximum(r["roc"]["fpr"], 1e-3),
            r["roc"]["tpr"],
            style,
            label=f"{key}: TPR {r['tpr_at_1pct_fpr']:.0%} at 1% FPR (n={r['attacks']}+{r['benign']})",
        )
    for x in (0.01, 0.05):
        ax.axvline(x, color="grey", lw=0.8, alpha=0.6)
        ax.text(x * 1.08, 0.03, f"{x:.0%} FPR", color="grey", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(1e-3, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("false-positive rate (benign texts flagged), log scale")
    ax.set_ylabel("true-positive rate (attacks caught)")
    ax.set_title("unitcost guard: prompt-injection classifier ROC (held-out data)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--only", default="deterministic,classifier,pii,injection")
    ap.add_argument("--runs", type=int, default=400)
    ap.add_argument("--per-attack", type=int, default=8, help="BIPIA contexts per test attack")
    ap.add_argument("--heads", type=Path, help="a trained heads file (default: the shipped one)")
    args = ap.parse_args(argv)
    parts = set(args.only.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python bench/guard.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
    }
    clf = (
        InjectionClassifier(load_heads(args.heads)) if parts & {"classifier", "injection"} else None
    )
    if "deterministic" in parts:
        result["deterministic"] = d = bench_deterministic(args.runs)
        print(
            f"deterministic layer, {d['bytes']} B request: p50 {d['p50_ms']:.3f} ms, p95 "
            f"{d['p95_ms']:.3f} ms (target ≤ 2 ms; CPU p95 {d['cpu_p95_ms']:.3f} ms); JSON round trip p95 "
            f"{d['baseline_json_roundtrip_p95_ms']:.3f} ms → {d['ratio_p95']:.1f}×"
        )
    if "classifier" in parts and clf:
        result["classifier"] = c = bench_classifier(clf, max(40, args.runs // 4))
        print(
            f"classifier at 512 tokens: p50 {c['p50_ms']:.1f} ms, p95 {c['p95_ms']:.1f} ms "
            f"(target ≤ 25 ms; CPU p95 {c['cpu_p95_ms']:.1f} ms); full MiniLM pass p95 "
            f"{c['baseline_full_minilm_p95_ms']:.1f} ms "
            f"→ {c['ratio_p95']:.2f}×"
        )
    if "pii" in parts:
        result["pii"] = p = bench_pii()
        print(f"PII on presidio-pii ({p['texts']} texts):   kind    recall  precision  n")
        for kind in PII_TYPES:
            k = p[kind]
            print(f"{'':38}{kind:7} {k['recall']:6.3f}  {k['precision']:9.3f}  {k['n']}")
    if "injection" in parts and clf:
        result["injection"] = inj = bench_injection(clf, args.per_attack)
        print("injection           TPR@1%FPR TPR@5%FPR   AUC  at shipped thr: TPR   FPR   n")
        for key, r in inj.items():
            print(
                f"{key:19} {r['tpr_at_1pct_fpr']:9.1%} {r['tpr_at_5pct_fpr']:9.1%} "
                f"{r['auc']:5.3f}  {r['tpr_at_shipped_threshold']:18.1%} "
                f"{r['fpr_at_shipped_threshold']:5.1%} {r['attacks']}+{r['benign']}"
            )
        d = inj["direct"]
        shares = ", ".join(
            f"{k} {v:.1%}" for k, v in d["fpr_at_shipped_threshold_by_source"].items()
        )
        print(
            f"direct: benign flagged at the shipped threshold: {shares}; English attacks "
            f"caught {d['english_tpr_at_shipped_threshold']:.1%} of {d['english_attacks']}"
        )
        plot_roc(inj, args.out / "guard-roc.png")
    path = args.out / "guard.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**old, **result}, indent=1) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
