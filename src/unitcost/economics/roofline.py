"""Roofline throughput of one model replica (tensor parallel over `tp` accelerators).

    >>> from unitcost.catalog import load_catalog
    >>> cat = load_catalog()
    >>> t = roofline(RooflineInputs(cat.accelerator("H100-SXM"), cat.model("llama-3.1-8b"),
    ...                             precision="bf16", batch_size=1, input_tokens=512,
    ...                             output_tokens=128))
    >>> t.decode_bound
    'memory'

Prefill is compute-bound: FLOPs per prompt token ≈ 2·N_active plus causal attention,
run at peak × MFU. Decode is memory-bound: each step reads the weights (for a MoE, the
experts the batch touches) and the batch's KV cache at bandwidth × efficiency, with the
compute ceiling taking over at large batch. Tensor parallelism splits both over `tp`
accelerators and adds two all-reduces per layer over the interconnect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unitcost.catalog import BYTES_PER_ELEMENT, Accelerator, ModelShape, cite
from unitcost.economics.breakdown import Num, fmt, plain
from unitcost.errors import InputError

__all__ = [
    "DEFAULT_BANDWIDTH_EFFICIENCY",
    "DEFAULT_MFU",
    "RooflineInputs",
    "Throughput",
    "roofline",
]

#: Prefill MFU and decode memory-bandwidth utilisation (MBU) when the user gives none: the
#: medians of what the published measurements in catalog/data/calibration.yaml imply
#: (TensorRT-LLM first-token latencies; gpt-fast and Databricks batch-1 decode). Run
#: `unitcost calibration` to see each point.
DEFAULT_MFU = 0.5
DEFAULT_BANDWIDTH_EFFICIENCY = 0.60

ACTIVATION_BYTES = 2.0  # all-reduced activations stay in 16-bit


@dataclass(frozen=True)
class RooflineInputs:
    accelerator: Accelerator
    model: ModelShape
    precision: str = "bf16"
    batch_size: Num = 1.0
    input_tokens: Num = 512.0
    output_tokens: Num = 128.0
    tensor_parallel: int = 1
    mfu: Num = DEFAULT_MFU
    bandwidth_efficiency: Num = DEFAULT_BANDWIDTH_EFFICIENCY
    kv_precision: str | None = None


@dataclass(frozen=True)
class Throughput:
    """Tokens per second of one replica; `source` says how they were obtained."""

    prefill_tokens_per_s: Num
    decode_tokens_per_s: Num
    source: str
    decode_bound: str = "measured"
    memory_needed_gb: Num = 0.0


def attention_flops_per_token(model: ModelShape, context: Num) -> Num:
    # QKᵀ and AV: 2 matmuls × 2 FLOPs per multiply-add × heads·head_dim per cached position
    return 4.0 * model.layers * model.attention_heads * model.head_dim * context


def _expert_touched_fraction(model: ModelShape, batch: Num) -> Num:
    """Share of routed-expert weights one decode step reads: 1 − (1 − k/E)^batch."""
    if not model.experts or not model.experts_per_token:
        return 1.0
    miss = 1.0 - model.experts_per_token / model.experts
    return 1.0 - np.power(miss, batch)


def weight_bytes_per_step(model: ModelShape, bytes_per_param: float, batch: Num) -> Num:
    total = model.params_total_b * 1e9
    if not model.experts or not model.experts_per_token:
        return total * bytes_per_param
    # active = shared + k experts, total = shared + E experts: one expert = (total − active)/(E − k)
    per_expert = (total - model.params_active_b * 1e9) / (model.experts - model.experts_per_token)
    routed = per_expert * model.experts
    shared = total - routed
    return (shared + routed * _expert_touched_fraction(model, batch)) * bytes_per_param


def allreduce_seconds(acc: Accelerator, model: ModelShape, tp: int, tokens: Num) -> Num:
    """Two ring all-reduces of the activations per layer when tensor parallel."""
    link = acc.interconnect_gb_s
    if tp <= 1 or not link:
        return 0.0
    per_layer = 2 * tokens * model.hidden_size * ACTIVATION_BYTES * 2 * (tp - 1) / tp
    return model.layers * per_layer / (link * 1e9)


def roofline(inp: RooflineInputs) -> Throughput:
    if inp.precision not in BYTES_PER_ELEMENT:
        raise InputError(
            f"precision: {inp.precision!r} is not one of {', '.join(BYTES_PER_ELEMENT)}"
        )
    acc, model, tp = inp.accelerator, inp.model, inp.tensor_parallel
    peak = acc.peak_tflops(inp.precision) * 1e12 * tp
    bandwidth = acc.memory_bandwidth_gb_s * 1e9 * tp
    w_bytes = BYTES_PER_ELEMENT[inp.precision]
    kv_bytes = BYTES_PER_ELEMENT[inp.kv_precision or inp.precision]
    dense_flops = 2.0 * model.params_active_b * 1e9

    # Prefill: the average prompt token attends to half the prompt (causal).
    prefill_flops = dense_flops + attention_flops_per_token(model, inp.input_tokens / 2)
    prefill_seconds_per_token = prefill_flops / (peak * inp.mfu)
    prefill_seconds_per_token = prefill_seconds_per_token + allreduce_seconds(acc, model, tp, 1.0)
    prefill_tps = 1.0 / prefill_seconds_per_token

    # Decode: the average generated token sees the prompt plus half the answer.
    context = inp.input_tokens + inp.output_tokens / 2
    batch = inp.batch_size
    kv_cache_bytes = batch * context * model.kv_elements_per_token * kv_bytes
    step_bytes = weight_bytes_per_step(model, w_bytes, batch) + kv_cache_bytes
    t_memory = step_bytes / (bandwidth * inp.bandwidth_efficiency)
    t_compute = batch * (dense_flops + attention_flops_per_token(model, context)) / (peak * inp.mfu)
    step = np.maximum(t_memory, t_compute) + allreduce_seconds(acc, model, tp, batch)
    decode_tps = batch / step

    full_context = inp.input_tokens + inp.output_tokens
    memory_needed = (
        model.params_total_b * 1e9 * w_bytes
        + batch * full_context * model.kv_elements_per_token * kv_bytes
    ) / 1e9
    capacity = acc.memory_gb * tp
    if np.any(np.asarray(memory_needed) > capacity):
        raise InputError(
            f"batch_size: {model.name} at {inp.precision} with batch {fmt(batch)} × "
            f"{fmt(full_context)} tokens needs {fmt(memory_needed)} GB but {tp} × "
            f"{acc.name} hold {fmt(capacity)} GB; lower the batch or precision, or add accelerators"
        )
    bound = np.where(np.asarray(t_memory) >= np.asarray(t_compute), "memory", "compute")
    kinds = set(bound.ravel().tolist())
    return Throughput(
        prefill_tokens_per_s=plain(prefill_tps),
        decode_tokens_per_s=plain(decode_tps),
        source=(
            f"roofline: {model.name} {inp.precision} on {tp} × {acc.name} "
            f"({fmt(acc.peak_tflops(inp.precision))} TFLOP/s, {fmt(acc.memory_bandwidth_gb_s)} GB/s, "
            f"{cite(acc.source)}), batch {fmt(batch)}, MFU {fmt(inp.mfu)}, "
            f"bandwidth efficiency {fmt(inp.bandwidth_efficiency)}"
        ),
        decode_bound=kinds.pop() if len(kinds) == 1 else "mixed",
        memory_needed_gb=plain(memory_needed),
    )
