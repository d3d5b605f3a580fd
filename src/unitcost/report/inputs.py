"""What a ledger report needs besides the ledger: budgets, price cards, fleets, revenue.

    inputs = inputs_from_settings(load_settings("gateway.yaml"))   # budgets, cards, fleets
    inputs = inputs.with_card(catalog_card("H100-SXM", "llama-3.1-70b"))   # re-price on it
    revenue = load_revenue_csv(Path("revenue.csv"))                  # feature,revenue_usd

Cards and fleets are derived by the economics model from the gateway's `price` specs, the
same way the gateway prices rows, so a report's re-pricing and fleet cost trace back to the
same catalog rows. The report layer sits below the gateway: it reads the settings object
by shape (`SettingsLike`) and never imports the gateway.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from unitcost.economics.breakdown import as_float
from unitcost.economics.distributions import point_value
from unitcost.economics.scenario import evaluate
from unitcost.economics.spec import DeploymentSpec, WorkloadSpec, parse_scenario
from unitcost.errors import InputError, describe_validation_error

__all__ = [
    "Card",
    "Fleet",
    "ReportInputs",
    "SettingsLike",
    "catalog_card",
    "inputs_from_settings",
    "load_revenue_csv",
]


@dataclass(frozen=True)
class Card:
    """$ per 1M tokens of each kind (Decimal), and where the prices came from."""

    name: str
    input_per_m: Decimal
    output_per_m: Decimal
    cached_input_per_m: Decimal | None = None
    reasoning_per_m: Decimal | None = None
    origin: str = ""

    def cost_nanos(self, prompt: int, cached: int, completion: int, reasoning: int) -> int:
        """What these tokens cost on this card, in nano-dollars (rounded half up once)."""
        cached = min(cached, prompt)
        reasoning = min(reasoning, completion)
        cached_rate = (
            self.input_per_m if self.cached_input_per_m is None else self.cached_input_per_m
        )
        reasoning_rate = self.output_per_m if self.reasoning_per_m is None else self.reasoning_per_m
        # $/1M × 1000 = nano-dollars per token
        total = (
            (prompt - cached) * self.input_per_m
            + cached * cached_rate
            + (completion - reasoning) * self.output_per_m
            + reasoning * reasoning_rate
        ) * 1000
        return int(total.to_integral_value(rounding="ROUND_HALF_UP"))


@dataclass(frozen=True)
class Fleet:
    """A self-hosted deployment's hardware, paid by the hour whether or not it serves."""

    name: str
    replicas: int
    accelerators: int  # per replica
    usd_per_accelerator_hour: Decimal
    prefill_tokens_per_s: float  # per replica
    decode_tokens_per_s: float
    origin: str


@dataclass(frozen=True)
class ReportInputs:
    budgets_usd: Mapping[str, Decimal] = field(default_factory=dict)  # tenant → $ per month
    cards: Mapping[str, Card] = field(default_factory=dict)  # deployment → its price card
    fleets: Mapping[str, Fleet] = field(default_factory=dict)
    extra_cards: Sequence[Card] = ()  # catalog hardware to re-price on
    source: str = "no gateway config"

    def with_card(self, card: Card) -> ReportInputs:
        return replace(self, extra_cards=(*self.extra_cards, card))


