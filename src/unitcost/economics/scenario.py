"""Evaluate a scenario once, as a seeded Monte-Carlo sample, or input by input (tornado).

    >>> from unitcost.economics.spec import parse_scenario
    >>> s = parse_scenario({"name": "x", "deployments": {"api": {"list_price": {
    ...     "input_usd_per_m": {"low": 1, "mode": 2, "high": 4}, "output_usd_per_m": 8}}}})
    >>> evaluate(s).outputs()["api.usd_per_1k_input"]
    0.002
    >>> mc = monte_carlo(s, samples=1000, seed=1)
    >>> mc.inputs
    ['deployments.api.list_price.input_usd_per_m']

One code path serves all three: a `Sampler` turns every number of the scenario into a
float (its point value, or one end of its range) or an array of draws, and the economics
functions compute on either.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from unitcost.catalog import Catalog, cite, load_catalog
from unitcost.economics.breakdown import Num, as_float, fmt
from unitcost.economics.distributions import Range, point_value
from unitcost.economics.pnl import FeatureInputs, PnL, feature_pnl, total_pnl
from unitcost.economics.roofline import RooflineInputs, Throughput, roofline
from unitcost.economics.seed import EnergyCheck, SeedCost, energy_check, seed_cost
from unitcost.economics.spec import (
    DeploymentSpec,
    FeatureSpec,
    Number,
    Scenario,
    SeedSpec,
    SelfHostedSpec,
    TrainingSpec,
)
from unitcost.economics.tco import TCO, TCOInputs, accelerator_hour
from unitcost.economics.training import TrainingCost, training_cost
from unitcost.economics.unit_cost import UnitCost, Workload, unit_cost
from unitcost.errors import CatalogLookupError, InputError

__all__ = [
    "DEFAULT_FACILITY",
    "DeploymentResult",
    "DrawSampler",
    "MonteCarlo",
    "PointSampler",
    "Result",
    "Sampler",
    "SwingSampler",
    "TornadoBar",
    "evaluate",
    "monte_carlo",
    "tornado",
]

DEFAULT_FACILITY = "industry-average-us"


class Sampler(Protocol):
    def __call__(self, path: str, value: Number) -> Num: ...


class PointSampler:
    """Every range at its point value; remembers which inputs were ranges."""

    def __init__(self) -> None:
        self.ranges: dict[str, Range] = {}

    def __call__(self, path: str, value: Number) -> Num:
        if isinstance(value, Range):
            self.ranges[path] = value
        return point_value(value)


class DrawSampler:
    """`n` draws per range; each input has its own stream, so results do not depend on
    the order inputs are visited, nor on ranges added elsewhere in the file."""

    def __init__(self, n: int, seed: int, chunk: int = 0) -> None:
        self.n, self.seed, self.chunk = n, seed, chunk

    def __call__(self, path: str, value: Number) -> Num:
        if not isinstance(value, Range):
            return float(value)
        rng = np.random.default_rng([self.seed, zlib.crc32(path.encode()), self.chunk])
        return value.sample(rng, self.n)


class SwingSampler(PointSampler):
    """One input at the low or high end of its range, the rest at their point values."""

    def __init__(self, target: str, end: str) -> None:
        super().__init__()
        self.target, self.end = target, end

    def __call__(self, path: str, value: Number) -> Num:
        if path == self.target and isinstance(value, Range):
            return value.low if self.end == "low" else value.high
        return super().__call__(path, value)


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


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    workload: Workload
    deployments: dict[str, DeploymentResult]
    features: list[PnL] = field(default_factory=list)
    training: dict[str, TrainingCost] = field(default_factory=dict)

    @cached_property
    def total(self) -> PnL | None:
        return total_pnl(self.features) if self.features else None

    def outputs(self) -> dict[str, Num]:
        """Every headline figure by a dotted name: `<deployment>.usd_per_1k_output`, ..."""
        out: dict[str, Num] = {}
        for name, d in self.deployments.items():
            out[f"{name}.usd_per_1k_input"] = d.unit_cost.usd_per_1k_input
            out[f"{name}.usd_per_1k_output"] = d.unit_cost.usd_per_1k_output
            out[f"{name}.usd_per_request"] = d.unit_cost.usd_per_request(self.workload)
            if d.replica_usd_per_hour is not None:
                out[f"{name}.usd_per_replica_hour"] = d.replica_usd_per_hour
            if d.throughput is not None:
                out[f"{name}.output_tokens_per_s"] = d.throughput.decode_tokens_per_s
        for name, t in self.training.items():
            out[f"{name}.training_usd_per_1k_tokens"] = t.usd_per_1k_served_tokens
        for p in [*self.features, *([self.total] if self.total else [])]:
            prefix = "total" if p.name == "total" else f"features.{p.name}"
            out[f"{prefix}.revenue"] = p.revenue
            out[f"{prefix}.cogs"] = p.cogs
            out[f"{prefix}.gross_profit"] = p.gross_profit
            out[f"{prefix}.gross_margin"] = p.gross_margin
        return out

    def to_dict(self) -> dict[str, Any]:
        """Everything an estimate computed, with point values and their sources (JSON)."""
        deployments = {}
        for name, d in self.deployments.items():
            entry: dict[str, Any] = {
                "kind": d.kind,
                "priced_by": d.origin,
                **d.unit_cost.to_dict(self.workload),
            }
            if d.tco is not None:
                entry["usd_per_accelerator_hour"] = d.tco.cost.to_dict()
                entry["usd_per_replica_hour"] = as_float(d.replica_usd_per_hour or 0.0)
            if d.throughput is not None:
                entry["throughput"] = {
                    "prefill_tokens_per_s": as_float(d.throughput.prefill_tokens_per_s),
                    "decode_tokens_per_s": as_float(d.throughput.decode_tokens_per_s),
                    "decode_bound": d.throughput.decode_bound,
                    "source": d.throughput.source,
                }
            if d.seed is not None:
                entry["usd_per_token"] = d.seed.per_token.to_dict()
                entry["usd_per_1k_tokens"] = as_float(d.seed.usd_per_1k_tokens)
            if d.energy_check is not None:
                entry["energy_check"] = d.energy_check.message
            deployments[name] = entry
        data: dict[str, Any] = {
            "scenario": self.scenario.name,
            "workload": {
                "input_tokens": as_float(self.workload.input_tokens),
                "output_tokens": as_float(self.workload.output_tokens),
            },
            "deployments": deployments,
        }
        if self.training:
            data["training"] = {
                k: {
                    "gpu_hours": as_float(t.gpu_hours),
                    "usd": as_float(t.usd),
                    "usd_per_1k_served_tokens": as_float(t.usd_per_1k_served_tokens),
                }
                for k, t in self.training.items()
            }
        if self.total is not None:
            data["features"] = [p.to_dict() for p in self.features]
            data["total"] = self.total.to_dict()
        return data

    def default_output(self) -> str:
        if self.scenario.tornado_output:
            return self.scenario.tornado_output
        if self.features:
            return "total.gross_margin"
        return f"{next(iter(self.deployments))}.usd_per_1k_output"


class _Builder:
    """Turns the validated spec into economics inputs through a sampler."""

    def __init__(self, catalog: Catalog, sample: Sampler) -> None:
        self.catalog, self.sample = catalog, sample

    def opt(self, path: str, value: Number | None) -> Num | None:
        return None if value is None else self.sample(path, value)

    def deployment(self, name: str, spec: DeploymentSpec, workload: Workload) -> DeploymentResult:
        path = f"deployments.{name}"
        if spec.list_price is not None:
            lp, p = spec.list_price, f"{path}.list_price"
            uc = UnitCost(
                usd_per_1k_input=self.sample(f"{p}.input_usd_per_m", lp.input_usd_per_m) / 1000.0,
                usd_per_1k_output=self.sample(f"{p}.output_usd_per_m", lp.output_usd_per_m)
                / 1000.0,
            )
            return DeploymentResult(name, "list_price", uc, f"list price: {lp.source}")
        if spec.seed is not None:
            return self.seed(name, spec.seed)
        assert spec.self_hosted is not None
        return self.self_hosted(name, spec.self_hosted, workload)

    def seed(self, name: str, spec: SeedSpec) -> DeploymentResult:
        p = f"deployments.{name}.seed"
        tco = self.sample(f"{p}.tco_usd_per_hour", spec.tco_usd_per_hour)
        overheads = {k: self.sample(f"{p}.overheads.{k}", v) for k, v in spec.overheads.items()}
        tokens_per_s = self.sample(f"{p}.tokens_per_s", spec.tokens_per_s)
        cost = seed_cost(tco, tokens_per_s, overheads, spec.composition)
        check = None
        if spec.energy_check is not None:
            c, cp = spec.energy_check, f"{p}.energy_check"
            watts = self.opt(f"{cp}.power_watts", c.power_watts)
            if watts is None:
                if c.accelerator is None:
                    raise InputError(f"{cp}: give power_watts or accelerator")
                acc = self._lookup(f"{cp}.accelerator", self.catalog.accelerator, c.accelerator)
                if acc.tdp_watts is None:
                    raise InputError(f"{cp}.power_watts: the catalog has no power for {acc.name}")
                watts = acc.tdp_watts
            check = energy_check(
                tco,
                overheads[c.overhead],
                watts,
                self.sample(f"{cp}.pue", c.pue),
                self.sample(f"{cp}.electricity_usd_per_kwh", c.electricity_usd_per_kwh),
                self.sample(f"{cp}.average_load", c.average_load),
            )
        per_1k = cost.usd_per_1k_tokens
        return DeploymentResult(
            name,
            "seed",
            UnitCost(per_1k, per_1k),
            f"economics: seed method, TCO ${fmt(tco)}/h at {fmt(tokens_per_s)} tokens/s, overheads "
            + (", ".join(f"{k} {fmt(v)}" for k, v in overheads.items()) or "none")
            + f" ({spec.composition})",
            seed=cost,
            energy_check=check,
        )

    def _lookup(self, path: str, find: Callable[[str], Any], name: str) -> Any:
        try:
            return find(name)
        except CatalogLookupError as exc:
            raise InputError(f"{path}: {exc.message}", param=path) from None

    def self_hosted(self, name: str, spec: SelfHostedSpec, workload: Workload) -> DeploymentResult:
        p = f"deployments.{name}.self_hosted"
        s = self.sample
        acc = self._lookup(f"{p}.accelerator", self.catalog.accelerator, spec.accelerator)
        model = self._lookup(f"{p}.model", self.catalog.model, spec.model)
        facility, facility_sources = self.facility(p, spec)
        sources = dict(facility_sources)
        for key in (
            "host_opex_usd_per_hour",
            "networking_usd_per_hour",
            "serving_overhead",
            "average_load",
            "lifetime_years",
            "cost_of_capital",
        ):
            if key not in spec.model_fields_set:
                sources[key] = f"default {getattr(spec, key):g}, not given"
        lease = self.opt(f"{p}.lease_usd_per_hour", spec.lease_usd_per_hour)
        purchase = self.opt(f"{p}.purchase_usd", spec.purchase_usd)
        if lease is None and purchase is None and acc.rental_usd_per_hour is not None:
            rent = acc.rental_usd_per_hour
            lease = rent.mid
            sources["lease_usd_per_hour"] = (
                f"catalog {acc.name}.rental_usd_per_hour: midpoint of ${rent.low:g}–${rent.high:g}"
                f" ({rent.as_of}, {cite(rent.source)})"
            )
        tco = accelerator_hour(
            TCOInputs(
                accelerator=acc,
                purchase_usd=purchase,
                lifetime_years=s(f"{p}.lifetime_years", spec.lifetime_years),
                cost_of_capital=s(f"{p}.cost_of_capital", spec.cost_of_capital),
                lease_usd_per_hour=lease,
                host_opex_usd_per_hour=s(
                    f"{p}.host_opex_usd_per_hour", spec.host_opex_usd_per_hour
                ),
                networking_usd_per_hour=s(
                    f"{p}.networking_usd_per_hour", spec.networking_usd_per_hour
                ),
                serving_overhead=s(f"{p}.serving_overhead", spec.serving_overhead),
                power_watts=self.opt(f"{p}.power_watts", spec.power_watts),
                average_load=s(f"{p}.average_load", spec.average_load),
                sources=tuple(sources.items()),
                **facility,
            )
        )
        replicas = float(spec.accelerators)
        if spec.throughput is not None:
            t = spec.throughput
            throughput = Throughput(
                s(f"{p}.throughput.input_tokens_per_s", t.input_tokens_per_s),
                s(f"{p}.throughput.output_tokens_per_s", t.output_tokens_per_s),
                t.source,
            )
        else:
            throughput = roofline(
                RooflineInputs(
                    accelerator=acc,
                    model=model,
                    precision=spec.precision,
                    batch_size=s(f"{p}.batch_size", spec.batch_size),
                    input_tokens=workload.input_tokens,
                    output_tokens=workload.output_tokens,
                    tensor_parallel=spec.accelerators,
                    mfu=s(f"{p}.mfu", spec.mfu),
                    bandwidth_efficiency=s(f"{p}.bandwidth_efficiency", spec.bandwidth_efficiency),
                )
            )
        batching = s(f"{p}.batching_efficiency", spec.batching_efficiency)
        utilisation = s(f"{p}.utilisation", spec.utilisation)
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
        )

    def facility(self, p: str, spec: SelfHostedSpec) -> tuple[dict[str, Num], dict[str, str]]:
        preset_name = spec.facility or DEFAULT_FACILITY
        preset = self._lookup(f"{p}.facility", self.catalog.facility, preset_name)
        values: dict[str, Num] = {}
        sources: dict[str, str] = {}
        for table in ("pue", "electricity_usd_per_kwh", "wue_l_per_kwh", "carbon_g_per_kwh"):
            given = getattr(spec, table)
            if given is not None:
                values[table] = self.sample(f"{p}.{table}", given)
                continue
            key = getattr(preset, table)
            figure = self.catalog.figure(table, key)
            values[table] = figure.value
            sources[table] = (
                f"catalog {table}.{key} via facility {preset_name}, {cite(figure.source)}"
            )
        return values, sources

    def feature(self, spec: FeatureSpec) -> FeatureInputs:
        p = f"features.{spec.name}"
        s = self.sample
        return FeatureInputs(
            name=spec.name,
            users=s(f"{p}.users", spec.users),
            attach_rate=s(f"{p}.attach_rate", spec.attach_rate),
            requests_per_user_month=s(f"{p}.requests_per_user_month", spec.requests_per_user_month),
            input_tokens=s(f"{p}.input_tokens", spec.input_tokens),
            output_tokens=s(f"{p}.output_tokens", spec.output_tokens),
            model_mix={k: s(f"{p}.model_mix.{k}", v) for k, v in spec.model_mix.items()},
            arpu_uplift_usd_month=s(f"{p}.arpu_uplift_usd_month", spec.arpu_uplift_usd_month),
            eval_safety_overhead=s(f"{p}.eval_safety_overhead", spec.eval_safety_overhead),
            fixed_usd_month=s(f"{p}.fixed_usd_month", spec.fixed_usd_month),
        )

    def training(self, scenario: Scenario, spec: TrainingSpec) -> TrainingCost:
        p = f"training.{spec.deployment}"
        deployment = scenario.deployments[spec.deployment].self_hosted
        model = (
            self._lookup(f"{p}.model", self.catalog.model, deployment.model) if deployment else None
        )
        params = self.opt(f"{p}.params_active_b", spec.params_active_b)
        tokens = self.opt(f"{p}.training_tokens_t", spec.training_tokens_t)
        params = params if params is not None else (model.params_active_b if model else None)
        tokens = tokens if tokens is not None else (model.training_tokens_t if model else None)
        if params is None or tokens is None:
            raise InputError(
                f"{p}: give params_active_b and training_tokens_t (the catalog has no value)"
            )
        acc = self._lookup(f"{p}.accelerator", self.catalog.accelerator, spec.accelerator)
        return training_cost(
            params_active_b=params,
            training_tokens_t=tokens,
            peak_tflops=acc.peak_tflops(spec.precision),
            mfu=self.sample(f"{p}.mfu", spec.mfu),
            usd_per_gpu_hour=self.sample(f"{p}.usd_per_gpu_hour", spec.usd_per_gpu_hour),
            lifetime_tokens_served=self.sample(
                f"{p}.lifetime_tokens_served", spec.lifetime_tokens_served
            ),
        )


def evaluate(
    scenario: Scenario, sampler: Sampler | None = None, catalog: Catalog | None = None
) -> Result:
    """The whole scenario, every number drawn through `sampler` (point values by default)."""
    b = _Builder(catalog or load_catalog(), sampler or PointSampler())
    workload = Workload(
        b.sample("workload.input_tokens", scenario.workload.input_tokens),
        b.sample("workload.output_tokens", scenario.workload.output_tokens),
    )
    deployments = {
        name: b.deployment(name, spec, workload) for name, spec in scenario.deployments.items()
    }
    training = {t.deployment: b.training(scenario, t) for t in scenario.training}
    prices = {name: d.unit_cost for name, d in deployments.items()}
    per_1k = {name: t.usd_per_1k_served_tokens for name, t in training.items()}
    features = [feature_pnl(b.feature(f), prices, per_1k) for f in scenario.features]
    return Result(scenario, workload, deployments, features, training)


@dataclass(frozen=True)
class MonteCarlo:
    samples: int
    seed: int
    inputs: list[str]
    outputs: dict[str, NDArray[np.float64]]

    def percentiles(self, qs: tuple[float, ...] = (5, 50, 95)) -> dict[str, dict[str, float]]:
        return {
            name: {
                f"p{q:g}": float(v) for q, v in zip(qs, np.nanpercentile(draws, qs), strict=True)
            }
            for name, draws in self.outputs.items()
        }


def _chunks(total: int, size: int) -> Iterator[tuple[int, int, int]]:
    for index, start in enumerate(range(0, total, size)):
        yield index, start, min(size, total - start)


def monte_carlo(
    scenario: Scenario,
    samples: int | None = None,
    seed: int | None = None,
    catalog: Catalog | None = None,
    chunk_size: int = 131_072,
    progress: Callable[[int], None] | None = None,
) -> MonteCarlo:
    """Seeded, vectorised draws of every output; the same seed gives identical results.

    Draws are computed in chunks that stay in cache, each written once into its slice.
    """
    samples = samples or scenario.monte_carlo.samples
    seed = scenario.monte_carlo.seed if seed is None else seed
    catalog = catalog or load_catalog()
    point = PointSampler()
    evaluate(scenario, point, catalog)
    outputs: dict[str, NDArray[np.float64]] = {}
    for index, start, n in _chunks(samples, chunk_size):
        result = evaluate(scenario, DrawSampler(n, seed, index), catalog)
        for name, value in result.outputs().items():
            if name not in outputs:
                outputs[name] = np.empty(samples)
            outputs[name][start : start + n] = value
        if progress:
            progress(n)
    return MonteCarlo(samples, seed, sorted(point.ranges), outputs)


@dataclass(frozen=True)
class TornadoBar:
    input: str
    low: float
    high: float
    output_at_low: float
    output_at_high: float

    @property
    def swing(self) -> float:
        return abs(self.output_at_high - self.output_at_low)


def tornado(
    scenario: Scenario, output: str | None = None, catalog: Catalog | None = None
) -> tuple[str, float, list[TornadoBar]]:
    """Each ranged input alone at its low and high end; bars ranked by the swing they cause."""
    catalog = catalog or load_catalog()
    point = PointSampler()
    base = evaluate(scenario, point, catalog)
    output = output or base.default_output()
    outputs = base.outputs()
    if output not in outputs:
        raise InputError(f"output: unknown {output!r}; accepted: {', '.join(outputs)}")
    bars = []
    for path, rng in point.ranges.items():
        at = {
            end: as_float(evaluate(scenario, SwingSampler(path, end), catalog).outputs()[output])
            for end in ("low", "high")
        }
        bars.append(TornadoBar(path, rng.low, rng.high, at["low"], at["high"]))
    bars.sort(key=lambda b: b.swing, reverse=True)
    return output, as_float(outputs[output]), bars
