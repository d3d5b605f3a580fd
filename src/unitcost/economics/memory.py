"""What a model replica needs in accelerator memory: weights, KV cache and activations.

    >>> from unitcost.catalog import load_catalog
    >>> cat = load_catalog()
    >>> use = memory_use(cat.accelerator("H200"), cat.model("deepseek-v3"), "fp8",
    ...                  tensor_parallel=8, batch=1, context_tokens=1250)
    >>> use.fits, round(use.weights_gb)
    (True, 671)

A replica fits when weights + KV cache + activations stay within the usable share of its
memory (`USABLE_SHARE`: the rest holds the runtime, CUDA graphs and fragmentation; vLLM's
`gpu_memory_utilization` and TensorRT-LLM's KV fraction default to 0.9 for the same
reason). Activations are an estimate for one prefill chunk: about `ACTIVATION_VECTORS`
16-bit hidden-size vectors per token in flight (the MLP's gate and up projections
dominate), held on every accelerator of the replica. A refusal says which part does not
fit and what would: more accelerators or a lower precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unitcost.catalog import BYTES_PER_ELEMENT, Accelerator, ModelShape
from unitcost.economics.breakdown import Num, fmt

__all__ = [
    "ACTIVATION_VECTORS",
    "PREFILL_CHUNK_TOKENS",
    "USABLE_SHARE",
    "MemoryUse",
    "accelerators_that_fit",
    "kv_bytes_per_token",
    "max_batch",
    "memory_use",
    "refusal",
]

USABLE_SHARE = 0.9
#: tokens one prefill step processes at most (vLLM's and TensorRT-LLM's default max_num_tokens)
PREFILL_CHUNK_TOKENS = 8192.0
ACTIVATION_VECTORS = 12.0
ACTIVATION_BYTES = 2.0


@dataclass(frozen=True)
class MemoryUse:
    """Gigabytes a replica needs, by part, against what its accelerators hold."""

    weights_gb: float
    kv_gb: Num
    activations_gb: float
    capacity_gb: float
    accelerators: int
    accelerator: str

    @property
    def usable_gb(self) -> float:
        return self.capacity_gb * USABLE_SHARE

    @property
    def needed_gb(self) -> Num:
        return self.weights_gb + self.kv_gb + self.activations_gb

    @property
    def fits(self) -> bool:
        return bool(np.all(np.asarray(self.needed_gb) <= self.usable_gb))


def kv_bytes_per_token(model: ModelShape, kv_precision: str) -> float:
    return model.kv_elements_per_token * BYTES_PER_ELEMENT[kv_precision]


def _activations_gb(model: ModelShape, tp: int, chunk: float) -> float:
    return chunk * model.hidden_size * ACTIVATION_VECTORS * ACTIVATION_BYTES * tp / 1e9


def memory_use(
    acc: Accelerator,
    model: ModelShape,
    precision: str,
    *,
    tensor_parallel: int = 1,
    batch: Num = 1.0,
    context_tokens: Num = 1024.0,
    kv_precision: str | None = None,
    chunk_tokens: float = PREFILL_CHUNK_TOKENS,
) -> MemoryUse:
    kv = batch * context_tokens * kv_bytes_per_token(model, kv_precision or precision) / 1e9
    return MemoryUse(
        weights_gb=model.params_total_b * BYTES_PER_ELEMENT[precision],
        kv_gb=kv,
        activations_gb=_activations_gb(model, tensor_parallel, chunk_tokens),
        capacity_gb=acc.memory_gb * tensor_parallel,
        accelerators=tensor_parallel,
        accelerator=acc.name,
    )


def max_batch(
    acc: Accelerator,
    model: ModelShape,
    precision: str,
    *,
    tensor_parallel: int = 1,
    context_tokens: float = 1024.0,
    kv_precision: str | None = None,
    chunk_tokens: float = PREFILL_CHUNK_TOKENS,
) -> int:
    """The most sequences of `context_tokens` whose KV cache fits beside weights and
    activations; 0 when not even one does."""
    use = memory_use(
        acc,
        model,
        precision,
        tensor_parallel=tensor_parallel,
        batch=0.0,
        kv_precision=kv_precision,
        chunk_tokens=chunk_tokens,
    )
    free = use.usable_gb - use.weights_gb - use.activations_gb
    per_sequence = context_tokens * kv_bytes_per_token(model, kv_precision or precision) / 1e9
    return max(0, int(free // per_sequence)) if free > 0 else 0


def accelerators_that_fit(
    acc: Accelerator, model: ModelShape, precision: str, context_tokens: float
) -> int | None:
    """The smallest power-of-two replica (up to 64) that holds one sequence."""
    for tp in (1, 2, 4, 8, 16, 32, 64):
        if max_batch(acc, model, precision, tensor_parallel=tp, context_tokens=context_tokens):
            return tp
    return None


def _what_would_fit(
    use: MemoryUse,
    acc: Accelerator,
    model: ModelShape,
    precision: str,
    context: float,
    batch: float,
) -> str:
    options = []
    for tp in (2, 4, 8, 16, 32, 64):
        fit = max_batch(acc, model, precision, tensor_parallel=tp, context_tokens=context)
        if tp > use.accelerators and fit >= batch:
            options.append(f"{tp} × {acc.name} at {precision}")
            break
    for lower in ("fp8", "int4"):
        if BYTES_PER_ELEMENT[lower] < BYTES_PER_ELEMENT[precision]:
            fit = max_batch(
                acc, model, lower, tensor_parallel=use.accelerators, context_tokens=context
            )
            if fit >= batch:
                weights = model.params_total_b * BYTES_PER_ELEMENT[lower]
                options.append(
                    f"{use.accelerators} × {acc.name} at {lower} (weights {weights:,.0f} GB)"
                )
                break
    return "; would fit: " + " or ".join(options) if options else ""


def refusal(
    use: MemoryUse,
    acc: Accelerator,
    model: ModelShape,
    precision: str,
    *,
    batch: Num,
    context_tokens: Num,
) -> str:
    """One line: which part does not fit, by how much, and what would."""
    context = float(np.max(np.asarray(context_tokens)))
    b = float(np.max(np.asarray(batch)))
    where = (
        f"{use.accelerators} × {acc.name} hold {use.usable_gb:,.0f} GB usable "
        f"({USABLE_SHARE:.0%} of {use.capacity_gb:,.0f} GB)"
    )
    if use.weights_gb > use.usable_gb:
        return (
            f"accelerators: {model.name} weights alone need {use.weights_gb:,.0f} GB at "
            f"{precision}, but {where}" + _what_would_fit(use, acc, model, precision, context, 1)
        )
    if use.weights_gb + use.activations_gb > use.usable_gb:
        return (
            f"accelerators: {model.name} weights ({use.weights_gb:,.0f} GB at {precision}) fit "
            f"but activations for a {PREFILL_CHUNK_TOKENS:,.0f}-token prefill chunk "
            f"({use.activations_gb:,.1f} GB) do not: {where}"
            + _what_would_fit(use, acc, model, precision, context, 1)
        )
    free = use.usable_gb - use.weights_gb - use.activations_gb
    most = max_batch(
        acc, model, precision, tensor_parallel=use.accelerators, context_tokens=context
    )
    kv = float(np.max(np.asarray(use.kv_gb)))
    advice = f"the largest batch that fits is {most:,}" if most else "not even one sequence fits"
    return (
        f"batch_size: batch {fmt(b)} × {fmt(context)} tokens of {model.name} needs "
        f"{kv:,.1f} GB of KV cache, but {where} leave {free:,.1f} GB after the weights "
        f"({use.weights_gb:,.0f} GB) and activations ({use.activations_gb:,.1f} GB); {advice}"
        + _what_would_fit(use, acc, model, precision, context, max(b, 1.0))
    )
