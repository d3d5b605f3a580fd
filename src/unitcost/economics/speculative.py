"""Speculative decoding and distillation as terms of the cost model.

    >>> s = speculative(acceptance=0.8, draft_length=4, cost_ratio=0.05,
    ...                 target_usd_per_1k_output=0.002)
    >>> round(s.tokens_per_target_step, 4)       # (1 - α^(γ+1)) / (1 - α)
    3.3616
    >>> round(s.speedup, 3), round(s.usd_per_1k_output, 6)
    (2.801, 0.000714)
    >>> d = distillation(student_usd_per_1k=0.0002, teacher_usd_per_1k=0.002,
    ...                  one_off_usd=5000.0, lifetime_tokens_served=1e10)
    >>> round(d.usd_per_1k, 6), round(d.breakeven_tokens / 1e9, 3)
    (0.0007, 2.778)

**Speculative decoding** (Leviathan, Kalman and Matias, "Fast Inference from Transformers via
Speculative Decoding", ICML 2023, arXiv:2211.17192). A draft model proposes γ tokens, the
target checks them in one forward pass, and each draft token is accepted with probability α
(assumed i.i.d., their §3.1). Then:

- expected tokens per target step E = (1 − α^(γ+1)) / (1 − α)      (their eq. 1)
- wall-time speed-up = E / (γ·c + 1), c = draft step time ÷ target step time  (Theorem 3.8)
- arithmetic operations × (γ·ĉ + γ + 1) / E, ĉ = draft ÷ target FLOPs per token (Thm 3.11)

A replica is paid by the hour, so the $ per output token scales with the time per token:
$/1K with speculation = $/1K of the target alone ÷ speed-up. That holds while the target's
verify pass over γ+1 tokens costs about one decode step (memory-bound decode, their §3.4);
at large batches, where decode is compute-bound, use `compute_factor` instead.

**Distillation.** A student distilled from a teacher serves at its own $/1K; the one-off cost
(teacher tokens generated for training data plus the student's training compute, e.g. from
`training_cost`) is amortised over the tokens the student will serve, and the break-even is
the served volume at which the saving per token has paid that cost back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unitcost.economics.breakdown import Num
from unitcost.errors import InputError

__all__ = [
    "LEVIATHAN_2023",
    "DistilledCost",
    "SpeculativeCost",
    "acceptance_from_tokens_per_step",
    "best_draft_length",
    "distillation",
    "expected_tokens_per_step",
    "speculative",
]

LEVIATHAN_2023 = (
    "Leviathan, Kalman, Matias: Fast Inference from Transformers via Speculative Decoding, "
    "ICML 2023 (arXiv:2211.17192), eq. 1 and theorems 3.8 and 3.11"
)


def _check(name: str, value: Num, low: float, high: float | None = None) -> None:
    arr = np.asarray(value, dtype=float)
    if np.any(~np.isfinite(arr)) or np.any(arr < low) or (high is not None and np.any(arr > high)):
        accepted = f"{low} to {high}" if high is not None else f"≥ {low}"
        raise InputError(f"{name}: {value!r} is out of range; accepted: {accepted}")


def expected_tokens_per_step(acceptance: Num, draft_length: int) -> Num:
    """E = 1 + α + α² + … + α^γ = (1 − α^(γ+1)) / (1 − α); γ + 1 when α = 1."""
    _check("acceptance", acceptance, 0.0, 1.0)
    if draft_length < 0:
        raise InputError(f"draft_length: {draft_length} is negative; accepted: an integer ≥ 0")
    # the geometric sum itself: exact at α = 1, where the closed form is 0/0
    total: Num = 0.0
    power: Num = 1.0
    for _ in range(draft_length + 1):
        total = total + power
        power = power * acceptance
    return total


@dataclass(frozen=True)
class SpeculativeCost:
    acceptance: Num
    draft_length: int
    cost_ratio: Num
    tokens_per_target_step: Num
    speedup: Num  # wall-time, Theorem 3.8
    cost_factor: Num  # $ per output token relative to the target alone = 1 / speedup
    compute_factor: Num  # arithmetic operations relative to the target alone, Theorem 3.11
    usd_per_1k_output: Num | None
    source: str = LEVIATHAN_2023


def speculative(
    *,
    acceptance: Num,
    draft_length: int,
    cost_ratio: Num,
    flops_ratio: Num | None = None,
    target_usd_per_1k_output: Num | None = None,
) -> SpeculativeCost:
    """What speculative decoding does to throughput and $/1K output tokens.

    `cost_ratio` is c, the draft's step time over the target's; `flops_ratio` is ĉ, their
    FLOPs per token (defaults to c). With the target's own $/1K output it prices the result.
    """
    _check("cost_ratio", cost_ratio, 0.0)
    ops_ratio = cost_ratio if flops_ratio is None else flops_ratio
    _check("flops_ratio", ops_ratio, 0.0)
    e = expected_tokens_per_step(acceptance, draft_length)
    speedup = e / (draft_length * cost_ratio + 1.0)
    price = None if target_usd_per_1k_output is None else target_usd_per_1k_output / speedup
    return SpeculativeCost(
        acceptance=acceptance,
        draft_length=draft_length,
        cost_ratio=cost_ratio,
        tokens_per_target_step=e,
        speedup=speedup,
        cost_factor=1.0 / speedup,
        compute_factor=(draft_length * ops_ratio + draft_length + 1.0) / e,
        usd_per_1k_output=price,
    )


def best_draft_length(acceptance: float, cost_ratio: float, max_length: int = 16) -> int:
    """The γ in 0..max_length with the largest wall-time speed-up (γ = 0: do not speculate)."""
    speedups = [
        float(speculative(acceptance=acceptance, draft_length=g, cost_ratio=cost_ratio).speedup)
        for g in range(max_length + 1)
    ]
    return int(np.argmax(speedups))


def acceptance_from_tokens_per_step(tokens_per_step: float, draft_length: int) -> float:
    """Invert E(α, γ): the α that explains a measured mean of tokens per target step.

    Servers report drafted and accepted tokens (llama.cpp: `draft_n`, `draft_n_accepted`);
    E = 1 + accepted ÷ target steps. E is increasing in α, so bisection finds it.
    """
    if draft_length < 1 or not 1.0 <= tokens_per_step <= draft_length + 1:
        raise InputError(
            f"tokens_per_step: {tokens_per_step} with draft_length {draft_length}; accepted: "
            f"1 ≤ tokens_per_step ≤ draft_length + 1, draft_length ≥ 1"
        )
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if float(expected_tokens_per_step(mid, draft_length)) < tokens_per_step:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class DistilledCost:
    student_usd_per_1k: Num  # serving only
    teacher_usd_per_1k: Num
    one_off_usd: Num
    lifetime_tokens_served: Num
    usd_per_1k: Num  # serving + the one-off cost amortised over the lifetime's tokens
    cost_ratio: Num  # all-in student $/1K ÷ teacher $/1K
    breakeven_tokens: Num  # served tokens at which the one-off cost is paid back (inf: never)
    source: str


def distillation(
    *,
    student_usd_per_1k: Num,
    teacher_usd_per_1k: Num,
    one_off_usd: Num = 0.0,
    lifetime_tokens_served: Num = 1e12,
    teacher_tokens_generated: Num = 0.0,
    source: str = "input",
) -> DistilledCost:
    """A distilled student priced against its teacher, one-off costs amortised.

    `teacher_tokens_generated` adds the training data the teacher wrote, at its own $/1K,
    to `one_off_usd` (which holds the student's training compute, from `training_cost`).
    """
    for name, value in (
        ("student_usd_per_1k", student_usd_per_1k),
        ("teacher_usd_per_1k", teacher_usd_per_1k),
        ("one_off_usd", one_off_usd),
        ("teacher_tokens_generated", teacher_tokens_generated),
    ):
        _check(name, value, 0.0)
    _check("lifetime_tokens_served", lifetime_tokens_served, 1.0)
    one_off = one_off_usd + teacher_tokens_generated / 1000.0 * teacher_usd_per_1k
    all_in = student_usd_per_1k + one_off / lifetime_tokens_served * 1000.0
    saving_per_token = (np.asarray(teacher_usd_per_1k) - student_usd_per_1k) / 1000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        breakeven = np.where(saving_per_token > 0, one_off / saving_per_token, np.inf)
    ratio = all_in / teacher_usd_per_1k if np.all(np.asarray(teacher_usd_per_1k) > 0) else np.nan
    return DistilledCost(
        student_usd_per_1k=student_usd_per_1k,
        teacher_usd_per_1k=teacher_usd_per_1k,
        one_off_usd=one_off,
        lifetime_tokens_served=lifetime_tokens_served,
        usd_per_1k=all_in,
        cost_ratio=ratio,
        breakeven_tokens=float(breakeven) if breakeven.ndim == 0 else breakeven,
        source=source,
    )
