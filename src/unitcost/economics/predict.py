"""What the cost model predicts for one published measurement, and what a point implies.

    >>> from unitcost.catalog import load_catalog
    >>> p = Point(name="x", kind="decode", accelerator="A100-80GB", model="llama-2-7b",
    ...           input_tokens=5, output_tokens=200, measured=104.9, source="gpt-fast")
    >>> round(implied_mbu(load_catalog(), p, 0.0), 2)
    0.7

A point's `kind` says what `measured` is (catalog/data/calibration.yaml lists them). The
prediction runs the same roofline that prices deployments, at the efficiencies a user
would get for the point's vendor, precision and stack (economics/efficiency.py).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict

from unitcost.catalog import BYTES_PER_ELEMENT, Catalog
from unitcost.economics.breakdown import Num, as_float
from unitcost.economics.efficiency import Efficiency, Key, precision_class
from unitcost.economics.memory import max_batch
from unitcost.economics.roofline import (
    RooflineInputs,
    attention_flops_per_token,
    collective_seconds,
    decode_step_seconds,
    prefill_seconds_per_token,
    roofline,
    ttft_seconds,
    weight_bytes_per_step,
)

__all__ = [
    "Point",
    "System",
    "implied_collective_latency",
    "implied_mbu",
    "implied_mfu",
    "predict",
    "serving_batch",
    "serving_inputs",
    "serving_output_rate",
    "training_flops",
    "workload_output_rate",
]

Kind = Literal["prefill", "decode", "mbu", "latency", "serving", "ratio", "training"]


class System(BaseModel):
    """One serving system: `replicas` replicas of `accelerators` accelerators each."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    stack: str = "other"
    accelerator: str = ""
    accelerators: int = 1
    replicas: int = 1
    model: str = ""
    precision: str = "bf16"
    kv_precision: str | None = None
    input_tokens: float = 0.0
    output_tokens: float = 0.0
    batch: float | None = None
    max_batch: float | None = None
    scheduling: Literal["inflight", "static"] = "inflight"


class Point(System):
    name: str
    kind: Kind
    measured: float
    source: str
    held_out: bool = False
    note: str = ""
    params_active_b: float | None = None
    training_tokens_t: float | None = None
    over: tuple[System, System] | None = None


def key_of(catalog: Catalog, s: System) -> Key:
    return (catalog.accelerator(s.accelerator).vendor, precision_class(s.precision), s.stack)


def _inputs(catalog: Catalog, s: System, eff: Efficiency | None, **over: object) -> RooflineInputs:
    base: dict[str, object] = {
        "accelerator": catalog.accelerator(s.accelerator),
        "model": catalog.model(s.model),
        "precision": s.precision,
        "kv_precision": s.kv_precision,
        "input_tokens": s.input_tokens,
        "output_tokens": max(s.output_tokens, 1.0),
        "tensor_parallel": s.accelerators,
        "check_memory": False,
    }
    if eff is not None:
        base.update(
            mfu=eff.mfu,
            bandwidth_efficiency=eff.mbu,
            collective_latency_s=eff.collective_latency_s,
        )
    base.update(over)
    return RooflineInputs(**base)  # type: ignore[arg-type]


def workload_output_rate(prefill_tps: float, decode_tps: float, inp: float, out: float) -> float:
    """Output tokens/s of a replica that spends its time on prefill and decode in turn."""
    return out / (inp / prefill_tps + out / decode_tps)


def _step_bytes(catalog: Catalog, s: System, batch: float) -> float:
    model = catalog.model(s.model)
    kv = BYTES_PER_ELEMENT[s.kv_precision or s.precision]
    context = s.input_tokens + s.output_tokens / 2
    weights = as_float(weight_bytes_per_step(model, BYTES_PER_ELEMENT[s.precision], batch))
    return weights + batch * context * model.kv_elements_per_token * kv


def _bandwidth(catalog: Catalog, s: System) -> float:
    return catalog.accelerator(s.accelerator).memory_bandwidth_gb_s * 1e9 * s.accelerators


def _comm(catalog: Catalog, s: System, tokens: float, latency_s: float) -> float:
    acc, model = catalog.accelerator(s.accelerator), catalog.model(s.model)
    return as_float(collective_seconds(acc, model, s.accelerators, tokens, latency_s))


def implied_mbu(catalog: Catalog, p: Point, latency_s: float) -> float:
    """A batch-1 decode rate (or a batch-1 end-to-end latency, every token a weight read:
    a short prompt alone reads the weights once, like a step) → bandwidth efficiency."""
    if p.kind == "mbu":
        return p.measured
    step = p.measured / p.output_tokens if p.kind == "latency" else 1.0 / p.measured
    busy = step - _comm(catalog, p, 1.0, latency_s)
    return _step_bytes(catalog, p, 1.0) / (_bandwidth(catalog, p) * busy)


