"""Roofline throughput of one model replica (tensor parallel over `tp` accelerators).

    >>> from unitcost.catalog import load_catalog
    >>> cat = load_catalog()
    >>> t = roofline(RooflineInputs(cat.accelerator("H100-SXM"), cat.model("llama-3.1-8b"),
    ...                             precision="bf16", batch_size=1, input_tokens=512,
    ...                             output_tokens=128))
    >>> t.decode_bound
    'memory'

Prefill is compute-bound: FLOPs per prompt token ≈ 2·N_active plus causal attention, at
peak × MFU, but never faster than reading the weights once per prefill pass (a short
prompt alone is memory-bound). Decode is memory-bound: each step reads the weights (for a
MoE, the experts the batch touches) and the batch's KV cache at bandwidth × efficiency,
with the compute ceiling taking over at large batch. Tensor parallelism splits both over
`tp` accelerators and adds two collectives per layer (all-reduces; for a MoE, the
expert-parallel dispatch and combine), each costing a fixed latency plus its bytes over the
interconnect. In serving, chunked prefill puts prompt work into decode steps that wait on
memory: a share `prefill_overlap` of the prompt compute that fits in that idle time hides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from unitcost.catalog import BYTES_PER_ELEMENT, Accelerator, ModelShape, cite
from unitcost.economics.breakdown import Num, fmt, plain
from unitcost.economics.memory import PREFILL_CHUNK_TOKENS, MemoryUse, memory_use, refusal
from unitcost.errors import InputError

__all__ = [
    "DEFAULT_BANDWIDTH_EFFICIENCY",
    "DEFAULT_COLLECTIVE_LATENCY_S",
    "DEFAULT_MFU",
    "RooflineInputs",
    "Throughput",
    "attention_flops_per_token",
    "collective_seconds",
    "decode_step_seconds",
    "prefill_seconds_per_token",
    "roofline",
    "ttft_seconds",
    "weight_bytes_per_step",
]

#: The global fall-backs when nothing narrower is calibrated: the medians of every fitted
#: point in catalog/data/calibration.yaml (`unitcost calibration`; pinned by
#: tests/unit/economics/test_calibration.py). Scenarios and plans use the efficiencies
#: keyed by vendor, precision and serving stack (economics/efficiency.py) instead.
DEFAULT_MFU = 0.54
DEFAULT_BANDWIDTH_EFFICIENCY = 0.53
#: fixed cost of one tensor/expert-parallel collective (launch + synchronisation), fitted
#: on gpt-fast's tensor-parallel decode scaling (Llama-2-7B, 8 × A100)
DEFAULT_COLLECTIVE_LATENCY_S = 24e-6

ACTIVATION_BYTES = 2.0  # collective payloads stay in 16-bit


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
    collective_latency_s: Num = DEFAULT_COLLECTIVE_LATENCY_S
    prefill_overlap: Num = 0.0
    serving_efficiency: Num = 1.0
    prefill_chunk_tokens: float = PREFILL_CHUNK_TOKENS
    check_memory: bool = True


@dataclass(frozen=True)
class Throughput:
    """Tokens per second of one replica in serving; `source` says how they were obtained.

    The rates include the chunked-prefill overlap and the serving efficiency, so the time
    they charge adds up to the replica's real time per request; `ttft_s` and `tpot_s` are
    one request's time to first token (its prompt alone) and time per output token.
    """

    prefill_tokens_per_s: Num
    decode_tokens_per_s: Num
    source: str
    decode_bound: str = "measured"
    memory_needed_gb: Num = 0.0
    ttft_s: Num = 0.0
    tpot_s: Num = 0.0
    memory: MemoryUse | None = field(default=None, compare=False)


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


def collective_seconds(
    acc: Accelerator, model: ModelShape, tp: int, tokens: Num, latency_s: Num
) -> Num:
    """Two collectives per layer for one forward pass over `tokens` tokens: a fixed latency
    each, plus the payload over the interconnect (ring all-reduce for dense layers; for a
    MoE, each token's hidden state sent to its k experts and back)."""
    link = acc.interconnect_gb_s
    if tp <= 1 or not link:
        return 0.0
    share = (tp - 1) / tp
    if model.experts and model.experts_per_token:
        per_layer = 2 * tokens * model.experts_per_token * model.hidden_size * ACTIVATION_BYTES
    else:
        per_layer = 2 * tokens * model.hidden_size * ACTIVATION_BYTES * 2
    return model.layers * (2 * latency_s + per_layer * share / (link * 1e9))


def _peak(inp: RooflineInputs) -> float:
    return inp.accelerator.peak_tflops(inp.precision) * 1e12 * inp.tensor_parallel


def _bandwidth(inp: RooflineInputs) -> float:
    return inp.accelerator.memory_bandwidth_gb_s * 1e9 * inp.tensor_parallel


def prefill_seconds_per_token(inp: RooflineInputs, chunk: Num) -> Num:
    """Per prompt token, in passes of `chunk` tokens: compute, or one read of the
    weights per pass when that is slower, plus the pass's collectives."""
    model = inp.model
    flops = 2.0 * model.params_active_b * 1e9 + attention_flops_per_token(
        model, inp.input_tokens / 2
    )
    compute = flops / (_peak(inp) * inp.mfu)
    weights = weight_bytes_per_step(model, BYTES_PER_ELEMENT[inp.precision], chunk)
    read = weights / (_bandwidth(inp) * inp.bandwidth_efficiency) / chunk
    comm = collective_seconds(
        inp.accelerator, model, inp.tensor_parallel, chunk, inp.collective_latency_s
    )
    return np.maximum(compute, read) + comm / chunk


def decode_step_seconds(inp: RooflineInputs, batch: Num) -> tuple[Num, Num, Num]:
    """(step time, memory time, compute time) of one decode step at `batch`."""
    model = inp.model
    kv_bytes = BYTES_PER_ELEMENT[inp.kv_precision or inp.precision]
    context = inp.input_tokens + inp.output_tokens / 2
    kv_cache_bytes = batch * context * model.kv_elements_per_token * kv_bytes
    step_bytes = (
        weight_bytes_per_step(model, BYTES_PER_ELEMENT[inp.precision], batch) + kv_cache_bytes
    )
    t_memory = step_bytes / (_bandwidth(inp) * inp.bandwidth_efficiency)
    dense_flops = 2.0 * model.params_active_b * 1e9
    t_compute = (
        batch * (dense_flops + attention_flops_per_token(model, context)) / (_peak(inp) * inp.mfu)
    )
    comm = collective_seconds(
        inp.accelerator, model, inp.tensor_parallel, batch, inp.collective_latency_s
    )
    return np.maximum(t_memory, t_compute) + comm, t_memory, t_compute


def ttft_seconds(inp: RooflineInputs) -> Num:
    """One prompt's prefill alone, in chunks of at most `prefill_chunk_tokens`."""
    chunk = np.minimum(inp.input_tokens, inp.prefill_chunk_tokens)
    return inp.input_tokens * prefill_seconds_per_token(inp, chunk)


def overlap_speedup(prefill_s: Num, decode_s: Num, decode_slack_s: Num, overlap: Num) -> Num:
    """How much faster a request's work runs when chunked prefill rides on decode steps:
    prompt compute can hide only in the decode steps' idle compute (`decode_slack_s`, the
    time they wait on memory), and `overlap` is the share of that which is realised."""
    total = prefill_s + decode_s
    return total / (total - overlap * np.minimum(prefill_s, decode_slack_s))


def _check_precision(precision: str) -> None:
    if precision not in BYTES_PER_ELEMENT:
        raise InputError(f"precision: {precision!r} is not one of {', '.join(BYTES_PER_ELEMENT)}")


def roofline(inp: RooflineInputs) -> Throughput:
    _check_precision(inp.precision)
    acc, model, tp, batch = inp.accelerator, inp.model, inp.tensor_parallel, inp.batch_size
    full_context = inp.input_tokens + inp.output_tokens
    use = memory_use(
        acc,
        model,
        inp.precision,
        tensor_parallel=tp,
        batch=batch,
        context_tokens=full_context,
        kv_precision=inp.kv_precision,
        chunk_tokens=inp.prefill_chunk_tokens,
    )
    if inp.check_memory and not use.fits:
        raise InputError(
            refusal(use, acc, model, inp.precision, batch=batch, context_tokens=full_context)
        )
    # Serving: the batch's prompts share prefill passes of up to one chunk.
    chunk = np.minimum(
        batch * inp.input_tokens, np.maximum(inp.input_tokens, inp.prefill_chunk_tokens)
    )
    prefill_tps = 1.0 / prefill_seconds_per_token(inp, chunk)
    step, t_memory, t_compute = decode_step_seconds(inp, batch)
    decode_tps = batch / step
    slack = inp.output_tokens * np.maximum(t_memory - t_compute, 0.0) / batch
    speedup = overlap_speedup(
        inp.input_tokens / prefill_tps, inp.output_tokens / decode_tps, slack, inp.prefill_overlap
    )
    scale = speedup * inp.serving_efficiency
    bound = np.where(np.asarray(t_memory) >= np.asarray(t_compute), "memory", "compute")
    kinds = set(bound.ravel().tolist())
    return Throughput(
        prefill_tokens_per_s=plain(prefill_tps * scale),
        decode_tokens_per_s=plain(decode_tps * scale),
        source=(
            f"roofline: {model.name} {inp.precision} on {tp} × {acc.name} "
            f"({fmt(acc.peak_tflops(inp.precision))} TFLOP/s, {fmt(acc.memory_bandwidth_gb_s)} GB/s, "
            f"{cite(acc.source)}), batch {fmt(batch)}, MFU {fmt(inp.mfu)}, "
            f"bandwidth efficiency {fmt(inp.bandwidth_efficiency)}"
            + (
                f", prefill overlap {fmt(inp.prefill_overlap)}"
                if _nonzero(inp.prefill_overlap)
                else ""
            )
            + (
                f", serving efficiency {fmt(inp.serving_efficiency)}"
                if _nonzero(np.asarray(inp.serving_efficiency) - 1.0)
                else ""
            )
        ),
        decode_bound=kinds.pop() if len(kinds) == 1 else "mixed",
        memory_needed_gb=plain(use.needed_gb),
        ttft_s=plain(ttft_seconds(inp) / inp.serving_efficiency),
        tpot_s=plain(step / inp.serving_efficiency),
        memory=use,
    )


def _nonzero(value: Num) -> bool:
    return bool(np.any(np.abs(np.asarray(value)) > 1e-12))
