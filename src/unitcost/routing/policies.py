"""Routes: a name a client sends as `model`, resolved per request to a list of deployments.

    route = build_route(RouteConfig(name="auto", policy="learned", weak="mini", strong="big",
                                    strong_share=0.3))
    plan = route.plan(request_body, tenant="acme", feature=None)
    plan.candidates   # ["mini", "big"]: the first is tried first, the rest are fallbacks
    plan.reason       # "learned: P(strong needed) 0.12 < 0.41 → mini"

Policies: `fallback` (an ordered chain), `weighted` (a random pick by weight, the others as
fallbacks), `rules` (prompt length, tenant, feature, tools, JSON mode), `learned` (a
classifier over the prompt's embedding), `cascade` (cheap first; escalate when the answer
fails a check or a verifier doubts it). Every plan carries its reason into the ledger.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from unitcost.routing.config import CascadeCheck, RouteConfig, RuleConfig
from unitcost.wire.openai import conversation, prompt_text
from unitcost.wire.tokens import load_tokenizer

__all__ = ["Plan", "RetryBudget", "Route", "build_route", "passes_check"]


@dataclass(slots=True)
class Plan:
    candidates: list[str]
    reason: str
    cascade: CascadeCheck | None = None


class RetryBudget:
    """Retries allowed as a share of requests (a token bucket), so a failing upstream
    cannot turn every request into `max_attempts` calls."""

    def __init__(self, ratio: float, burst: float = 10.0) -> None:
        self.ratio, self.burst = ratio, burst
        self.tokens = burst
        self._lock = threading.Lock()

    def deposit(self) -> None:
        with self._lock:
            self.tokens = min(self.burst, self.tokens + self.ratio)

    def withdraw(self) -> bool:
        with self._lock:
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True
            return False


class Route:
    #: planning does CPU work (an embedding, a token count): run it off the event loop
    blocking = False

    def __init__(self, config: RouteConfig) -> None:
        self.config = config
        self.budget = RetryBudget(config.retry_budget)

    def plan(self, body: dict[str, Any], tenant: str, feature: str | None) -> Plan:
        raise NotImplementedError


class FallbackRoute(Route):
    def plan(self, body: dict[str, Any], tenant: str, feature: str | None) -> Plan:
        first, *rest = self.config.deployments
        return Plan([first, *rest], f"fallback: {' → '.join(self.config.deployments)}")


class WeightedRoute(Route):
    def __init__(self, config: RouteConfig) -> None:
        super().__init__(config)
        self.rng = random.Random()

    def plan(self, body: dict[str, Any], tenant: str, feature: str | None) -> Plan:
        names, weights = zip(*self.config.weights.items(), strict=True)
        pick = self.rng.choices(names, weights)[0]
        rest = sorted((n for n in names if n != pick), key=lambda n: -self.config.weights[n])
        return Plan([pick, *rest], f"weighted: drew {pick} (weight {self.config.weights[pick]:g})")


def _prompt_tokens(body: dict[str, Any]) -> int:
    return load_tokenizer("tiktoken:o200k_base").count(conversation(body))


class RulesRoute(Route):
    def __init__(self, config: RouteConfig) -> None:
        super().__init__(config)
        self.blocking = any(
            r.min_prompt_tokens is not None or r.max_prompt_tokens is not None for r in config.rules
        )

    def plan(self, body: dict[str, Any], tenant: str, feature: str | None) -> Plan:
        tokens: int | None = None
        for i, rule in enumerate(self.config.rules):
            if rule.min_prompt_tokens is not None or rule.max_prompt_tokens is not None:
                tokens = _prompt_tokens(body) if tokens is None else tokens
            why = _matches(rule, body, tenant, feature, tokens)
            if why is not None:
                return Plan(self._with_fallbacks(rule.deployment), f"rules[{i}]: {why}")
        default = self.config.default or self.config.rules[-1].deployment
        return Plan(self._with_fallbacks(default), "rules: no rule matched → default")

    def _with_fallbacks(self, first: str) -> list[str]:
        return [first, *(n for n in self.config.deployments if n != first)]


def _matches(
    rule: RuleConfig, body: dict[str, Any], tenant: str, feature: str | None, tokens: int | None
) -> str | None:
    reasons = []
    if rule.min_prompt_tokens is not None:
        if tokens is None or tokens < rule.min_prompt_tokens:
            return None
        reasons.append(f"prompt {tokens} tokens ≥ {rule.min_prompt_tokens}")
    if rule.max_prompt_tokens is not None:
        if tokens is None or tokens > rule.max_prompt_tokens:
            return None
        reasons.append(f"prompt {tokens} tokens ≤ {rule.max_prompt_tokens}")
    if rule.tenants is not None:
        if tenant not in rule.tenants:
            return None
        reasons.append(f"tenant {tenant}")
    if rule.features is not None:
        if feature not in rule.features:
            return None
        reasons.append(f"feature {feature}")
    if rule.tools is not None:
        if bool(body.get("tools")) != rule.tools:
            return None
        reasons.append("tools" if rule.tools else "no tools")
    if rule.json_mode is not None:
        fmt = body.get("response_format")
        json_mode = isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")
        if json_mode != rule.json_mode:
            return None
        reasons.append("JSON mode" if rule.json_mode else "no JSON mode")
    return f"{', '.join(reasons) or 'always'} → {rule.deployment}"


class LearnedRoute(Route):
    """A share of strong calls is a share of *this* traffic: once `WINDOW` scores have been
    seen, the threshold is their quantile, so the share holds even when live prompts score
    differently from the training set. A quality target uses the training curve as is."""

    WINDOW, WARM = 1000, 20
    blocking = True

    def __init__(self, config: RouteConfig) -> None:
        super().__init__(config)
        from unitcost.routing.learned import LearnedRouter

        self.router = LearnedRouter.load(config.router)
        self.share = config.strong_share
        if self.share is None and config.target_quality is None and config.relative_quality is None:
            self.share = 0.3
        self.threshold = self.router.threshold(
            self.share, config.target_quality, config.relative_quality
        )
        self.recent: deque[float] = deque(maxlen=self.WINDOW)
        self._lock = threading.Lock()

    def _threshold(self, score: float) -> float:
        if self.share is None:
            return self.threshold
        with self._lock:
            self.recent.append(score)
            if len(self.recent) >= self.WARM:
                self.threshold = float(np.quantile(self.recent, 1.0 - self.share))
            return self.threshold

    def plan(self, body: dict[str, Any], tenant: str, feature: str | None) -> Plan:
        weak, strong = self.config.weak, self.config.strong
        assert weak is not None and strong is not None
        started = time.perf_counter()
        score = self.router.score(prompt_text(body))
        took = (time.perf_counter() - started) * 1000
        threshold = self._threshold(score)
        if score >= threshold:
            return Plan(
                [strong, weak],
                f"learned: P(strong needed) {score:.3f} ≥ "
                f"{threshold:.3f} → {strong} ({took:.1f} ms)",
            )
        return Plan(
            [weak, strong],
            f"learned: P(strong needed) {score:.3f} < {threshold:.3f} → {weak} ({took:.1f} ms)",
        )


class CascadeRoute(Route):
    def plan(self, body: dict[str, Any], tenant: str, feature: str | None) -> Plan:
        return Plan(
            list(self.config.deployments),
            f"cascade: {self.config.deployments[0]} first",
            cascade=self.config.check,
        )


def passes_check(check: CascadeCheck, completion: dict[str, Any]) -> str | None:
    """None if the answer is good enough; else why it is not (the escalation reason)."""
    choices = completion.get("choices") or []
    if not choices:
        return "no choices"
    choice = choices[0]
    text = (choice.get("message") or {}).get("content") or choice.get("text") or ""
    if check.reject_truncated and choice.get("finish_reason") == "length":
        return "answer truncated (finish_reason=length)"
    if check.require_regex is not None and re.search(check.require_regex, text) is None:
        return f"answer does not match {check.require_regex!r}"
    if check.min_mean_logprob is not None:
        tokens = ((choice.get("logprobs") or {}).get("content")) or []
        if not tokens:
            return "no logprobs to check"
        mean = sum(t.get("logprob", 0.0) for t in tokens) / len(tokens)
        if mean < check.min_mean_logprob:
            return f"mean logprob {mean:.2f} < {check.min_mean_logprob:g}"
    if check.max_doubt is not None:
        from unitcost.routing.cascade import doubt_reason

        return doubt_reason(completion, check.max_doubt)
    return None


_POLICIES: dict[str, type[Route]] = {
    "fallback": FallbackRoute,
    "weighted": WeightedRoute,
    "rules": RulesRoute,
    "learned": LearnedRoute,
    "cascade": CascadeRoute,
}


def build_route(config: RouteConfig) -> Route:
    return _POLICIES[config.policy](config)
