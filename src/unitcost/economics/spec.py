"""The scenario file: one validated schema, where any number may be a range.

    name: llama-70b
    workload: {input_tokens: 1500, output_tokens: 300}
    deployments:
      self:
        self_hosted: {accelerator: H100-SXM, accelerators: 4, model: llama-3.1-70b,
                      precision: fp8, lease_usd_per_hour: {low: 2.0, mode: 2.5, high: 4.0}}
      api:
        list_price: {input_usd_per_m: 0.6, output_usd_per_m: 0.8, source: "..."}

A deployment is priced in one of three ways: a list price, a self-hosted TCO (hardware,
facility, model and serving), or the seed article's top-down method. Unset efficiencies
are the calibrated ones for the accelerator's vendor, the precision and the `stack`; an
unset batch is the one with the most throughput that fits memory (and `tpot_slo_ms`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from unitcost.economics.distributions import Range, point_value
from unitcost.errors import InputError, describe_validation_error
from unitcost.yamlfile import parse_mapping, read_text

__all__ = [
    "DeploymentSpec",
    "FeatureSpec",
    "ListPriceSpec",
    "MeasuredThroughput",
    "Number",
    "PriceMapSpec",
    "Scenario",
    "SeedSpec",
    "SelfHostedSpec",
    "TrainingSpec",
    "WorkloadSpec",
    "load_scenario",
    "own_or_rent",
    "parse_scenario",
]

Number = float | Range


def _bounded(low: float | None = None, high: float | None = None, strict: bool = False) -> Any:
    accepted = (
        f"a number{' > ' if strict else ' ≥ '}{low:g}"
        if high is None and low is not None
        else f"a number in {'(' if strict else '['}{low:g}, {high:g}]"
    )

    def check(value: Number) -> Number:
        # A lognormal's tails are unbounded above and reach toward 0 below: a share would
        # draw values over 1, a PUE values under 1 (P5 and P95 bound only 90% of draws).
        if isinstance(value, Range) and value.kind == "lognormal" and (high or low):
            raise ValueError(
                f"a lognormal range draws past {accepted} in its tails; accepted: a "
                "triangular {low, mode, high} or uniform {low, high} range"
            )
        values = (value.low, value.high) if isinstance(value, Range) else (value,)
        for v in values:
            too_low = low is not None and (v <= low if strict else v < low)
            if too_low or (high is not None and v > high):
                raise ValueError(f"{v:g} is out of bounds; accepted: {accepted} or a range of them")
        return value

    return AfterValidator(check)


NonNegative = Annotated[Number, _bounded(0.0)]
Positive = Annotated[Number, _bounded(0.0, strict=True)]
Share = Annotated[Number, _bounded(0.0, 1.0)]
PositiveShare = Annotated[Number, _bounded(0.0, 1.0, strict=True)]
AtLeastOne = Annotated[Number, _bounded(1.0)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ListPriceSpec(_Spec):
    """An API's list price per 1M tokens."""

    input_usd_per_m: NonNegative
    output_usd_per_m: NonNegative
    cached_input_usd_per_m: NonNegative | None = None
    reasoning_usd_per_m: NonNegative | None = None
    cache_write_usd_per_m: NonNegative | None = None  # prompt-cache writes (Anthropic)
    source: str = "input list_price"
    as_of: dt.date | None = None  # when the price was read; `unitcost prices check` ages it


class PriceMapSpec(_Spec):
    """A model's row in a LiteLLM-format price map file (read at start-up, never fetched)."""

    path: str
    model: str
    tier: Literal["standard", "batch", "flex", "priority"] = "standard"
    name: str | None = None  # default: "litellm" for LiteLLM's file names, else the stem
    version: str | None = None
    as_of: dt.date | None = None  # default: the file's modification date


class MeasuredThroughput(_Spec):
    """Tokens/s one replica sustains, e.g. from `unitcost bench`."""

    input_tokens_per_s: Positive
    output_tokens_per_s: Positive
    source: str = "input throughput (measured)"


def own_or_rent(purchase_usd: object, lease_usd_per_hour: object) -> None:
    """An accelerator is bought or leased; both given would leave one silently unused."""
    if purchase_usd is not None and lease_usd_per_hour is not None:
        raise ValueError("give purchase_usd (to own) or lease_usd_per_hour (to rent), not both")


