"""Route settings: a name clients may send as `model`, and how it picks a deployment.

    routes:
      - {name: auto, policy: learned, weak: gpt-5-mini, strong: gemini-3.1-pro-preview,
         strong_share: 0.3}

Validated with the rest of the gateway's settings (`gateway.settings` embeds `RouteConfig`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["CascadeCheck", "RouteConfig", "RuleConfig"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleConfig(_Section):
    """One rule of a `rules` route; every condition given must hold."""

    deployment: str
    min_prompt_tokens: int | None = None
    max_prompt_tokens: int | None = None
    tenants: list[str] | None = None
    features: list[str] | None = None
    tools: bool | None = None
    json_mode: bool | None = None


class CascadeCheck(_Section):
    """What makes a cheap answer good enough to return without escalating."""

    require_regex: str | None = Field(None, description="the answer must match this")
    reject_truncated: bool = True  # finish_reason == "length" escalates
    min_mean_logprob: float | None = None  # needs logprobs from the upstream
    max_doubt: float | None = Field(
        None,
        ge=0,
        le=1,
        description="escalate when the answer verifier's P(wrong) is above this "
        "(routing.cascade: format, effort against the model's usual, hedging, logprobs)",
    )


class RouteConfig(_Section):
    """A name clients may send as `model` instead of a deployment."""

    name: str = Field(pattern=r"^[A-Za-z0-9._:/-]+$")
    policy: Literal["fallback", "weighted", "rules", "learned", "cascade"]
    deployments: list[str] = Field([], description="fallback order, or the cascade chain")
    weights: dict[str, float] = {}
    rules: list[RuleConfig] = []
    default: str | None = None
    weak: str | None = None
    strong: str | None = None
    router: str | None = Field(None, description="router file; default: the shipped router")
    strong_share: float | None = Field(None, ge=0, le=1)
    target_quality: float | None = Field(None, ge=0, le=1, description="share of the gap (PGR)")
    relative_quality: float | None = Field(
        None, ge=0, le=1, description="share of the strong model's quality, e.g. 0.95"
    )
    check: CascadeCheck = CascadeCheck()
    max_attempts: int = Field(3, ge=1)
    retry_budget: float = Field(0.2, ge=0, description="retries allowed per request, on average")
    cache_sampling: bool = Field(False, description="cache answers even at temperature > 0")

    @model_validator(mode="after")
    def _complete(self) -> RouteConfig:
        needs = {
            "fallback": (bool(self.deployments), "deployments"),
            "weighted": (bool(self.weights), "weights"),
            "rules": (bool(self.rules), "rules"),
            "learned": (bool(self.weak and self.strong), "weak and strong"),
            "cascade": (len(self.deployments) >= 2, "at least two deployments"),
        }
        ok, what = needs[self.policy]
        if not ok:
            raise ValueError(f"the {self.policy} policy needs {what}")
        targets = (self.strong_share, self.target_quality, self.relative_quality)
        if sum(t is not None for t in targets) > 1:
            raise ValueError("give one of strong_share, target_quality, relative_quality")
        return self

    def members(self) -> list[str]:
        names = [*self.deployments, *self.weights, *(r.deployment for r in self.rules)]
        names += [n for n in (self.default, self.weak, self.strong) if n]
        return list(dict.fromkeys(names))
