"""How long `unitcost plan` takes on a 10-kind, 20-bucket problem (goal: under 2 s).

    flock /tmp/unitcost-bench.lock python bench/plan_speed.py

Baselines measured in the same run:
  * the LP relaxation of the same program (what the integer program costs over a
    continuous one);
  * brute force on a small case (3 kinds × 4 buckets): every integer replica count up to a
    bound, each checked by an LP over the traffic split; it must find the MILP's optimum.
Capacities come from the real roofline at calibrated efficiencies; the calibration fit is
warmed first (it is cached per process, as in one CLI run).
"""

from __future__ import annotations

import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import numpy as np
import yaml

from unitcost.catalog import load_catalog
from unitcost.economics.calibration import calibrate
from unitcost.economics.capacity import Bucket, Candidate, Capacity
from unitcost.economics.plan import Facility, PlanInputs, capacities, plan, solve

REPEATS = 5
T = TypeVar("T")


def problem(kinds: int, buckets: int) -> PlanInputs:
    cat = load_catalog()
    model = cat.model("llama-3.1-8b")
    choices = [
        ("H100-SXM", "fp8", "trtllm", 1, 2.69),
        ("H100-SXM", "bf16", "trtllm", 1, 2.69),
        ("H200", "fp8", "trtllm", 1, 3.59),
        ("B200", "fp8", "trtllm", 1, 5.98),
        ("A100-80GB", "bf16", "trtllm", 1, 1.39),
        ("L40S", "fp8", "trtllm", 1, 0.79),
        ("MI300X", "fp8", "vllm", 1, 1.85),
        ("MI325X", "fp8", "vllm", 1, 1.95),
        ("H800", "fp8", "trtllm", 1, 2.0),
        ("H100-SXM", "fp8", "trtllm", 2, 2.69),
    ][:kinds]
    candidates = []
    for name, precision, stack, tp, lease in choices:
        acc = cat.accelerator(name)
        candidates.append(
            Candidate(
                f"{name}×{tp} {precision}",
                acc,
                model,
                precision,
                tp,
                lease,
                stack=stack,
                available=4096,
                gpu_watts=acc.tdp_watts or 700.0,
                host_watts=575.0,
            )
        )
    lengths = [(i, o) for i in (128, 512, 1024, 2048, 4096) for o in (64, 256, 512, 1024)]
    demand = [Bucket(i, o, 5.0 + (k % 7)) for k, (i, o) in enumerate(lengths[:buckets])]
    return PlanInputs(
        tuple(demand),
        tuple(candidates),
        Facility(pue=1.3, usd_per_mwh=62.29, power_cap_mw=2.0),
        ttft_slo_s=2.0,
        tpot_slo_s=0.1,
    )


def timed(fn: Callable[[], T], repeats: int = REPEATS) -> tuple[float, T]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def brute_force(inp: PlanInputs, caps: dict[tuple[str, str], Capacity], bounds: list[int]) -> float:
    """Every replica vector up to `bounds`, each priced by an LP over the traffic split."""
    best = float("inf")
    for n in itertools.product(*(range(b + 1) for b in bounds)):
        s = solve(inp, caps, replicas=n, relax=True)
        if s.status == "optimal":
            best = min(best, s.objective)
    return best


def plan_file(inp: PlanInputs, path: Path) -> None:
    """The same problem as a plan file, for the command line."""
    raw = {
        "name": "bench-10x20",
        "model": inp.candidates[0].model.name,
        "demand": [
            {
                "input_tokens": b.input_tokens,
                "output_tokens": b.output_tokens,
                "requests_per_s": b.requests_per_s,
            }
            for b in inp.buckets
        ],
        "slo": {
            "ttft_p95_ms": (inp.ttft_slo_s or 0) * 1000,
            "tpot_p95_ms": (inp.tpot_slo_s or 0) * 1000,
        },
        "facility": {
            "pue": inp.facility.pue,
            "usd_per_mwh": inp.facility.usd_per_mwh,
            "power_cap_mw": inp.facility.power_cap_mw,
        },
        "candidates": [
            {
                "accelerator": k.accelerator.name,
                "precision": k.precision,
                "stack": k.stack,
                "accelerators_per_replica": k.accelerators,
                "available": k.available,
                "lease_usd_per_hour": k.usd_per_accelerator_hour,
                "host_watts": k.host_watts,
            }
            for k in inp.candidates
        ],
    }
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")


def command_line(inp: PlanInputs) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.yaml"
        plan_file(inp, path)
        cli = [sys.executable, "-m", "unitcost"]
        t_help, _ = timed(
            lambda: subprocess.run([*cli, "--help"], capture_output=True, check=True), 3
        )
        t_cli, _ = timed(
            lambda: subprocess.run([*cli, "plan", str(path)], capture_output=True, check=True), 3
        )
    print(
        f"  `unitcost plan` on the same problem, whole process: {t_cli:.2f} s (goal < 2 s); "
        f"`unitcost --help` (start-up alone): {t_help:.2f} s → {t_cli / t_help:.1f}×",
        flush=True,
    )


def main() -> None:
    calibrate()
    big = problem(10, 20)
    t_plan, result = timed(lambda: plan(big))
    caps = capacities(big)
    t_caps, _ = timed(lambda: capacities(big))
    t_milp, _ = timed(lambda: solve(big, caps))
    t_lp, _ = timed(lambda: solve(big, caps, relax=True))
    kinds = len(result.kinds)
    print(
        f"10 kinds × 20 buckets, llama-3.1-8b, 2 MW cap: plan() {t_plan:.3f} s end to end "
        f"(median of {REPEATS}; goal < 2 s); {kinds} kinds bought"
    )
    print(f"  capacities (roofline × 200 pairs) {t_caps:.3f} s; one MILP solve {t_milp:.4f} s")
    print(
        f"  baseline, LP relaxation of the same program: {t_lp:.4f} s → MILP/LP = "
        f"{t_milp / t_lp:.1f}×; whole plan/LP = {t_plan / t_lp:.0f}×"
    )

    command_line(big)

    small = problem(3, 4)
    small = replace(small, facility=Facility(pue=1.3, usd_per_mwh=62.29))
    small_caps = capacities(small)
    # scale the small demand so the largest single-kind fleet is 8 replicas
    alone = [
        sum(
            b.requests_per_s / (small.max_load * small_caps[(k.name, b.name)].requests_per_s)
            for b in small.buckets
        )
        for k in small.candidates
    ]
    scale = 8 / max(alone)
    small = replace(
        small,
        buckets=tuple(replace(b, requests_per_s=b.requests_per_s * scale) for b in small.buckets),
    )
    small_caps = {key: c for key, c in capacities(small).items()}
    bounds = [int(np.ceil(a * scale)) for a in alone]
    t_small, best = timed(lambda: solve(small, small_caps))
    t_brute, brute = timed(lambda: brute_force(small, small_caps, bounds), repeats=1)
    vectors = int(np.prod([b + 1 for b in bounds]))
    agree = abs(brute - best.objective) <= 1e-6 * best.objective
    print(
        f"  baseline, brute force on 3 kinds × 4 buckets ({vectors:,} replica vectors): "
        f"{t_brute:.2f} s vs MILP {t_small:.4f} s → {t_brute / t_small:,.0f}× slower; "
        f"same optimum: {'yes' if agree else 'NO'} (${best.objective:,.2f}/h)",
        flush=True,
    )


if __name__ == "__main__":
    main()
