"""Prometheus metrics of the gateway, one registry per app.

    unitcost_requests_total{deployment, tenant, status}
    unitcost_tokens_total{deployment, tenant, kind}          kind: prompt, cached, completion, reasoning
    unitcost_cost_usd_total{deployment, tenant}
    unitcost_request_seconds{deployment, tenant, status}     histogram, end to end
    unitcost_ttft_seconds{deployment, tenant, status}        histogram, streams only

These are for dashboards and alerts; the ledger stays the record that bills are built from.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from unitcost.ledger.record import UsageRecord

__all__ = ["GatewayMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("deployment", "tenant", "status")
        self.requests = Counter(
            "unitcost_requests", "Upstream calls and cache hits", labels, registry=self.registry
        )
        self.tokens = Counter(
            "unitcost_tokens",
            "Tokens by kind",
            ("deployment", "tenant", "kind"),
            registry=self.registry,
        )
        self.cost = Counter(
            "unitcost_cost_usd",
            "Cost in USD from the price cards",
            ("deployment", "tenant"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "unitcost_request_seconds",
            "End-to-end latency",
            labels,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ttft = Histogram(
            "unitcost_ttft_seconds",
            "Time to first token (streams)",
            labels,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, str], tuple[Any, ...]] = {}

    def _for(self, deployment: str, tenant: str, status: str) -> tuple[Any, ...]:
        key = (deployment, tenant, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(*key),
                self.latency.labels(*key),
                self.ttft.labels(*key),
                self.cost.labels(deployment, tenant),
                *(
                    self.tokens.labels(deployment, tenant, kind)
                    for kind in ("prompt", "cached", "completion", "reasoning")
                ),
            )
            self._children[key] = children
        return children

    def observe(self, r: UsageRecord) -> None:
        requests, latency, ttft, cost, prompt, cached, completion, reasoning = self._for(
            r.deployment or "-", r.tenant, r.status
        )
        requests.inc()
        latency.observe(r.latency_ms / 1000.0)
        if r.ttft_ms is not None:
            ttft.observe(r.ttft_ms / 1000.0)
        if r.cost_usd:
            cost.inc(r.cost_usd)
        for counter, n in (
            (prompt, r.prompt_tokens),
            (cached, r.cached_tokens),
            (completion, r.completion_tokens),
            (reasoning, r.reasoning_tokens),
        ):
            if n:
                counter.inc(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)