def implied_collective_latency(catalog: Catalog, p: Point, mbu: float) -> float:
    """The fixed cost per collective that closes the gap between a TP decode step and
    its weights-and-cache read at the key's single-accelerator MBU."""
    read = _step_bytes(catalog, p, 1.0) / (_bandwidth(catalog, p) * mbu)
    payload = _comm(catalog, p, 1.0, 0.0)
    return (1.0 / p.measured - read - payload) / (2 * catalog.model(p.model).layers)


def implied_mfu(catalog: Catalog, p: Point, latency_s: float) -> float:
    """A batch-1 first-token latency (a long prompt: compute-bound) → prefill MFU."""
    acc, model = catalog.accelerator(p.accelerator), catalog.model(p.model)
    per_token = 2.0 * model.params_active_b * 1e9 + as_float(
        attention_flops_per_token(model, p.input_tokens / 2)
    )
    peak = acc.peak_tflops(p.precision) * 1e12 * p.accelerators
    busy = p.measured / 1000.0 - _comm(catalog, p, p.input_tokens, latency_s)
    return p.input_tokens * per_token / (peak * busy)


def training_flops(p: Point) -> float:
    return 6.0 * (p.params_active_b or 0.0) * 1e9 * (p.training_tokens_t or 0.0) * 1e12


def serving_batch(catalog: Catalog, s: System) -> float:
    """The given batch (static batching), else the most that fits memory, capped."""
    if s.batch is not None:
        return s.batch
    batch = float(
        max_batch(
            catalog.accelerator(s.accelerator),
            catalog.model(s.model),
            s.precision,
            tensor_parallel=s.accelerators,
            context_tokens=s.input_tokens + s.output_tokens,
            kv_precision=s.kv_precision,
        )
    )
    if s.max_batch is not None:
        batch = min(batch, s.max_batch)
    return max(batch, 1.0)


def serving_inputs(
    catalog: Catalog, s: System, eff: Efficiency, batch: float, overlap: Num
) -> RooflineInputs:
    return _inputs(
        catalog,
        s,
        eff,
        batch_size=batch,
        prefill_overlap=overlap,
        serving_efficiency=eff.serving,
    )


def serving_output_rate(catalog: Catalog, s: System, eff: Efficiency) -> tuple[float, float]:
    """(output tokens/s of the whole system, batch) at maximum load."""
    batch = serving_batch(catalog, s)
    overlap = eff.overlap if s.scheduling == "inflight" else 0.0
    t = roofline(serving_inputs(catalog, s, eff, batch, overlap))
    rate = workload_output_rate(
        as_float(t.prefill_tokens_per_s),
        as_float(t.decode_tokens_per_s),
        s.input_tokens,
        s.output_tokens,
    )
    return rate * s.replicas, batch


def predict(catalog: Catalog, p: Point, eff: Efficiency, training_mfu: float) -> tuple[float, str]:
    """(predicted value of `measured`, a few words on how)."""
    if p.kind == "prefill":
        inp = _inputs(catalog, p, eff, batch_size=1.0)
        return as_float(ttft_seconds(inp)) * 1000.0, f"TTFT ms at MFU {eff.mfu:.2f}"
    if p.kind == "decode":
        step = as_float(decode_step_seconds(_inputs(catalog, p, eff), 1.0)[0])
        return 1.0 / step, f"tok/s at MBU {eff.mbu:.2f}"
    if p.kind == "mbu":
        return eff.mbu, f"MBU [{eff.mbu_from}]"
    if p.kind == "latency":
        b = p.batch or 1.0
        inp = _inputs(catalog, p, eff, batch_size=b)
        tokens = b * p.input_tokens
        chunk = min(tokens, max(p.input_tokens, inp.prefill_chunk_tokens))
        prefill = tokens * as_float(prefill_seconds_per_token(inp, chunk))
        step = as_float(decode_step_seconds(inp, b)[0])
        return prefill + (p.output_tokens - 1) * step, f"s at batch {b:g}"
    if p.kind == "serving":
        rate, batch = serving_output_rate(catalog, p, eff)
        return rate, f"out tok/s at batch {batch:,.0f}"
    if p.kind == "training":
        acc = catalog.accelerator(p.accelerator)
        hours = training_flops(p) / (acc.bf16_tflops * 1e12 * training_mfu) / 3600.0
        return hours, f"GPU-h at MFU {training_mfu:.2f}"
    raise ValueError(f"{p.kind} points are predicted by the caller")


def ratio_of(rates: list[tuple[float, float]]) -> tuple[float, str]:
    """Geometric mean of system-A ÷ system-B over the input lengths tried."""
    ratios = [a / b for a, b in rates]
    mean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    return mean, "ratio over input " + " / ".join(f"{r:.3f}" for r in ratios)
