"""Training compute amortised over the tokens a model serves in its commercial life.

    >>> t = training_cost(params_active_b=8.03, training_tokens_t=15, peak_tflops=989,
    ...                   mfu=0.4, usd_per_gpu_hour=2.0, lifetime_tokens_served=1e13)
    >>> round(t.gpu_hours / 1e6, 3)
    0.507

Compute is 6·N·D FLOPs (forward and backward; N = active parameters for a MoE).
"""

from __future__ import annotations

from dataclasses import dataclass

from unitcost.economics.breakdown import Num

__all__ = ["TrainingCost", "training_cost"]


@dataclass(frozen=True)
class TrainingCost:
    flops: Num
    gpu_hours: Num
    usd: Num
    usd_per_1k_served_tokens: Num


def training_cost(
    *,
    params_active_b: Num,
    training_tokens_t: Num,
    peak_tflops: Num,
    mfu: Num,
    usd_per_gpu_hour: Num,
    lifetime_tokens_served: Num,
) -> TrainingCost:
    flops = 6.0 * params_active_b * 1e9 * training_tokens_t * 1e12
    gpu_hours = flops / (peak_tflops * 1e12 * mfu) / 3600.0
    usd = gpu_hours * usd_per_gpu_hour
    return TrainingCost(flops, gpu_hours, usd, usd / lifetime_tokens_served * 1000.0)
