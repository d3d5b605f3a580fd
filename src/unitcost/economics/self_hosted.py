"""A self-hosted deployment: TCO per accelerator-hour, roofline throughput, $/1K tokens.

    >>> from unitcost.catalog import load_catalog
    >>> from unitcost.economics.sampling import PointSampler
    >>> from unitcost.economics.spec import SelfHostedSpec
    >>> d = price_self_hosted(load_catalog(), PointSampler(), "d",
    ...     SelfHostedSpec(accelerator="H100-SXM", model="llama-3.1-8b", precision="fp8",
    ...                    lease_usd_per_hour=2.5), Workload(1000.0, 250.0))
    >>> d.batch is not None and d.batch.batch >= 1
    True

Efficiencies not given come from the calibration for the accelerator's vendor, the
precision and the serving stack; a batch not given is the one with the most throughput that
fits memory and the TPOT SLO (economics/batch.py); energy on a lease is a footprint only,
unless `lease_includes_power: false`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from unitcost.catalog import Accelerator, Catalog, ModelShape, cite
from unitcost.economics.batch import BatchChoice, choose_batch
from unitcost.economics.breakdown import Num, as_float
from unitcost.economics.calibration import calibrated_stacks, efficiency
from unitcost.economics.distributions import point_value
from unitcost.economics.efficiency import Efficiency
from unitcost.economics.roofline import RooflineInputs, Throughput, roofline
from unitcost.economics.sampling import Sampler
from unitcost.economics.seed import EnergyCheck, SeedCost
from unitcost.economics.spec import Number, SelfHostedSpec
from unitcost.economics.tco import TCO, TCOInputs, accelerator_hour
from unitcost.economics.unit_cost import UnitCost, Workload, unit_cost
from unitcost.errors import CatalogLookupError, InputError

__all__ = ["DEFAULT_FACILITY", "DeploymentResult", "catalog_lookup", "price_self_hosted"]

DEFAULT_FACILITY = "industry-average-us"
_DEFAULTED = (
    "host_opex_usd_per_hour",
    "networking_usd_per_hour",
    "serving_overhead",
    "average_load",
    "lifetime_years",
    "cost_of_capital",
)


@dataclass(frozen=True)
class DeploymentResult:
    name: str
    kind: str
    unit_cost: UnitCost
    origin: str
    tco: TCO | None = None
    replica_usd_per_hour: Num | None = None
    throughput: Throughput | None = None
    seed: SeedCost | None = None
    energy_check: EnergyCheck | None = None
    batch: BatchChoice | None = None
    efficiency: Efficiency | None = None
    notes: tuple[str, ...] = ()
    sell_usd_per_1k: tuple[Num, Num] | None = None  # input, output


def catalog_lookup(path: str, find: Callable[[str], Any], name: str) -> Any:
    try:
        return find(name)
    except CatalogLookupError as exc:
        raise InputError(f"{path}: {exc.message}", param=path) from None


def _facility(
    catalog: Catalog, sample: Sampler, p: str, spec: SelfHostedSpec
) -> tuple[dict[str, Num], dict[str, str]]:
    preset_name = spec.facility or DEFAULT_FACILITY
    preset = catalog_lookup(f"{p}.facility", catalog.facility, preset_name)
    values: dict[str, Num] = {}
    sources: dict[str, str] = {}
    for table in ("pue", "electricity_usd_per_kwh", "wue_l_per_kwh", "carbon_g_per_kwh"):
        given: Number | None = getattr(spec, table)
        if table == "electricity_usd_per_kwh" and spec.electricity_usd_per_mwh is not None:
            values[table] = (
                sample(f"{p}.electricity_usd_per_mwh", spec.electricity_usd_per_mwh) / 1000
            )
            sources[table] = "input electricity_usd_per_mwh ÷ 1000"
            continue
        if given is not None:
            values[table] = sample(f"{p}.{table}", given)
            continue
        key = getattr(preset, table)
        figure = catalog.figure(table, key)
        values[table] = figure.value
        sources[table] = f"catalog {table}.{key} via facility {preset_name}, {cite(figure.source)}"
    return values, sources


def _lease(acc: Accelerator, sources: dict[str, str]) -> float | None:
    rent = acc.rental_usd_per_hour
    if rent is None:
        return None
    sources["lease_usd_per_hour"] = (
        f"catalog {acc.name}.rental_usd_per_hour: midpoint of ${rent.low:g}–${rent.high:g}"
        f" ({rent.as_of}, {cite(rent.source)})"
    )
    return rent.mid


def _roofline_inputs(
    sample: Sampler,
    p: str,
    spec: SelfHostedSpec,
    acc: Accelerator,
    model: ModelShape,
    workload: Workload,
    eff: Efficiency,
) -> RooflineInputs:
    def pick(field: str, calibrated: float) -> Num:
        given: Number | None = getattr(spec, field)
        return calibrated if given is None else sample(f"{p}.{field}", given)

    return RooflineInputs(
        accelerator=acc,
        model=model,
        precision=spec.precision,
        input_tokens=workload.input_tokens,
        output_tokens=workload.output_tokens,
        tensor_parallel=spec.accelerators,
        mfu=pick("mfu", eff.mfu),
        bandwidth_efficiency=pick("bandwidth_efficiency", eff.mbu),
        collective_latency_s=eff.collective_latency_s,
        prefill_overlap=pick("prefill_overlap", eff.overlap),
        serving_efficiency=pick("serving_efficiency", eff.serving),
    )


def _throughput(
    sample: Sampler, p: str, spec: SelfHostedSpec, base: RooflineInputs
) -> tuple[Throughput, BatchChoice | None]:
    if spec.throughput is not None:
        t = spec.throughput
        measured = Throughput(
            sample(f"{p}.throughput.input_tokens_per_s", t.input_tokens_per_s),
            sample(f"{p}.throughput.output_tokens_per_s", t.output_tokens_per_s),
            t.source,
        )
        return measured, None
    choice = None
    if spec.batch_size is None:
        slo = point_value(spec.tpot_slo_ms) / 1000.0 if spec.tpot_slo_ms is not None else None
        choice = choose_batch(base, tpot_slo_s=slo)
        batch: Num = choice.batch
    else:
        batch = sample(f"{p}.batch_size", spec.batch_size)
    return roofline(replace(base, batch_size=batch)), choice


def price_self_hosted(
    catalog: Catalog, sample: Sampler, name: str, spec: SelfHostedSpec, workload: Workload
) -> DeploymentResult:
    p = f"deployments.{name}.self_hosted"
    acc = catalog_lookup(f"{p}.accelerator", catalog.accelerator, spec.accelerator)
    model = catalog_lookup(f"{p}.model", catalog.model, spec.model)
    facility, facility_sources = _facility(catalog, sample, p, spec)
    sources = dict(facility_sources)
    for key in _DEFAULTED:
        if key not in spec.model_fields_set:
            sources[key] = f"default {getattr(spec, key):g}, not given"
    lease = (
        None
        if spec.lease_usd_per_hour is None
        else sample(f"{p}.lease_usd_per_hour", spec.lease_usd_per_hour)
    )
    purchase = None if spec.purchase_usd is None else sample(f"{p}.purchase_usd", spec.purchase_usd)
    if lease is None and purchase is None:
        lease = _lease(acc, sources)
    notes = []
    billed = lease is None or not spec.lease_includes_power
    if not billed:
        notes.append(
            "energy not added: a lease usually includes power (lease_includes_power: true); "
            "--lease-includes-power false adds it"
        )
    power = None if spec.power_watts is None else sample(f"{p}.power_watts", spec.power_watts)
    tco = accelerator_hour(
        TCOInputs(
            accelerator=acc,
            purchase_usd=purchase,
            lifetime_years=sample(f"{p}.lifetime_years", spec.lifetime_years),
            cost_of_capital=sample(f"{p}.cost_of_capital", spec.cost_of_capital),
            lease_usd_per_hour=lease,
            host_opex_usd_per_hour=sample(
                f"{p}.host_opex_usd_per_hour", spec.host_opex_usd_per_hour
            ),
            networking_usd_per_hour=sample(
                f"{p}.networking_usd_per_hour", spec.networking_usd_per_hour
            ),
            serving_overhead=sample(f"{p}.serving_overhead", spec.serving_overhead),
            power_watts=power,
            average_load=sample(f"{p}.average_load", spec.average_load),
            sources=tuple(sources.items()),
            energy_billed=billed,
            **facility,
        )
    )
    eff = efficiency(acc.vendor, spec.precision, spec.stack)
    base = _roofline_inputs(sample, p, spec, acc, model, workload, eff)
    throughput, choice = _throughput(sample, p, spec, base)
    if choice is not None:
        notes.append(f"{choice.reason} (set batch_size to override)")
    if spec.throughput is None:
        notes.append(f"efficiencies {eff.source}")
        calibrated = None in (spec.mfu, spec.bandwidth_efficiency, spec.serving_efficiency)
        if (
            calibrated
            and spec.stack is not None
            and spec.stack not in (known := calibrated_stacks())
        ):
            notes.append(
                f"stack {spec.stack!r} has no calibration points (measured stacks: "
                f"{', '.join(known)}); the efficiencies above come from other stacks' points"
            )
    batching = sample(f"{p}.batching_efficiency", spec.batching_efficiency)
    utilisation = sample(f"{p}.utilisation", spec.utilisation)
    if "utilisation" not in spec.model_fields_set:  # a default moves every figure: say it
        notes.append(
            f"utilisation {as_float(utilisation):.0%} of paid hours serving traffic (the "
            "default; utilisation sets it)"
        )
    replicas = float(spec.accelerators)
    replica_usd = tco.cost.total * replicas
    uc = unit_cost(
        replica_usd_per_hour=replica_usd,
        prefill_tokens_per_s=throughput.prefill_tokens_per_s * batching,
        decode_tokens_per_s=throughput.decode_tokens_per_s * batching,
        utilisation=utilisation,
        replica_kwh_per_hour=tco.footprint.facility_kwh * replicas,
        replica_water_l_per_hour=tco.footprint.water_l * replicas,
        replica_carbon_g_per_hour=tco.footprint.carbon_g * replicas,
    )
    sell = None
    if spec.sell_input_usd_per_m is not None and spec.sell_output_usd_per_m is not None:
        sell = (
            sample(f"{p}.sell_input_usd_per_m", spec.sell_input_usd_per_m) / 1000.0,
            sample(f"{p}.sell_output_usd_per_m", spec.sell_output_usd_per_m) / 1000.0,
        )
    origin = (
        f"economics: {spec.accelerators} × {acc.name} at ${as_float(tco.cost.total):.4g}/h each, "
        f"{throughput.source}, utilisation {as_float(utilisation):.3g}"
    )
    return DeploymentResult(
        name,
        "self_hosted",
        uc,
        origin,
        tco=tco,
        replica_usd_per_hour=replica_usd,
        throughput=throughput,
        batch=choice,
        efficiency=eff if spec.throughput is None else None,
        notes=tuple(notes),
        sell_usd_per_1k=sell,
    )