class SelfHostedSpec(_Spec):
    accelerator: str
    accelerators: int = Field(1, ge=1, description="accelerators per replica (tensor parallel)")
    purchase_usd: NonNegative | None = None
    lifetime_years: Positive = 4.0
    cost_of_capital: NonNegative = 0.0
    lease_usd_per_hour: NonNegative | None = None
    #: a lease usually pays for power; false adds power × load × PUE × $/kWh on top
    lease_includes_power: bool = True
    host_opex_usd_per_hour: NonNegative = 0.0
    networking_usd_per_hour: NonNegative = 0.0
    serving_overhead: NonNegative = 0.0
    power_watts: Positive | None = None
    average_load: Share = 0.7
    facility: str | None = None
    pue: AtLeastOne | None = None
    electricity_usd_per_kwh: NonNegative | None = None
    #: the same price per MWh, as PPAs are quoted; give one of the two
    electricity_usd_per_mwh: NonNegative | None = None
    wue_l_per_kwh: NonNegative | None = None
    carbon_g_per_kwh: NonNegative | None = None
    model: str
    precision: Literal["bf16", "fp16", "fp8", "int8", "int4"] = "bf16"
    #: serving software (trtllm, vllm, sglang, gpt-fast, ...): picks calibrated efficiencies
    stack: str | None = None
    #: none: the batch with the most throughput that fits memory and the TPOT SLO
    batch_size: AtLeastOne | None = None  # sequences in flight: at least one
    tpot_slo_ms: Positive | None = None
    #: none: calibrated for the accelerator's vendor, the precision and the stack
    # efficiencies divide a throughput's ideal: zero would price a token at infinity
    mfu: PositiveShare | None = None
    bandwidth_efficiency: PositiveShare | None = None
    prefill_overlap: Share | None = None
    serving_efficiency: Positive | None = None
    batching_efficiency: PositiveShare = 1.0
    utilisation: PositiveShare = 0.5
    throughput: MeasuredThroughput | None = None
    #: what the tokens sell for, for a gross margin (`<deployment>.gross_margin`)
    sell_input_usd_per_m: NonNegative | None = None
    sell_output_usd_per_m: NonNegative | None = None

    @model_validator(mode="after")
    def _one_of_each(self) -> SelfHostedSpec:
        own_or_rent(self.purchase_usd, self.lease_usd_per_hour)
        if self.electricity_usd_per_kwh is not None and self.electricity_usd_per_mwh is not None:
            raise ValueError("give electricity_usd_per_kwh or electricity_usd_per_mwh, not both")
        if (self.sell_input_usd_per_m is None) != (self.sell_output_usd_per_m is None):
            raise ValueError("give both sell_input_usd_per_m and sell_output_usd_per_m, or neither")
        return self


class EnergyCheckSpec(_Spec):
    """Bottom-up energy to hold against the seed method's flat overhead."""

    overhead: str
    accelerator: str | None = None
    power_watts: Positive | None = None
    pue: AtLeastOne = 1.3
    electricity_usd_per_kwh: NonNegative = 0.10
    average_load: Share = 1.0


class SeedSpec(_Spec):
    tco_usd_per_hour: Positive
    tokens_per_s: Positive
    overheads: dict[str, NonNegative] = {}
    composition: Literal["add", "compound"] = "add"
    energy_check: EnergyCheckSpec | None = None

    @model_validator(mode="after")
    def _check_overhead_named(self) -> SeedSpec:
        check = self.energy_check
        if check is not None and check.overhead not in self.overheads:
            raise ValueError(
                f"energy_check.overhead {check.overhead!r} is not one of the overheads: "
                f"{', '.join(self.overheads) or '(none)'}"
            )
        return self


class DeploymentSpec(_Spec):
    list_price: ListPriceSpec | None = None
    self_hosted: SelfHostedSpec | None = None
    seed: SeedSpec | None = None
    price_map: PriceMapSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> DeploymentSpec:
        kinds = ("list_price", "self_hosted", "seed", "price_map")
        given = [k for k in kinds if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of {', '.join(kinds)} (got {', '.join(given) or 'none'})"
            )
        return self


class WorkloadSpec(_Spec):
    input_tokens: Positive = 1000.0
    output_tokens: Positive = 250.0


class FeatureSpec(_Spec):
    name: str
    users: NonNegative
    attach_rate: Share
    requests_per_user_month: NonNegative
    input_tokens: NonNegative
    output_tokens: NonNegative
    model_mix: dict[str, Share]
    arpu_uplift_usd_month: NonNegative
    eval_safety_overhead: NonNegative = 0.0
    fixed_usd_month: NonNegative = 0.0

    @model_validator(mode="after")
    def _mix_sums_to_one(self) -> FeatureSpec:
        points = [point_value(v) for v in self.model_mix.values()]
        if not self.model_mix or abs(sum(points) - 1.0) > 1e-6:
            raise ValueError(
                f"model_mix shares must add up to 1 (got {sum(points):g}); "
                "accepted: {deployment: share, ...}"
            )
        return self


class TrainingSpec(_Spec):
    deployment: str
    training_tokens_t: Positive | None = None
    params_active_b: Positive | None = None
    accelerator: str = "H100-SXM"
    precision: Literal["bf16", "fp16", "fp8", "int8", "int4"] = "bf16"
    #: none: the median implied by published runs on this accelerator (unitcost calibration)
    mfu: PositiveShare | None = None
    usd_per_gpu_hour: NonNegative
    lifetime_tokens_served: Positive


class MonteCarloSpec(_Spec):
    samples: int = Field(10_000, ge=1)
    seed: int = Field(0, ge=0)


class Scenario(_Spec):
    name: str
    description: str = ""
    workload: WorkloadSpec = WorkloadSpec()
    deployments: dict[str, DeploymentSpec] = Field(min_length=1)
    features: list[FeatureSpec] = []
    training: list[TrainingSpec] = []
    monte_carlo: MonteCarloSpec = MonteCarloSpec()
    tornado_output: str | None = None

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        known = set(self.deployments)
        for t in self.training:
            if t.deployment not in known:
                raise ValueError(
                    f"training.deployment {t.deployment!r} is not one of: {', '.join(known)}"
                )
        for f in self.features:
            for name in f.model_mix:
                if name not in known:
                    raise ValueError(
                        f"features.{f.name}.model_mix: {name!r} is not a deployment; "
                        f"deployments are: {', '.join(sorted(known))}"
                    )
        return self


def parse_scenario(raw: Any, origin: str = "scenario") -> Scenario:
    if not isinstance(raw, dict):
        raise InputError(f"{origin}: expected a mapping with name and deployments")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, prefix=origin)) from None


def load_scenario(path: str | Path) -> Scenario:
    p = Path(path)
    raw = parse_mapping(read_text(p, "scenario file"), str(p))
    return parse_scenario(raw, origin=p.name)
