"""Prometheus metrics of the gateway, one registry per app: unitcost's own series and the
OpenTelemetry GenAI semantic-convention instruments under their Prometheus names.

    metrics = GatewayMetrics()
    metrics.observe(row)                               # every ledger row
    metrics.observe_rejection("acme", 429, "rate")    # every refusal, tenant None if unknown
    metrics.render()                                   # the /metrics body

unitcost series (counters end in `_total` when exported):

    unitcost_requests_total{deployment, tenant, feature, status}
    unitcost_tokens_total{deployment, tenant, feature, kind}    prompt, cached, completion, reasoning
    unitcost_cost_usd_total{deployment, tenant, feature}        from the rows' nano-dollar cost lines
    unitcost_saving_usd_total{deployment, tenant, feature}      what cache hits avoided
    unitcost_rejections_total{tenant, http_status, reason}      401, 403, 413, 429 ... before a call
    unitcost_request_seconds{deployment, tenant, status}        histogram, end to end
    unitcost_ttft_seconds{deployment, tenant, status}           histogram, streams only

OpenTelemetry GenAI (semantic conventions for generative AI metrics; dots become underscores
and seconds get their unit suffix, as OpenTelemetry's Prometheus exporter names them):

    gen_ai_client_token_usage{gen_ai_operation_name, gen_ai_request_model,
                              gen_ai_response_model, gen_ai_token_type}    input | output
    gen_ai_client_operation_duration_seconds{..., error_type}
    gen_ai_server_time_to_first_token_seconds{...}

Every label whose values come from clients (tenant, feature, model, reason) is capped at
`MAX_VALUES` distinct values; later ones read `other`, so a client cannot grow the series
without bound. These are for dashboards and alerts; bills come from the ledger.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from unitcost.ledger.record import NANOS_PER_USD, UsageRecord

__all__ = [
    "GENAI_DURATION_BUCKETS",
    "GENAI_TOKEN_BUCKETS",
    "GENAI_TTFT_BUCKETS",
    "MAX_VALUES",
    "GatewayMetrics",
]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
#: the explicit bucket boundaries the GenAI semantic conventions advise for each instrument
GENAI_TOKEN_BUCKETS = tuple(float(4**i) for i in range(14))  # 1, 4, 16, ... 67,108,864
GENAI_DURATION_BUCKETS = tuple(0.01 * 2**i for i in range(14))  # 0.01, 0.02, ... 81.92
GENAI_TTFT_BUCKETS = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
MAX_VALUES = 100

_OPERATIONS = {
    "chat/completions": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
}
_ANSWERED = ("ok", "cache_hit")


class _Bounded:
    """The first `limit` distinct values pass; the rest become `other`."""

    def __init__(self, limit: int = MAX_VALUES) -> None:
        self.limit, self.seen = limit, set[str]()

    def __call__(self, value: str | None, missing: str = "(none)") -> str:
        v = missing if value is None or value == "" else value
        if v in self.seen:
            return v
        if len(self.seen) >= self.limit:
            return "other"
        self.seen.add(v)
        return v


class _CounterChild:
    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created = time.time()  # exported as `<name>_created`, as prometheus_client does

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class _HistogramChild:
    __slots__ = ("bounds", "counts", "created", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.created = time.time()
        self.counts = [0] * (len(bounds) + 1)  # the last one: above every bound (+Inf)
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        self.counts[bisect_left(self.bounds, amount)] += 1  # bucket `le` bound: amount ≤ bound
        self.sum += amount


class _Family:
    """One metric family with prometheus_client's `labels(...).inc()` / `.observe()` shape,
    but plain attribute updates underneath: prometheus_client takes a lock and walks the
    buckets in Python on every observation: four times the cost of these, and a visible
    share of the gateway's CPU under load. Updated and scraped on the event loop's thread
    only, so no lock is needed."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, tuple(labelnames)
        self.bounds = tuple(float(b) for b in buckets) if buckets is not None else None
        # the `le` labels, as prometheus_client spells them
        les = [floatToGoString(b) for b in self.bounds or ()]  # type: ignore[no-untyped-call]
        self.les = [*les, "+Inf"]
        self.children: dict[tuple[str, ...], Any] = {}
        if not self.labelnames:
            self.labels()  # an unlabelled series is exported from the start, zeros included
        if registry is not None:
            registry.register(self)  # a collector by its collect()

    def labels(self, *values: str) -> Any:
        child = self.children.get(values)
        if child is None:
            child = _HistogramChild(self.bounds) if self.bounds is not None else _CounterChild()
            self.children[values] = child
        return child

    def observe(self, amount: float) -> None:
        self.labels().observe(amount)

    def collect(self) -> Iterator[Metric]:
        if self.bounds is None:
            counter = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
            for values, child in self.children.items():
                counter.add_metric(list(values), child.value, created=child.created)
            yield counter
            return
        histogram = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, child in self.children.items():
            running, buckets = 0, []
            for le, n in zip(self.les, child.counts, strict=True):
                running += n
                buckets.append((le, float(running)))
            histogram.add_metric(list(values), buckets, child.sum)
            labels = dict(zip(self.labelnames, values, strict=True))
            histogram.samples.append(Sample(f"{self.name}_created", labels, child.created))
        yield histogram


class GatewayMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        attributed = ("deployment", "tenant", "feature")
        self.requests = _Family(
            "unitcost_requests",
            "Upstream calls, cache hits and refusals",
            (*attributed, "status"),
            registry=r,
        )
        self.tokens = _Family(
            "unitcost_tokens", "Tokens by kind", (*attributed, "kind"), registry=r
        )
        self.cost = _Family(
            "unitcost_cost_usd", "Cost in USD from the rows' cost lines", attributed, registry=r
        )
        self.saving = _Family(
            "unitcost_saving_usd", "USD the cache avoided paying", attributed, registry=r
        )
        self.rejections = _Family(
            "unitcost_rejections",
            "Requests refused before or instead of an upstream call (401, 403, 413, 429, ...)",
            ("tenant", "http_status", "reason"),
            registry=r,
        )
        timed = ("deployment", "tenant", "status")
        self.guard = _Family(
            "unitcost_guard_decisions",
            "Guard decisions per request, by action and reason kind (pii, secret, injection, ...)",
            ("action", "reason"),
            registry=self.registry,
        )
        self.guard_seconds = _Family(
            "unitcost_guard_seconds",
            "Time the guard took on a request's input",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
            registry=self.registry,
        )
        self.latency = _Family(
            "unitcost_request_seconds",
            "End-to-end latency",
            timed,
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = _Family(
            "unitcost_ttft_seconds",
            "Time to first token (streams)",
            timed,
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        genai = ("gen_ai_operation_name", "gen_ai_request_model", "gen_ai_response_model")
        self.genai_tokens = _Family(
            "gen_ai_client_token_usage",
            "Number of input and output tokens used (OpenTelemetry GenAI, unit {token})",
            (*genai, "gen_ai_token_type"),
            buckets=GENAI_TOKEN_BUCKETS,
            registry=r,
        )
        self.genai_duration = _Family(
            "gen_ai_client_operation_duration_seconds",
            "GenAI operation duration (OpenTelemetry GenAI)",
            (*genai, "error_type"),
            buckets=GENAI_DURATION_BUCKETS,
            registry=r,
        )
        self.genai_ttft = _Family(
            "gen_ai_server_time_to_first_token_seconds",
            "Time to generate the first token, successful streams (OpenTelemetry GenAI)",
            genai,
            buckets=GENAI_TTFT_BUCKETS,
            registry=r,
        )
        self._tenant, self._feature, self._model = _Bounded(), _Bounded(), _Bounded()
        self._reason = _Bounded()
        self._children: dict[tuple[str, ...], tuple[Any, ...]] = {}

    def _for(self, r: UsageRecord) -> tuple[Any, ...]:
        key = (r.deployment or "-", r.tenant, r.feature or "", r.status, r.requested, r.endpoint)
        children = self._children.get(key)
        if children is None:
            deployment = self._model(r.deployment, "-")
            tenant, feature = self._tenant(r.tenant), self._feature(r.feature)
            attributed = (deployment, tenant, feature)
            timed = (deployment, tenant, r.status)
            genai = (
                _OPERATIONS.get(r.endpoint, r.endpoint),
                self._model(r.requested, "-"),
                deployment,
            )
            error = "" if r.status in _ANSWERED else r.status
            children = (
                self.requests.labels(*attributed, r.status),
                self.latency.labels(*timed),
                self.ttft.labels(*timed),
                self.cost.labels(*attributed),
                self.saving.labels(*attributed),
                *(
                    self.tokens.labels(*attributed, kind)
                    for kind in ("prompt", "cached", "completion", "reasoning")
                ),
                self.genai_tokens.labels(*genai, "input"),
                self.genai_tokens.labels(*genai, "output"),
                self.genai_duration.labels(*genai, error),
                self.genai_ttft.labels(*genai),
            )
            self._children[key] = children
        return children

    def observe(self, r: UsageRecord) -> None:
        """One ledger row: a call, a cache hit, or a refusal the ledger records."""
        (
            requests,
            latency,
            ttft,
            cost,
            saving,
            prompt,
            cached,
            completion,
            reasoning,
            g_in,
            g_out,
            g_duration,
            g_ttft,
        ) = self._for(r)
        requests.inc()
        seconds = r.latency_ms / 1000.0
        latency.observe(seconds)
        if r.ttft_ms is not None:
            ttft.observe(r.ttft_ms / 1000.0)
        if r.cost_nanos:
            cost.inc(r.cost_nanos / NANOS_PER_USD)
        if r.saving_nanos:
            saving.inc(r.saving_nanos / NANOS_PER_USD)
        for counter, n in (
            (prompt, r.prompt_tokens),
            (cached, r.cached_tokens),
            (completion, r.completion_tokens),
            (reasoning, r.reasoning_tokens),
        ):
            if n:
                counter.inc(n)
        if r.status == "rejected":
            return  # no operation ran: only the request counter and the rejection counter
        g_duration.observe(seconds)
        if r.status == "ok":  # the conventions count tokens and TTFT of completed calls
            if r.prompt_tokens:
                g_in.observe(r.prompt_tokens)
            if r.completion_tokens:
                g_out.observe(r.completion_tokens)
            if r.ttft_ms is not None and r.stream:
                g_ttft.observe(r.ttft_ms / 1000.0)

    def observe_guard(self, action: str, reasons: list[str], ms: float) -> None:
        """One request's guard decision. Labels keep only a reason's kind (before the
        colon): a reason like `tool_not_allowed:<name>` carries a client-chosen name."""
        kinds = sorted({r.split(":", 1)[0] for r in reasons}) or ["none"]
        for kind in kinds:
            self.guard.labels(action, kind).inc()
        self.guard_seconds.observe(ms / 1000.0)

    def observe_rejection(self, tenant: str | None, http_status: int, reason: str | None) -> None:
        """A refused request; `tenant` is None when the key was missing or wrong."""
        self.rejections.labels(
            self._tenant(tenant, "(unauthenticated)"), str(int(http_status)), self._reason(reason)
        ).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
