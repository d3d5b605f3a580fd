"""The deployments the gateway serves: each a backend, a price card and a tokenizer.

A card is a list price, or derived by the economics model (self-hosted TCO and throughput,
or the seed method); its origin string travels into `/v1/models` and every ledger row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from unitcost.economics.pricing import PriceCard, listed_price_card
from unitcost.economics.scenario import evaluate
from unitcost.economics.spec import DeploymentSpec, WorkloadSpec, parse_scenario
from unitcost.errors import InputError, NotFoundError
from unitcost.gateway.settings import DeploymentConfig, GatewaySettings
from unitcost.gateway.upstreams.base import Upstream
from unitcost.gateway.upstreams.registry import create_upstream
from unitcost.wire.tokens import Tokenizer, load_tokenizer

__all__ = ["Deployment", "Portfolio", "price_card"]

DEFAULT_TOKENIZER = "tiktoken:o200k_base"


def price_card(name: str, spec: DeploymentSpec, workload: WorkloadSpec) -> PriceCard:
    listed = listed_price_card(spec)  # list_price or price_map (catalog.prices)
    if listed is not None:
        return listed
    scenario = parse_scenario(
        {
            "name": name,
            "workload": workload.model_dump(),
            "deployments": {name: spec.model_dump(exclude_none=True)},
        },
        origin=f"deployments.{name}.price",
    )
    result = evaluate(scenario).deployments[name]
    return PriceCard.from_unit_cost(result.unit_cost, result.origin)


@dataclass
class Deployment:
    name: str
    upstream: Upstream
    card: PriceCard
    tokenizer_spec: str
    _tokenizer: Tokenizer | None = field(default=None, repr=False)

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.tokenizer_spec)
        return self._tokenizer


class Portfolio:
    def __init__(self, settings: GatewaySettings) -> None:
        self.deployments: dict[str, Deployment] = {}
        self._configs: dict[str, DeploymentConfig] = {}
        for i, d in enumerate(settings.deployments):
            where = f"deployments[{i}]"
            upstream = create_upstream(d.name, d.backend, d.options, where)
            self._configs[d.name] = d
            self.deployments[d.name] = Deployment(
                d.name, upstream, PriceCard(0.0, 0.0), d.tokenizer or DEFAULT_TOKENIZER
            )

    async def start(self) -> None:
        for name, dep in self.deployments.items():
            await dep.upstream.start()
            config = self._configs[name]
            if config.price is not None:
                dep.card = price_card(name, config.price, config.price_workload)
                continue
            default = dep.upstream.default_price()
            if default is None:
                raise InputError(
                    f"deployment {name}: give a price (list_price, self_hosted or seed); "
                    f"the {config.backend} backend has none of its own"
                )
            dep.card = default
        for dep in self.deployments.values():
            if dep.tokenizer_spec != DEFAULT_TOKENIZER:
                _ = dep.tokenizer  # fail at start-up, not on the first stream without usage

    async def close(self) -> None:
        for dep in self.deployments.values():
            await dep.upstream.close()

    def get(self, name: object) -> Deployment:
        if not isinstance(name, str):
            raise InputError("model: required, a string naming a deployment", param="model")
        dep = self.deployments.get(name)
        if dep is None:
            raise NotFoundError(
                f"model {name!r} is not served here; accepted: {', '.join(self.deployments)}",
                param="model",
            )
        return dep
