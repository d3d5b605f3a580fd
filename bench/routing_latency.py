"""Routing and semantic-cache latency on this CPU, each against a baseline in the same run.

1. Learned routing decision (MiniLM embedding + logistic regression) on real prompts:
   p50/p99, against the embedding alone and the classifier alone.
2. Semantic-cache lookup at 100,000 entries (faiss HNSW, the cache's index past 4,096
   entries), against an exact NumPy scan of the same vectors: once on random unit vectors
   (no structure, the hardest case for HNSW) and once on real MiniLM embeddings.

    taskset -c 0 python bench/routing_latency.py [--entries 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from unitcost.catalog.replay import load_replay_set
from unitcost.gateway.cache import SemanticIndex
from unitcost.routing.datasets import load_outcomes
from unitcost.routing.embeddings import DIMENSIONS, Embedder, default_embedder
from unitcost.routing.learned import LearnedRouter, embed_cached, prompt_lengths


def pct(xs: list[float]) -> str:
    a = np.asarray(xs) * 1000
    return f"p50 {np.percentile(a, 50):.2f} ms, p99 {np.percentile(a, 99):.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--prompts", type=int, default=258)
    args = ap.parse_args()
    print(f"cpus allowed: {len(os.sched_getaffinity(0))}")
    router = LearnedRouter.load()
    prompts = [q["prompt"] for q in load_replay_set().questions.values()][: args.prompts]
    router.score(prompts[0])  # load the model
    embedder = default_embedder(router.max_tokens)
    decide, embed_only, classify_only = [], [], []
    for p in prompts:
        t = time.perf_counter()
        router.score(p)
        decide.append(time.perf_counter() - t)
        t = time.perf_counter()
        v = embedder.embed([p])
        embed_only.append(time.perf_counter() - t)
        t = time.perf_counter()
        router.predict(v, prompt_lengths([p]))
        classify_only.append(time.perf_counter() - t)
    print(
        f"routing decision, {len(prompts)} GPQA/AIME prompts cut to {router.max_tokens} word "
        f"pieces: {pct(decide)} (goal p99 ≤ 10 ms)"
    )
    print(f"  of which embedding: {pct(embed_only)}; length + classifier: {pct(classify_only)}")

    lookup_benchmark(
        args.entries,
        "random unit vectors (no structure: worst case)",
        *random_entries(args.entries),
    )
    lookup_benchmark(
        args.entries,
        "real MiniLM embeddings (14k MMLU prompts, 999 questions) and jittered copies",
        *real_entries(args.entries),
    )


def random_entries(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(n, DIMENSIONS)).astype(np.float32)
    queries = base[rng.choice(n, 500, replace=False)]
    queries = queries + rng.normal(scale=0.02, size=queries.shape).astype(np.float32)
    return _unit(base), _unit(queries)


def real_entries(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Stored: the 999 paraphrase originals, 14k MMLU prompts, and copies of them jittered to
    cosine ≈ 0.9 until n entries; looked up: the 999 paraphrases (hits and misses alike)."""
    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    pairs = json.loads((data / "gptcache-paraphrase" / "mock_data.json").read_text())
    embedder = Embedder(max_tokens=128, threads=2)
    origins = embed_cached(embedder, [p["origin"] for p in pairs])
    queries = embed_cached(embedder, [p["similar"] for p in pairs])
    mmlu = embed_cached(
        Embedder(max_tokens=16, threads=2, keep="tail"),
        load_outcomes(data / "routellm-mmlu").prompts,
    )
    seeds = np.vstack([origins, mmlu])
    rng = np.random.default_rng(0)
    extra = seeds[rng.integers(0, len(seeds), n - len(seeds))]
    extra = extra + rng.normal(scale=0.025, size=extra.shape).astype(np.float32)
    return _unit(np.vstack([seeds, extra])[:n]), _unit(queries)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def lookup_benchmark(n: int, label: str, base: np.ndarray, queries: np.ndarray) -> None:
    index = SemanticIndex()
    t = time.perf_counter()
    for i, v in enumerate(base):
        index.add("tenant:deployment", v, f"k{i}")
    build = time.perf_counter() - t
    hnsw, scan, found = [], [], 0
    for q in queries:
        t = time.perf_counter()
        hit = index.search("tenant:deployment", q)
        hnsw.append(time.perf_counter() - t)
        t = time.perf_counter()
        exact = int(np.argmax(base @ q))
        scan.append(time.perf_counter() - t)
        found += hit is not None and hit[0] == f"k{exact}"
    print(f"semantic-cache lookup, {n:,} entries of {label} (index built in {build:.0f} s):")
    print(
        f"  {pct(hnsw)} (goal p99 ≤ 2 ms); nearest entry found for {found / len(queries):.1%} "
        f"of {len(queries)} lookups"
    )
    print(
        f"  exact NumPy scan baseline: {pct(scan)}; "
        f"HNSW is {np.percentile(scan, 99) / np.percentile(hnsw, 99):.0f}× faster at p99"
    )


if __name__ == "__main__":
    main()
