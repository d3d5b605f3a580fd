"""The deployments the gateway serves: each a backend, a price card and a tokenizer.

A card is a list price, or derived by the economics model (self-hosted TCO and throughput,
or the seed method); its origin string travels into `/v1/models` and every ledger row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from unitcost.economics.pricing import PriceCard, listed_price_card
from unitcost.economics.scenario import evaluate
from unitcost.economics.spec import DeploymentSpec, WorkloadSpec, parse_scenario
from unitcost.errors import InputError, NotFoundError
from unitcost.gateway.settings import GatewaySettings
from unitcost.gateway.upstreams.base import Upstream
from unitcost.gateway.upstreams.registry import create_upstream
from unitcost.wire.tokens import Tokenizer, load_tokenizer
from unitcost.wire.usage import estimate_usage

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
    """A model on a backend with its price card: complete once the portfolio has started."""

    name: str
    upstream: Upstream
    card: PriceCard
    tokenizer_spec: str
    max_output_tokens: int | None = None  # max_tokens is clamped to this
    _tokenizer: Tokenizer | None = field(default=None, repr=False)

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.tokenizer_spec)
        return self._tokenizer

    def count_prompt(self, body: dict[str, Any]) -> int:
        """The prompt's tokens: exact where the backend knows them, else the tokenizer's."""
        exact = self.upstream.prompt_tokens(body)
        if exact is not None:
            return exact
        return estimate_usage(self.tokenizer, body, "").prompt_tokens


class Portfolio:
    """The deployments, built from settings; `start()` opens backends and prices them."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.deployments: dict[str, Deployment] = {}
        self._configs = {d.name: d for d in settings.deployments}
        # backends validate their options now, so a bad config fails before anything opens
        self._upstreams = {
            d.name: create_upstream(d.name, d.backend, d.options, f"deployments[{d.name}]")
            for d in settings.deployments
        }

    @property
    def names(self) -> list[str]:
        return list(self._configs)

    async def start(self) -> None:
        for name, config in self._configs.items():
            upstream = self._upstreams[name]
            await upstream.start()
            card = (
                price_card(name, config.price, config.price_workload)
                if config.price is not None
                else upstream.default_price()
            )
            if card is None:
                raise InputError(
                    f"deployment {name}: give a price (list_price, price_map, self_hosted or seed); "
                    f"the {config.backend} backend has none of its own"
                )
            dep = Deployment(
                name,
                upstream,
                card,
                config.tokenizer or upstream.default_tokenizer() or DEFAULT_TOKENIZER,
                config.max_output_tokens or upstream.default_max_output_tokens(),
            )
            if dep.tokenizer_spec != DEFAULT_TOKENIZER:
                _ = dep.tokenizer  # fail at start-up, not on the first stream without usage
            self.deployments[name] = dep

    async def close(self) -> None:
        for upstream in self._upstreams.values():
            await upstream.close()

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
