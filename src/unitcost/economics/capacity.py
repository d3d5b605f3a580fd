"""What one replica of a candidate serves of one demand bucket within the SLOs.

    >>> from unitcost.catalog import load_catalog
    >>> cat = load_catalog()
    >>> kind = Candidate("H100", cat.accelerator("H100-SXM"), cat.model("llama-3.1-8b"), "fp8",
    ...                  accelerators=1, usd_per_accelerator_hour=2.5)
    >>> cap = capacity(kind, Bucket(1000, 250, 10.0), ttft_slo_s=1.0, tpot_slo_s=0.05)
    >>> cap.requests_per_s > 0
    True

The batch is the one with the most throughput whose TPOT meets the SLO and whose KV cache
fits (economics/batch.py); the TTFT is one prompt's prefill alone. p95 latencies are held by
planning each replica at most at `max_load` of that capacity (the planner's job): the model
does not simulate queues, so a tight TTFT SLO wants a lower `max_load`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from unitcost.catalog import Accelerator, ModelShape
from unitcost.economics.batch import choose_batch
from unitcost.economics.breakdown import as_float
from unitcost.economics.calibration import efficiency
from unitcost.economics.memory import accelerators_that_fit, max_batch
from unitcost.economics.roofline import RooflineInputs, roofline
from unitcost.errors import InputError

__all__ = ["Bucket", "Candidate", "Capacity", "capacity", "replica_size"]

#: a default replica is the smallest power of two with room for this many sequences
MIN_SEQUENCES = 16


@dataclass(frozen=True)
class Bucket:
    input_tokens: float
    output_tokens: float
    requests_per_s: float

    @property
    def name(self) -> str:
        return f"{self.input_tokens:,.0f}→{self.output_tokens:,.0f}"


@dataclass(frozen=True)
class Candidate:
    """One kind of replica the planner may buy or lease."""

    name: str
    accelerator: Accelerator
    model: ModelShape
    precision: str
    accelerators: int
    usd_per_accelerator_hour: float
    stack: str | None = None
    available: int | None = None  # accelerators
    energy_billed: bool = True
    gpu_watts: float = 0.0
    host_watts: float = 0.0  # per accelerator: CPUs, memory, NICs, fans, its share of switches
    idle_share: float = 0.2  # share of the accelerator's power drawn when idle
    cost_source: str = ""


def replica_size(acc: Accelerator, model: ModelShape, precision: str, context: float) -> int:
    smallest = accelerators_that_fit(acc, model, precision, context)
    if smallest is None:
        raise InputError(
            f"candidates: {model.name} at {precision} does not fit on up to 64 × {acc.name}"
        )
    tp = smallest
    while (
        tp < 64
        and max_batch(acc, model, precision, tensor_parallel=tp, context_tokens=context)
        < MIN_SEQUENCES
    ):
        tp *= 2
    return tp


@dataclass(frozen=True)
class Capacity:
    requests_per_s: float  # per replica at full load; 0 when it cannot serve the bucket
    batch: float = 0.0
    ttft_s: float = 0.0
    tpot_s: float = 0.0
    why_not: str | None = None


def capacity(
    kind: Candidate, bucket: Bucket, *, ttft_slo_s: float | None, tpot_slo_s: float | None
) -> Capacity:
    eff = efficiency(kind.accelerator.vendor, kind.precision, kind.stack)
    base = RooflineInputs(
        accelerator=kind.accelerator,
        model=kind.model,
        precision=kind.precision,
        input_tokens=bucket.input_tokens,
        output_tokens=bucket.output_tokens,
        tensor_parallel=kind.accelerators,
        mfu=eff.mfu,
        bandwidth_efficiency=eff.mbu,
        collective_latency_s=eff.collective_latency_s,
        prefill_overlap=eff.overlap,
        serving_efficiency=eff.serving,
        check_memory=False,
    )
    try:
        choice = choose_batch(base, tpot_slo_s=tpot_slo_s)
    except InputError as exc:
        return Capacity(0.0, why_not=exc.message)
    t = roofline(replace(base, batch_size=choice.batch))
    ttft = as_float(t.ttft_s)
    if ttft_slo_s is not None and ttft > ttft_slo_s:
        return Capacity(
            0.0,
            choice.batch,
            ttft,
            choice.tpot_s,
            why_not=f"TTFT {ttft * 1000:,.0f} ms for a {bucket.input_tokens:,.0f}-token prompt "
            f"is over the SLO of {ttft_slo_s * 1000:,.0f} ms",
        )
    per_request = bucket.input_tokens / as_float(t.prefill_tokens_per_s) + (
        bucket.output_tokens / as_float(t.decode_tokens_per_s)
    )
    return Capacity(1.0 / per_request, choice.batch, ttft, choice.tpot_s)
