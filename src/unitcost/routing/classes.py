"""Workload classes: a portfolio of options per kind of work, not one model.

    classes:
      - name: support-chat
        latency_slo: {ttft_p95_ms: 800, latency_p95_ms: 6000}
        sensitivity: {pii: self_hosted_only}
        throughput: interactive
        options: [llama-8b-vllm, llama-8b-ollama, {deployment: claude-haiku, hosting: api}]

    classes = build_classes(configs, hosting)      # {name: WorkloadClass}, each a Route
    plan = classes["support-chat"].plan(body, tenant, feature)   # options in order

A request names a class by `model` (like a route) or by the `x-unitcost-class` header.
The class's plan keeps only the options its sensitivity allows (`pii: self_hosted_only`
drops API options), puts first those that meet its latency SLO as measured on this
gateway's recent calls (p95 of the last `window` answered calls; an option not measured
yet counts as meeting it), and keeps the others as fallbacks, in the configured order.
Every choice says why in `route_reason`, and every row carries the class.

`portfolio_warnings` checks the seed's advice at start-up: at least two viable options
per class, and at least one open-weight option (so no class depends on one vendor).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from unitcost.report.fit import plural
from unitcost.routing.config import RouteConfig
from unitcost.routing.policies import Plan, Route

__all__ = [
    "CLASS_HEADER",
    "ClassOption",
    "Hosting",
    "LatencyBoard",
    "LatencySLO",
    "WorkloadClass",
    "WorkloadClassConfig",
    "build_classes",
    "hosting_of",
    "portfolio_warnings",
]

CLASS_HEADER = "x-unitcost-class"
#: backends that run models on our own machines (open weights) unless an option says not
SELF_HOSTED_BACKENDS = frozenset({"local", "ollama", "triton"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClassOption(_Section):
    deployment: str
    hosting: Literal["self_hosted", "api"] | None = None  # default: from backend and price
    open_weight: bool | None = None  # default: self-hosted options are open-weight


class LatencySLO(_Section):
    ttft_p95_ms: float | None = Field(None, gt=0)
    latency_p95_ms: float | None = Field(None, gt=0)


class Sensitivity(_Section):
    pii: Literal["any", "self_hosted_only"] = "any"


class WorkloadClassConfig(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9._:/-]+$")
    description: str = ""
    latency_slo: LatencySLO = LatencySLO()
    sensitivity: Sensitivity = Sensitivity()
    throughput: Literal["interactive", "batch", "bulk"] = "interactive"
    options: list[str | ClassOption] = Field(min_length=1)
    max_attempts: int = Field(3, ge=1)
    retry_budget: float = Field(0.5, ge=0, description="retries allowed per request, on average")
    window: int = Field(200, ge=10, description="recent calls per option behind its p95")

    @model_validator(mode="after")
    def _distinct(self) -> WorkloadClassConfig:
        names = [o if isinstance(o, str) else o.deployment for o in self.options]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"options: {dupes[0]!r} is listed twice")
        return self

    def option_list(self) -> list[ClassOption]:
        return [ClassOption(deployment=o) if isinstance(o, str) else o for o in self.options]


@dataclass(frozen=True, slots=True)
class Hosting:
    """Where a deployment runs: on our machines (open weights) or behind a vendor's API."""

    self_hosted: bool
    open_weight: bool


def hosting_of(backend: str, price_kind: str | None, option: ClassOption | None = None) -> Hosting:
    """A deployment's hosting from its backend and price (a self_hosted or seed price means
    our machines), unless the class option says otherwise."""
    self_hosted = backend in SELF_HOSTED_BACKENDS or price_kind in ("self_hosted", "seed")
    if backend == "replay":  # recorded answers of API models
        self_hosted = False
    if option is not None and option.hosting is not None:
        self_hosted = option.hosting == "self_hosted"
    open_weight = (
        self_hosted if option is None or option.open_weight is None else option.open_weight
    )
    return Hosting(self_hosted, open_weight)


class LatencyBoard:
    """Recent TTFT and latency per deployment, fed by every answered call."""

    def __init__(self, window: int = 200) -> None:
        self.window = window
        self._ttft: dict[str, deque[float]] = {}
        self._latency: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def observe(self, deployment: str, latency_ms: float, ttft_ms: float | None = None) -> None:
        with self._lock:
            self._latency.setdefault(deployment, deque(maxlen=self.window)).append(latency_ms)
            if ttft_ms is not None:
                self._ttft.setdefault(deployment, deque(maxlen=self.window)).append(ttft_ms)

    def p95(self, deployment: str, what: Literal["ttft", "latency"]) -> float | None:
        with self._lock:
            values = sorted((self._ttft if what == "ttft" else self._latency).get(deployment, ()))
        if not values:
            return None
        return values[min(len(values) - 1, int(0.95 * len(values)))]


