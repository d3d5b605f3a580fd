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

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unitcost.catalog import Catalog, load_catalog
from unitcost.economics.breakdown import Num, as_float
from unitcost.economics.builder import Builder
from unitcost.economics.pnl import PnL, feature_pnl, total_pnl
from unitcost.economics.sampling import DrawSampler, PointSampler, Sampler, SwingSampler
from unitcost.economics.self_hosted import DEFAULT_FACILITY, DeploymentResult
from unitcost.economics.spec import Scenario
from unitcost.economics.training import TrainingCost
from unitcost.economics.unit_cost import Workload
from unitcost.errors import InputError

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
            if d.tco is not None:
                uc = d.unit_cost
                out[f"{name}.wh_per_1k_output"] = uc.wh_per_1k_output
                out[f"{name}.water_ml_per_1k_output"] = uc.water_ml_per_1k_output
                out[f"{name}.carbon_g_per_1k_output"] = uc.carbon_g_per_1k_output
            if d.sell_usd_per_1k is not None:
                out[f"{name}.gross_margin"] = self.gross_margin(d)
        for name, t in self.training.items():
            out[f"{name}.training_usd_per_1k_tokens"] = t.usd_per_1k_served_tokens
        for p in [*self.features, *([self.total] if self.total else [])]:
            prefix = "total" if p.name == "total" else f"features.{p.name}"
            out[f"{prefix}.revenue"] = p.revenue
            out[f"{prefix}.cogs"] = p.cogs
            out[f"{prefix}.gross_profit"] = p.gross_profit
            out[f"{prefix}.gross_margin"] = p.gross_margin
        return out

    def gross_margin(self, d: DeploymentResult) -> Num:
        """1 − cost ÷ revenue per request at the deployment's sell price."""
        assert d.sell_usd_per_1k is not None
        w, (sell_in, sell_out) = self.workload, d.sell_usd_per_1k
        revenue = (w.input_tokens * sell_in + w.output_tokens * sell_out) / 1000.0
        return 1.0 - d.unit_cost.usd_per_request(w) / revenue

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
                    "ttft_ms": as_float(d.throughput.ttft_s) * 1000.0,
                    "tpot_ms": as_float(d.throughput.tpot_s) * 1000.0,
                    "source": d.throughput.source,
                }
            if d.batch is not None:
                entry["batch"] = {
                    "size": d.batch.batch,
                    "most_that_fit": d.batch.most_that_fit,
                    "chosen_by": d.batch.reason,
                }
            if d.efficiency is not None:
                entry["efficiency"] = d.efficiency.source
            if d.notes:
                entry["notes"] = list(d.notes)
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


def evaluate(
    scenario: Scenario, sampler: Sampler | None = None, catalog: Catalog | None = None
) -> Result:
    """The whole scenario, every number drawn through `sampler` (point values by default)."""
    b = Builder(catalog or load_catalog(), sampler or PointSampler())
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
