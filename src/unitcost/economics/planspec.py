"""The plan file: demand, SLOs, candidate accelerators, facility and price, validated.

    name: llama-70b-fleet
    model: llama-3.3-70b
    demand:                         # requests/s by input/output length bucket
      - {input_tokens: 1000, output_tokens: 250, requests_per_s: 40}
    slo: {ttft_p95_ms: 2000, tpot_p95_ms: 50}
    facility: {preset: hyperscale-us-ppa, power_cap_mw: 2.0, pue: 1.2, usd_per_mwh: 62.29}
    price: {input_usd_per_m: 0.6, output_usd_per_m: 0.8}
    candidates:
      - {accelerator: H100-SXM, precision: fp8, stack: trtllm, available: 512,
         lease_usd_per_hour: 2.69}
      - {accelerator: MI300X, precision: fp8, stack: vllm, purchase_usd: 15000}

A candidate costs its lease, or its purchase over `lifetime_years` at `cost_of_capital`
(capital recovery factor), plus `host_opex_usd_per_hour`, per accelerator. Facility
figures not given come from the preset (catalog/data/facilities.yaml), each with its source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from unitcost.catalog import Catalog, cite, load_catalog
from unitcost.economics.capacity import Bucket, Candidate, replica_size
from unitcost.economics.plan import Facility, PlanInputs
from unitcost.economics.spec import own_or_rent
from unitcost.economics.tco import HOURS_PER_YEAR, capital_recovery
from unitcost.errors import CatalogLookupError, InputError, describe_validation_error
from unitcost.yamlfile import parse_mapping, read_text

__all__ = [
    "DEFAULT_HOST_WATTS",
    "CandidateSpec",
    "PlanSpec",
    "load_plan",
    "parse_plan",
    "plan_inputs",
]

#: per accelerator, at full load: NVIDIA DGX H100 datasheet, ~10.2 kW max system power for
#: 8 × 700 W GPUs → (10,200 − 5,600) / 8 W of CPUs, memory, NICs, fans and storage
DEFAULT_HOST_WATTS = 575.0
HOST_WATTS_SOURCE = (
    "default 575 W per accelerator: NVIDIA DGX H100 datasheet, ~10.2 kW max system power "
    "less 8 × 700 W GPUs, ÷ 8"
)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class BucketSpec(_Spec):
    input_tokens: float = Field(gt=0)
    output_tokens: float = Field(gt=0)
    requests_per_s: float = Field(ge=0)


class SloSpec(_Spec):
    ttft_p95_ms: float | None = Field(None, gt=0)
    tpot_p95_ms: float | None = Field(None, gt=0)


class CandidateSpec(_Spec):
    accelerator: str
    precision: Literal["bf16", "fp16", "fp8", "int8", "int4"] = "bf16"
    stack: str | None = None
    accelerators_per_replica: int | None = Field(None, ge=1)
    available: int | None = Field(None, ge=0, description="accelerators that can be had")
    lease_usd_per_hour: float | None = Field(None, ge=0)
    lease_includes_power: bool = True
    purchase_usd: float | None = Field(None, ge=0)
    lifetime_years: float = Field(4.0, gt=0)
    cost_of_capital: float = Field(0.0, ge=0)
    host_opex_usd_per_hour: float = Field(0.0, ge=0)
    power_watts: float | None = Field(None, gt=0)
    host_watts: float = Field(DEFAULT_HOST_WATTS, ge=0)
    idle_share: float = Field(0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _own_or_rent(self) -> CandidateSpec:
        own_or_rent(self.purchase_usd, self.lease_usd_per_hour)
        return self


class FacilitySpec(_Spec):
    preset: str = "industry-average-us"
    power_cap_mw: float | None = Field(None, gt=0)
    pue: float | None = Field(None, ge=1)
    usd_per_mwh: float | None = Field(None, ge=0)
    wue_l_per_kwh: float | None = Field(None, ge=0)
    carbon_g_per_kwh: float | None = Field(None, ge=0)


class PriceSpec(_Spec):
    input_usd_per_m: float = Field(ge=0)
    output_usd_per_m: float = Field(ge=0)
    source: str = "input price"


class PlanSpec(_Spec):
    name: str
    description: str = ""
    model: str
    demand: list[BucketSpec] = Field(min_length=1)
    slo: SloSpec = SloSpec()
    max_load: float = Field(0.8, gt=0, le=1)
    candidates: list[CandidateSpec] = Field(min_length=1)
    facility: FacilitySpec = FacilitySpec()
    price: PriceSpec | None = None

    @model_validator(mode="after")
    def _distinct(self) -> PlanSpec:
        seen = set()
        for c in self.candidates:
            key = (c.accelerator, c.precision, c.stack, c.accelerators_per_replica)
            if key in seen:
                raise ValueError(f"candidates: {c.accelerator} {c.precision} is listed twice")
            seen.add(key)
        if not any(b.requests_per_s > 0 for b in self.demand):
            raise ValueError(
                "demand: every bucket asks 0 requests/s; accepted: at least one bucket > 0 "
                "(a plan sizes a fleet for traffic)"
            )
        return self


def parse_plan(raw: object, origin: str = "plan") -> PlanSpec:
    if not isinstance(raw, dict):
        raise InputError(f"{origin}: expected a mapping with name, model, demand and candidates")
    try:
        return PlanSpec.model_validate(raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, prefix=origin)) from None


def load_plan(path: str | Path) -> PlanSpec:
    p = Path(path)
    return parse_plan(parse_mapping(read_text(p, "plan file"), str(p)), origin=p.name)


def _facility(cat: Catalog, spec: FacilitySpec) -> Facility:
    try:
        preset = cat.facility(spec.preset)
    except CatalogLookupError as exc:
        raise InputError(f"facility.preset: {exc.message}") from None
    values, sources = {}, {}
    for field, table in (
        ("pue", "pue"),
        ("usd_per_mwh", "electricity_usd_per_kwh"),
        ("wue_l_per_kwh", "wue_l_per_kwh"),
        ("carbon_g_per_kwh", "carbon_g_per_kwh"),
    ):
        given = getattr(spec, field)
        if given is not None:
            values[field], sources[field] = given, f"input facility.{field}"
            continue
        key = getattr(preset, table)
        figure = cat.figure(table, key)  # type: ignore[arg-type]
        values[field] = figure.value * (1000.0 if field == "usd_per_mwh" else 1.0)
        sources[field] = f"catalog {table}.{key}, {cite(figure.source, 60)}"
    return Facility(
        pue=values["pue"],
        usd_per_mwh=values["usd_per_mwh"],
        power_cap_mw=spec.power_cap_mw,
        wue_l_per_kwh=values["wue_l_per_kwh"],
        carbon_g_per_kwh=values["carbon_g_per_kwh"],
        sources=tuple(sources.items()),
    )


def _candidate(cat: Catalog, spec: PlanSpec, i: int, c: CandidateSpec) -> Candidate:
    where = f"candidates[{i}]"
    try:
        model = cat.model(spec.model)
    except CatalogLookupError as exc:
        raise InputError(f"model: {exc.message}") from None
    try:
        acc = cat.accelerator(c.accelerator)
    except CatalogLookupError as exc:
        raise InputError(f"{where}.accelerator: {exc.message}") from None
    if c.lease_usd_per_hour is not None:
        hourly, source = c.lease_usd_per_hour, f"lease ${c.lease_usd_per_hour:g}/h"
    elif c.purchase_usd is not None:
        annual = c.purchase_usd * float(capital_recovery(c.cost_of_capital, c.lifetime_years))
        hourly = annual / HOURS_PER_YEAR
        source = (
            f"${c.purchase_usd:,.0f} bought, over {c.lifetime_years:g} y at "
            f"{c.cost_of_capital * 100:g}% cost of capital"
        )
    elif acc.rental_usd_per_hour is not None:
        hourly = acc.rental_usd_per_hour.mid
        source = (
            f"catalog rental midpoint ${hourly:g}/h ({acc.rental_usd_per_hour.as_of}; the plan "
            "gave no lease_usd_per_hour or purchase_usd)"
        )
    else:
        raise InputError(f"{where}: give lease_usd_per_hour or purchase_usd for {acc.name}")
    watts = c.power_watts or acc.tdp_watts
    if watts is None:
        raise InputError(f"{where}.power_watts: the catalog has no published power for {acc.name}")
    longest = max(b.input_tokens + b.output_tokens for b in spec.demand)
    tp = c.accelerators_per_replica or replica_size(acc, model, c.precision, longest)
    billed = c.lease_usd_per_hour is None or not c.lease_includes_power
    return Candidate(
        name=f"{acc.name}×{tp} {c.precision}" + (f" {c.stack}" if c.stack else ""),
        accelerator=acc,
        model=model,
        precision=c.precision,
        accelerators=tp,
        usd_per_accelerator_hour=hourly + c.host_opex_usd_per_hour,
        stack=c.stack,
        available=c.available,
        energy_billed=billed,
        gpu_watts=watts,
        host_watts=c.host_watts,
        idle_share=c.idle_share,
        cost_source=source + ("" if billed else ", power included"),
    )


def plan_inputs(spec: PlanSpec, catalog: Catalog | None = None) -> PlanInputs:
    cat = catalog or load_catalog()
    slo = spec.slo
    return PlanInputs(
        buckets=tuple(
            Bucket(b.input_tokens, b.output_tokens, b.requests_per_s) for b in spec.demand
        ),
        candidates=tuple(_candidate(cat, spec, i, c) for i, c in enumerate(spec.candidates)),
        facility=_facility(cat, spec.facility),
        ttft_slo_s=slo.ttft_p95_ms / 1000 if slo.ttft_p95_ms else None,
        tpot_slo_s=slo.tpot_p95_ms / 1000 if slo.tpot_p95_ms else None,
        max_load=spec.max_load,
        price_usd_per_m=(spec.price.input_usd_per_m, spec.price.output_usd_per_m)
        if spec.price
        else None,
    )