class WorkloadClass(Route):
    """A class behaves as a route to the pipeline: a plan of candidates, a retry budget."""

    def __init__(
        self, config: WorkloadClassConfig, hosting: dict[str, Hosting], board: LatencyBoard
    ) -> None:
        options = config.option_list()
        super().__init__(
            RouteConfig(
                name=config.name,
                policy="fallback",
                deployments=[o.deployment for o in options],
                max_attempts=config.max_attempts,
                retry_budget=config.retry_budget,
            )
        )
        self.name = self.workload_class = config.name
        self.spec = config
        self.board = board
        self.hosting = {o.deployment: hosting[o.deployment] for o in options}
        self.allowed = [
            o.deployment
            for o in options
            if config.sensitivity.pii == "any" or self.hosting[o.deployment].self_hosted
        ]

    def meets_slo(self, deployment: str) -> tuple[bool, str]:
        """(meets, why) for one option against the class's SLO, on what was measured."""
        slo, notes = self.spec.latency_slo, []
        for what, limit in (("ttft", slo.ttft_p95_ms), ("latency", slo.latency_p95_ms)):
            if limit is None:
                continue
            measured = self.board.p95(deployment, what)  # type: ignore[arg-type]
            if measured is None:
                notes.append(f"{what} not measured yet")
            elif measured > limit:
                return False, f"{what} p95 {measured:.0f} ms > {limit:.0f} ms"
            else:
                notes.append(f"{what} p95 {measured:.0f} ms ≤ {limit:.0f} ms")
        return True, ", ".join(notes) or "no latency SLO"

    def plan(self, body: dict[str, Any], tenant: str, feature: str | None) -> Plan:
        meeting: list[str] = []
        missing: list[str] = []
        why: dict[str, str] = {}
        for name in self.allowed:
            ok, why[name] = self.meets_slo(name)
            (meeting if ok else missing).append(name)
        order = meeting + missing
        dropped = len(self.hosting) - len(self.allowed)
        reason = f"class {self.name}: {order[0]} ({why[order[0]]})"
        if missing:
            reason += f"; behind the SLO: {', '.join(f'{n} ({why[n]})' for n in missing)}"
        if dropped:
            reason += f"; {plural(dropped, 'API option')} excluded (pii: self_hosted_only)"
        return Plan(order, reason)


def portfolio_warnings(
    configs: list[WorkloadClassConfig], hosting: dict[str, Hosting]
) -> list[str]:
    """The seed's advice, checked: ≥ 2 viable options and an open-weight one per class."""
    out = []
    for c in configs:
        names = [o.deployment for o in c.option_list()]
        viable = [n for n in names if c.sensitivity.pii == "any" or hosting[n].self_hosted]
        if len(viable) < 2:
            out.append(
                f"classes.{c.name}: {plural(len(viable), 'viable option')}; keep at least two "
                "(an outage or a price change then has somewhere to go)"
            )
        if not any(hosting[n].open_weight for n in names):
            out.append(
                f"classes.{c.name}: no open-weight option; add one so the class does not "
                "depend on a single vendor's API"
            )
    return out


def build_classes(
    configs: list[WorkloadClassConfig],
    deployments: dict[str, tuple[str, str | None]],
    board: LatencyBoard | None = None,
) -> tuple[dict[str, WorkloadClass], list[str]]:
    """Classes by name, and start-up warnings. `deployments` maps each deployment to
    (backend kind, price kind or None). Unknown options and classes that sensitivity leaves
    empty are errors (ValueError), everything else a warning."""
    board = board or LatencyBoard(max((c.window for c in configs), default=200))
    classes = {}
    for c in configs:
        hosting = {}
        for o in c.option_list():
            if o.deployment not in deployments:
                raise ValueError(
                    f"classes.{c.name}.options: {o.deployment!r} is not a deployment; "
                    f"deployments are: {', '.join(deployments)}"
                )
            backend, price = deployments[o.deployment]
            hosting[o.deployment] = hosting_of(backend, price, o)
        cls = WorkloadClass(c, hosting, board)
        if not cls.allowed:
            raise ValueError(
                f"classes.{c.name}: sensitivity pii: self_hosted_only leaves no option; "
                "add a self-hosted deployment or mark one `hosting: self_hosted`"
            )
        classes[c.name] = cls
    warnings = []
    for c in configs:
        warnings += portfolio_warnings([c], classes[c.name].hosting)
    return classes, warnings
