"""What published measurements imply about the roofline's efficiencies.

    >>> report = calibrate()
    >>> 0.3 < report.median_mfu < 0.7 and 0.4 < report.median_mbu < 0.8
    True

Each prefill point (first-token latency at batch 1) implies an MFU; each decode point
(batch-1 tokens/s, or a published MBU) implies a memory-bandwidth utilisation. The
roofline's defaults are the medians. Throughput points are a cross-check: the measured
whole-workload rate over the roofline's estimate at the largest batch that fits.
The same arithmetic gives bench its efficiency factor for a live measurement.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict

from unitcost.catalog import BYTES_PER_ELEMENT, Catalog, ModelShape, load_catalog
from unitcost.economics.roofline import (
    RooflineInputs,
    allreduce_seconds,
    attention_flops_per_token,
    roofline,
    weight_bytes_per_step,
)

__all__ = ["Calibration", "Implied", "calibrate", "max_batch", "workload_output_rate"]


class _Point(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    source: str
    accelerator: str | None = None
    accelerators: int = 1
    model: str | None = None
    precision: str = "bf16"
    input_tokens: float = 0.0
    output_tokens: float = 0.0
    ttft_ms: float | None = None
    tokens_per_s: float | None = None
    mbu: float | None = None
    output_tokens_per_s: float | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    prefill: list[_Point]
    decode: list[_Point]
    throughput: list[_Point]


@dataclass(frozen=True)
class Implied:
    name: str
    value: float
    source: str
    detail: str = ""


@dataclass(frozen=True)
class Calibration:
    prefill_mfu: list[Implied]
    decode_mbu: list[Implied]
    throughput_ratio: list[Implied]

    @property
    def median_mfu(self) -> float:
        return statistics.median(p.value for p in self.prefill_mfu)

    @property
    def median_mbu(self) -> float:
        return statistics.median(p.value for p in self.decode_mbu)


@cache
def _points() -> _File:
    text = (resources.files("unitcost.catalog") / "data" / "calibration.yaml").read_text("utf-8")
    return _File.model_validate(yaml.safe_load(text))


def max_batch(catalog: Catalog, p: _Point, headroom: float = 0.9) -> int:
    """Largest batch whose weights and KV cache fit in `headroom` of the replica's memory."""
    acc, model = catalog.accelerator(p.accelerator or ""), catalog.model(p.model or "")
    per_element = BYTES_PER_ELEMENT[p.precision]
    free = acc.memory_gb * 1e9 * p.accelerators * headroom
    free -= model.params_total_b * 1e9 * per_element
    per_sequence = (p.input_tokens + p.output_tokens) * model.kv_elements_per_token * per_element
    return max(1, int(free // per_sequence))


def workload_output_rate(prefill_tps: float, decode_tps: float, inp: float, out: float) -> float:
    """Output tokens/s of a replica that spends its time on prefill and decode in turn."""
    return out / (inp / prefill_tps + out / decode_tps)


def _prefill(catalog: Catalog, p: _Point) -> Implied:
    acc, model = catalog.accelerator(p.accelerator or ""), catalog.model(p.model or "")
    flops = p.input_tokens * float(
        2 * model.params_active_b * 1e9 + attention_flops_per_token(model, p.input_tokens / 2)
    )
    comm = float(allreduce_seconds(acc, model, p.accelerators, p.input_tokens))
    peak = acc.peak_tflops(p.precision) * 1e12 * p.accelerators
    seconds = (p.ttft_ms or 0.0) / 1000.0
    return Implied(p.name, flops / (peak * (seconds - comm)), p.source)


def _decode(catalog: Catalog, p: _Point) -> Implied:
    if p.mbu is not None:
        return Implied(p.name, p.mbu, p.source, "published MBU")
    acc, model = catalog.accelerator(p.accelerator or ""), catalog.model(p.model or "")
    step_bytes = _step_bytes(model, p)
    step_seconds = 1.0 / (p.tokens_per_s or 1.0)
    comm = float(allreduce_seconds(acc, model, p.accelerators, 1.0))
    bandwidth = acc.memory_bandwidth_gb_s * 1e9 * p.accelerators
    return Implied(p.name, step_bytes / (bandwidth * (step_seconds - comm)), p.source)


def _step_bytes(model: ModelShape, p: _Point) -> float:
    per_element = BYTES_PER_ELEMENT[p.precision]
    context = p.input_tokens + p.output_tokens / 2
    weights = float(weight_bytes_per_step(model, per_element, 1.0))
    return weights + context * model.kv_elements_per_token * per_element


def _throughput(catalog: Catalog, p: _Point, mfu: float, mbu: float) -> Implied:
    batch = max_batch(catalog, p)
    t = roofline(
        RooflineInputs(
            catalog.accelerator(p.accelerator or ""),
            catalog.model(p.model or ""),
            p.precision,
            batch_size=float(batch),
            input_tokens=p.input_tokens,
            output_tokens=p.output_tokens,
            tensor_parallel=p.accelerators,
            mfu=mfu,
            bandwidth_efficiency=mbu,
        )
    )
    estimate = workload_output_rate(
        float(t.prefill_tokens_per_s),
        float(t.decode_tokens_per_s),
        p.input_tokens,
        p.output_tokens,
    )
    return Implied(
        p.name,
        (p.output_tokens_per_s or 0.0) / estimate,
        p.source,
        f"measured {p.output_tokens_per_s:g} vs roofline {estimate:,.0f} output tok/s at batch {batch}",
    )


def calibrate(catalog: Catalog | None = None) -> Calibration:
    catalog = catalog or load_catalog()
    points = _points()
    prefill = [_prefill(catalog, p) for p in points.prefill]
    decode = [_decode(catalog, p) for p in points.decode]
    mfu = statistics.median(p.value for p in prefill)
    mbu = statistics.median(p.value for p in decode)
    return Calibration(
        prefill, decode, [_throughput(catalog, p, mfu, mbu) for p in points.throughput]
    )
