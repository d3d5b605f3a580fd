"""1,000,000 Monte-Carlo draws of a full scenario (TCO → unit cost → P&L) on one core.

Baseline in the same run: the same economics code called once per draw from a plain Python
loop (scalars, no NumPy vectors), timed on a sample of draws and scaled to the full count.

    taskset -c 0 python bench/monte_carlo.py [--draws 1000000] [--scenario examples/feature-pnl.yaml]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from unitcost.catalog import load_catalog
from unitcost.economics.distributions import Z95, Range
from unitcost.economics.scenario import evaluate, monte_carlo
from unitcost.economics.spec import load_scenario


class OneDraw:
    """One scalar draw per range from Python's `random`: what a plain loop would do."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self, path: str, value: float | Range) -> float:
        if not isinstance(value, Range):
            return float(value)
        if value.kind == "triangular":
            return self.rng.triangular(value.low, value.high, value.point)
        if value.kind == "lognormal":
            mu = (math.log(value.low) + math.log(value.high)) / 2
            return self.rng.lognormvariate(mu, (math.log(value.high) - mu) / Z95)
        return self.rng.uniform(value.low, value.high)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--loop-draws", type=int, default=2_000)
    ap.add_argument("--scenario", default="examples/feature-pnl.yaml")
    args = ap.parse_args()
    spec = load_scenario(args.scenario)
    catalog = load_catalog()
    monte_carlo(spec, samples=1000, catalog=catalog)  # warm caches and imports

    start = time.perf_counter()
    mc = monte_carlo(spec, samples=args.draws, seed=1, catalog=catalog)
    vectorised = time.perf_counter() - start

    start = time.perf_counter()
    draw = OneDraw(random.Random(1))
    for _ in range(args.loop_draws):
        evaluate(spec, draw, catalog)
    loop_per_draw = (time.perf_counter() - start) / args.loop_draws
    loop_total = loop_per_draw * args.draws

    print(f"scenario: {spec.name} ({len(mc.inputs)} ranged inputs, {len(mc.outputs)} outputs)")
    print(f"cpus allowed: {len(os.sched_getaffinity(0))}")
    print(f"vectorised: {args.draws:,} draws in {vectorised:.3f} s")
    print(
        f"plain loop: {loop_per_draw * 1e6:.1f} µs/draw over {args.loop_draws:,} draws "
        f"→ {loop_total:.1f} s for {args.draws:,}"
    )
    print(f"speed-up: {loop_total / vectorised:.0f}×")
    p = mc.percentiles()["total.gross_margin"]
    print(f"total.gross_margin P5/P50/P95: {p['p5']:.4f} / {p['p50']:.4f} / {p['p95']:.4f}")
    print(f"goal < 1 s: {'met' if vectorised < 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