class _Tenant(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def budget_usd_per_month(self) -> float | None: ...


class _Deployment(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def price(self) -> DeploymentSpec | None: ...
    @property
    def price_workload(self) -> WorkloadSpec: ...


class SettingsLike(Protocol):
    """The parts of `GatewaySettings` a report reads."""

    @property
    def tenants(self) -> Sequence[_Tenant]: ...
    @property
    def deployments(self) -> Sequence[_Deployment]: ...


def _dec(x: Any) -> Decimal:
    return Decimal(repr(as_float(x)))


def _evaluate(name: str, spec: DeploymentSpec, workload: WorkloadSpec) -> Any:
    scenario = parse_scenario(
        {
            "name": name,
            "workload": workload.model_dump(),
            "deployments": {name: spec.model_dump(exclude_none=True)},
        },
        origin=f"deployments.{name}.price",
    )
    return evaluate(scenario).deployments[name]


def _card(name: str, spec: DeploymentSpec, workload: WorkloadSpec) -> Card:
    if spec.list_price is not None:
        lp = spec.list_price

        def opt(v: Any) -> Decimal | None:
            return None if v is None else _dec(point_value(v))

        return Card(
            name,
            _dec(point_value(lp.input_usd_per_m)),
            _dec(point_value(lp.output_usd_per_m)),
            opt(lp.cached_input_usd_per_m),
            opt(lp.reasoning_usd_per_m),
            f"list price: {lp.source}",
        )
    result = _evaluate(name, spec, workload)
    uc = result.unit_cost
    return Card(
        name,
        _dec(as_float(uc.usd_per_1k_input) * 1000),
        _dec(as_float(uc.usd_per_1k_output) * 1000),
        origin=result.origin,
    )


def _fleet(name: str, spec: DeploymentSpec, workload: WorkloadSpec, replicas: int) -> Fleet:
    sh = spec.self_hosted
    assert sh is not None
    result = _evaluate(name, spec, workload)
    batching = point_value(sh.batching_efficiency)
    tp = result.throughput
    return Fleet(
        name=name,
        replicas=replicas,
        accelerators=sh.accelerators,
        usd_per_accelerator_hour=_dec(result.tco.cost.total),
        prefill_tokens_per_s=as_float(tp.prefill_tokens_per_s) * batching,
        decode_tokens_per_s=as_float(tp.decode_tokens_per_s) * batching,
        origin=result.origin,
    )


def inputs_from_settings(
    settings: SettingsLike,
    replicas: Mapping[str, int] | None = None,
    source: str = "gateway config",
) -> ReportInputs:
    """Budgets, price cards and self-hosted fleets from a gateway's settings. `replicas`
    says how many replicas of a self-hosted deployment ran (default 1 each)."""
    replicas = dict(replicas or {})
    names = {d.name for d in settings.deployments}
    for name, n in replicas.items():
        if name not in names:
            raise InputError(
                f"--replicas: {name!r} is not a deployment; deployments are: {', '.join(sorted(names))}"
            )
        if n < 1:
            raise InputError(f"--replicas: {name}={n}; accepted: a whole number ≥ 1")
    budgets = {
        t.name: _dec(t.budget_usd_per_month)
        for t in settings.tenants
        if t.budget_usd_per_month is not None
    }
    cards, fleets = {}, {}
    for d in settings.deployments:
        if d.price is None:
            continue  # a replay deployment's recorded list price: implied from the ledger
        cards[d.name] = _card(d.name, d.price, d.price_workload)
        if d.price.self_hosted is not None:
            fleets[d.name] = _fleet(d.name, d.price, d.price_workload, replicas.get(d.name, 1))
    return ReportInputs(budgets, cards, fleets, source=source)


def catalog_card(
    accelerator: str,
    model: str,
    precision: str = "bf16",
    accelerators: int = 1,
    workload: WorkloadSpec | None = None,
) -> Card:
    """A self-hosted card for catalog hardware at the economics model's defaults (the
    catalog's rental midpoint, 50% utilisation): what-if pricing, cost only."""
    figures = {"accelerator": accelerator, "model": model, "precision": precision}
    try:
        spec = DeploymentSpec.model_validate(
            {"self_hosted": {**figures, "accelerators": accelerators}}
        )
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc)) from None
    return _card(f"{accelerators}×{accelerator} {model}", spec, workload or WorkloadSpec())


def load_revenue_csv(path: Path) -> dict[str, Decimal]:
    """`feature,revenue_usd` rows: the revenue each feature earned over the report's period."""
    if not path.is_file():
        raise InputError(f"--revenue: {str(path)!r} does not exist")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"feature", "revenue_usd"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(
                f"--revenue: {path.name} has no {', '.join(sorted(missing))} column; "
                "accepted: a CSV with columns feature,revenue_usd"
            )
        revenue: dict[str, Decimal] = {}
        for line, row in enumerate(reader, start=2):
            try:
                value = Decimal(str(row["revenue_usd"]).strip().lstrip("$").replace(",", ""))
            except InvalidOperation:
                value = Decimal("NaN")
            if not value.is_finite() or value < 0:
                raise InputError(
                    f"--revenue: {path.name} line {line}: revenue_usd {row['revenue_usd']!r}; "
                    "accepted: a number ≥ 0 (dollars)"
                )
            name = (row["feature"] or "").strip()
            revenue[name] = revenue.get(name, Decimal(0)) + value
    return revenue
