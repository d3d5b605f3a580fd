"""The batch to serve at when none is given: the most throughput that fits, within a TPOT SLO.

    >>> from unitcost.catalog import load_catalog
    >>> cat = load_catalog()
    >>> pick = choose_batch(RooflineInputs(cat.accelerator("H100-SXM"), cat.model("llama-3.1-8b"),
    ...                                    "fp8", input_tokens=1000, output_tokens=250))
    >>> pick.batch <= pick.most_that_fit
    True

Throughput rises with the batch until decode turns compute-bound, then flattens while
every step (TPOT) keeps growing, so the choice is the smallest batch within
`NEAR_BEST` of the highest throughput among the batches whose KV cache fits (and whose
step time meets the TPOT SLO, when one is given). `reason` says which limit chose it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from unitcost.economics.breakdown import as_float
from unitcost.economics.memory import max_batch, memory_use, refusal
from unitcost.economics.roofline import RooflineInputs, roofline
from unitcost.errors import InputError

__all__ = ["NEAR_BEST", "BatchChoice", "choose_batch"]

NEAR_BEST = 0.99


@dataclass(frozen=True)
class BatchChoice:
    batch: float
    most_that_fit: int
    tpot_s: float
    output_tokens_per_s: float
    reason: str


def _point(inp: RooflineInputs) -> RooflineInputs:
    """Point values for the search: a Monte-Carlo run picks one batch for every draw."""
    return replace(
        inp,
        input_tokens=as_float(inp.input_tokens),
        output_tokens=as_float(inp.output_tokens),
        mfu=as_float(inp.mfu),
        bandwidth_efficiency=as_float(inp.bandwidth_efficiency),
        collective_latency_s=as_float(inp.collective_latency_s),
        prefill_overlap=as_float(inp.prefill_overlap),
        serving_efficiency=as_float(inp.serving_efficiency),
        check_memory=False,
    )


def _candidates(most: int) -> np.ndarray:
    grid = np.unique(np.concatenate([np.geomspace(1, most, num=96).round(), [1.0, float(most)]]))
    return grid[grid >= 1]


def choose_batch(inp: RooflineInputs, tpot_slo_s: float | None = None) -> BatchChoice:
    p = _point(inp)
    context = float(p.input_tokens) + float(p.output_tokens)
    most = max_batch(
        p.accelerator,
        p.model,
        p.precision,
        tensor_parallel=p.tensor_parallel,
        context_tokens=context,
        kv_precision=p.kv_precision,
        chunk_tokens=p.prefill_chunk_tokens,
    )
    if most < 1:
        use = memory_use(
            p.accelerator,
            p.model,
            p.precision,
            tensor_parallel=p.tensor_parallel,
            batch=1.0,
            context_tokens=context,
            kv_precision=p.kv_precision,
            chunk_tokens=p.prefill_chunk_tokens,
        )
        raise InputError(
            refusal(use, p.accelerator, p.model, p.precision, batch=1.0, context_tokens=context)
        )
    batches = _candidates(most)
    t = roofline(replace(p, batch_size=batches))
    pre = np.asarray(t.prefill_tokens_per_s)
    dec = np.asarray(t.decode_tokens_per_s)
    rate = float(p.output_tokens) / (float(p.input_tokens) / pre + float(p.output_tokens) / dec)
    tpot = np.asarray(t.tpot_s)
    allowed = tpot <= tpot_slo_s if tpot_slo_s is not None else np.ones_like(rate, dtype=bool)
    if not allowed.any():
        slo_ms = (tpot_slo_s or 0.0) * 1000
        raise InputError(
            f"tpot_slo_ms: {p.model.name} on {p.tensor_parallel} × {p.accelerator.name} takes "
            f"{tpot[0] * 1000:.1f} ms per output token even at batch 1, over the SLO of "
            f"{slo_ms:.1f} ms; accepted: a TPOT SLO the hardware can meet, or more "
            "accelerators per replica"
        )
    best = rate[allowed].max()
    index = int(np.flatnonzero(allowed & (rate >= NEAR_BEST * best))[0])
    batch = float(batches[index])
    limited = (
        f"the TPOT SLO of {tpot_slo_s * 1000:g} ms"
        if tpot_slo_s is not None and not allowed[-1]
        else f"memory (KV cache for at most {most:,} sequences of {context:,.0f} tokens)"
    )
    return BatchChoice(
        batch=batch,
        most_that_fit=most,
        tpot_s=float(tpot[index]),
        output_tokens_per_s=float(rate[index]),
        reason=(
            f"batch {batch:,.0f}: the smallest within {1 - NEAR_BEST:.0%} of the most "
            f"throughput allowed by {limited}; TPOT {tpot[index] * 1000:.1f} ms"
        ),
    )
