"""Turn a validated scenario into economics inputs, every number through a sampler.

    >>> from unitcost.catalog import load_catalog
    >>> from unitcost.economics.sampling import PointSampler
    >>> from unitcost.economics.spec import DeploymentSpec
    >>> b = Builder(load_catalog(), PointSampler())
    >>> spec = DeploymentSpec.model_validate(
    ...     {"list_price": {"input_usd_per_m": 1, "output_usd_per_m": 4}})
    >>> b.deployment("api", spec, Workload(1000.0, 250.0)).unit_cost.usd_per_1k_output
    0.004

List prices, price-map rows (uncached input and output rates) and the seed method are
priced here; self-hosted deployments in
economics/self_hosted.py; features and training amortisation feed the P&L.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from unitcost.catalog import Catalog
from unitcost.catalog.prices import load_price_map
from unitcost.economics.breakdown import Num, fmt
from unitcost.economics.calibration import training_efficiency
from unitcost.economics.pnl import FeatureInputs
from unitcost.economics.sampling import Sampler
from unitcost.economics.seed import energy_check, seed_cost
from unitcost.economics.self_hosted import DeploymentResult, catalog_lookup, price_self_hosted
from unitcost.economics.spec import (
    DeploymentSpec,
    FeatureSpec,
    Number,
    Scenario,
    SeedSpec,
    TrainingSpec,
)
from unitcost.economics.training import TrainingCost, training_cost
from unitcost.economics.unit_cost import UnitCost, Workload
from unitcost.errors import InputError

__all__ = ["Builder"]


class Builder:
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
        if spec.price_map is not None:  # a LiteLLM-format price map's row (catalog.prices)
            pm = spec.price_map
            prices = load_price_map(pm.path, name=pm.name, version=pm.version, as_of=pm.as_of)
            listed = prices.lookup(pm.model, pm.tier)
            uc = UnitCost(
                usd_per_1k_input=listed.input_usd_per_m / 1000.0,
                usd_per_1k_output=listed.output_usd_per_m / 1000.0,
            )
            return DeploymentResult(name, "price_map", uc, listed.origin)
        if spec.seed is not None:
            return self.seed(name, spec.seed)
        assert spec.self_hosted is not None
        return price_self_hosted(self.catalog, self.sample, name, spec.self_hosted, workload)

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
        return catalog_lookup(path, find, name)

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
        if spec.mfu is None:
            # published runs imply their MFU against the BF16 peak (FP8 runs included), so
            # the calibrated MFU is applied to that peak whatever the precision
            mfu: Num = training_efficiency(acc.name, acc.vendor)[0]
            peak = acc.bf16_tflops
        else:
            mfu, peak = self.sample(f"{p}.mfu", spec.mfu), acc.peak_tflops(spec.precision)
        return training_cost(
            params_active_b=params,
            training_tokens_t=tokens,
            peak_tflops=peak,
            mfu=mfu,
            usd_per_gpu_hour=self.sample(f"{p}.usd_per_gpu_hour", spec.usd_per_gpu_hour),
            lifetime_tokens_served=self.sample(
                f"{p}.lifetime_tokens_served", spec.lifetime_tokens_served
            ),
        )
