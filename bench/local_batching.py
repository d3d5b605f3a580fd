"""Batching, measured and priced: the local engine at concurrency 1, 2, 4 and 8.

    flock /tmp/unitcost-bench.lock python bench/local_batching.py          # ~3 minutes
    python bench/local_batching.py --levels 1,8 --requests 16             # quicker

One engine with 8 slots (llama.cpp's continuous batching; `unitcost engine install`'s
build) is measured by `unitcost bench`'s own library (run_bench: steady-state window,
TTFT and ITL per request, usage from the stream) with synthetic prompts of exactly
`--input-tokens` (chat template included, distinct words so no prefix cache helps) and
exactly `--output-tokens` out (`ignore_eos`). Output tokens/s is c × output tokens ÷ the
sum of the measured requests' times (the load is closed-loop with every stream always busy,
so this is Little's law; bench's own window figure, first measured start to last measured
end, is printed beside it and reads low when streams are out of step). It is priced
through the economics model at the 2-vCPU VM price the demo uses (unitcost.engine.pricing),
with the prefill share of a request's time charged to input tokens (bench's rule), so the
table's $/1M is what an output token costs at that level. The baseline is c=1 in the same
run; the last line is the batching lever as a ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from unitcost.bench import BenchConfig, run_bench
from unitcost.bench.client import RequestResult
from unitcost.bench.costing import Pricing
from unitcost.bench.prompts import synthetic
from unitcost.bench.runner import Level, parse_levels
from unitcost.engine.cpu import describe_cpu
from unitcost.engine.pricing import VM_SOURCE, VM_USD_PER_HOUR
from unitcost.engine.server import DEFAULT_THREADS, LocalModel
from unitcost.wire.tokens import load_tokenizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levels", default="1,2,4,8", help="concurrency levels (default 1,2,4,8)")
    ap.add_argument("--requests", type=int, default=24, help="measured requests per level")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up requests per level (min)")
    ap.add_argument("--input-tokens", type=int, default=128)
    ap.add_argument("--output-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    args = ap.parse_args()
    levels = parse_levels(args.levels, None)
    slots = max(level.concurrency or 1 for level in levels)
    ctx = max(512, 2 * (args.input_tokens + args.output_tokens) + 64)
    with LocalModel.start(parallel=slots, threads=args.threads, ctx_per_slot=ctx) as model:
        tok = load_tokenizer(f"gguf:{model.gguf}")
        # every request gets its own prompt (no prefix-cache hits): per level the warm-up
        # (at least one per stream), the measured requests and the cool-down (one per stream)
        count = sum(args.requests + args.warmup + 3 * (lv.concurrency or 1) for lv in levels)
        cfg = BenchConfig(
            url=model.url,
            model="smollm2",
            levels=levels,
            prompts=synthetic(tok, args.input_tokens, args.output_tokens, count),
            requests=args.requests,
            warmup=args.warmup,
            tokenizer=tok,
            ignore_eos=True,
            pricing=Pricing(usd_per_hour=VM_USD_PER_HOUR, source=VM_SOURCE),
        )
        errors: list[str] = []
        results: dict[str, list[RequestResult]] = {}

        def note(level: Level, r: RequestResult) -> None:
            results.setdefault(level.label, []).append(r)
            if not r.ok:
                errors.append(f"{level.label}: HTTP {r.status} {r.error}")

        report = asyncio.run(run_bench(cfg, note))
    print(
        f"CPU: {describe_cpu()}; engine: {slots} slots, {args.threads} thread(s); "
        f"{args.input_tokens} -> {args.output_tokens} tokens, {args.requests} measured per level"
    )
    print(f"priced at ${VM_USD_PER_HOUR}/h: {VM_SOURCE}")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the end (1, 5, 15 min): {load} on {os.cpu_count()} CPUs")
    print()
    print("  c  out tok/s  $/1M out  TTFT p95  ITL p95  errors  window tok/s")
    rows = []
    for s in report.levels:
        ok = [r for r in results.get(s.label, []) if r.ok]
        # c streams always busy: c × tokens ÷ Σ request time (Little's law), free of the
        # window's edges, where streams start and end their measured requests out of step
        tps = (s.concurrency or 1) * sum(r.output_tokens for r in ok) / sum(r.e2e_s for r in ok)
        # the bench's price at its window throughput, rescaled to this one (same formula)
        per_m = s.costs["usd_per_1k_output"] * 1000 * s.output_tokens_per_s / tps
        rows.append((s, tps, per_m))
        print(
            f"{s.concurrency:>3}  {tps:>9.1f}  {per_m:>8.3f}  {s.ttft.p95 * 1000:>6.0f}ms  "
            f"{s.itl.p95 * 1000:>5.0f}ms  {s.errors:>6}  {s.output_tokens_per_s:>12.1f}"
        )
    (base, base_tps, base_cost), (last, last_tps, last_cost) = rows[0], rows[-1]
    ratio, cost = last_tps / base_tps, last_cost / base_cost
    for e in sorted(set(errors))[:5]:
        print(f"error: {e}")
    print()
    print(
        f"c={last.concurrency} vs c={base.concurrency}: {ratio:.2f}x output tokens/s, "
        f"{cost:.2f}x the $/1M output tokens"
    )


if __name__ == "__main__":
    main()
