"""The least-cost mix of accelerators that serves a demand within SLOs and a power cap.

    >>> from unitcost.catalog import load_catalog
    >>> cat = load_catalog()
    >>> model = cat.model("llama-3.1-8b")
    >>> kinds = [Candidate("H100", cat.accelerator("H100-SXM"), model, "fp8", 1, 2.5,
    ...                    gpu_watts=700.0, host_watts=300.0)]
    >>> p = plan(PlanInputs(buckets=(Bucket(1000, 250, 20.0),), candidates=tuple(kinds),
    ...                     facility=Facility(pue=1.2, usd_per_mwh=60.0)))
    >>> p.kinds[0].replicas >= 1
    True

An integer program, solved by HiGHS (`scipy.optimize.milp`): an integer count of replicas
per candidate kind, and the requests/s of each demand bucket each kind serves.

    minimise   Σ_k n_k·(hourly price + fixed power cost) + Σ_kb y_kb·(load power cost)
    subject to Σ_k y_kb ≥ demand_b                      every bucket is served
               Σ_b y_kb / cap_kb ≤ max_load · n_k       no replica above max_load
               n_k · accelerators_k ≤ available_k       what can be bought or leased
               facility power ≤ power cap               (GPU at its load + host) × PUE

A replica draws idle power plus the rest of its board power in proportion to its load;
`energy_billed` false (a lease that includes power) keeps the watts in the cap and the
footprint but not in the cost. When the program is infeasible, relaxations say which
constraint binds: the SLO (no kind can serve a bucket), the power cap, or availability.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from unitcost.economics.capacity import Bucket, Candidate, Capacity, capacity
from unitcost.errors import InputError

__all__ = [
    "Bucket",
    "Candidate",
    "Facility",
    "KindPlan",
    "Plan",
    "PlanInputs",
    "Solution",
    "capacities",
    "diagnose",
    "plan",
    "solve",
]

HOURS_PER_DAY = 24.0
#: HiGHS stops within this relative gap of the proven optimum; comparisons between solves
#: (what binds) use ten times it as their tolerance
MIP_GAP = 1e-6


@dataclass(frozen=True)
class Facility:
    pue: float = 1.0
    usd_per_mwh: float = 0.0
    power_cap_mw: float | None = None
    wue_l_per_kwh: float = 0.0
    carbon_g_per_kwh: float = 0.0
    sources: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PlanInputs:
    buckets: tuple[Bucket, ...]
    candidates: tuple[Candidate, ...]
    facility: Facility = Facility()
    ttft_slo_s: float | None = None
    tpot_slo_s: float | None = None
    max_load: float = 0.8
    price_usd_per_m: tuple[float, float] | None = None  # input, output


@dataclass(frozen=True)
class KindPlan:
    kind: Candidate
    replicas: int
    utilisation: float
    served: dict[str, float]  # requests/s by bucket
    input_tokens_per_day: float
    output_tokens_per_day: float
    usd_per_hour: float
    it_mw: float
    facility_mw: float

    @property
    def accelerators(self) -> int:
        return self.replicas * self.kind.accelerators

    @property
    def tokens_per_day(self) -> float:
        return self.input_tokens_per_day + self.output_tokens_per_day

    @property
    def usd_per_1m_tokens(self) -> float:
        per_day = self.tokens_per_day
        return self.usd_per_hour * HOURS_PER_DAY / per_day * 1e6 if per_day else math.nan


@dataclass(frozen=True)
class Plan:
    inputs: PlanInputs
    kinds: list[KindPlan]
    binding: list[str]
    capacity: dict[tuple[str, str], Capacity]
    solve_s: float
    notes: list[str] = field(default_factory=list)

    def total(self, attribute: str) -> float:
        return float(sum(getattr(k, attribute) for k in self.kinds))

    @property
    def usd_per_day(self) -> float:
        return self.total("usd_per_hour") * HOURS_PER_DAY

    @property
    def facility_mwh_per_day(self) -> float:
        return self.total("facility_mw") * HOURS_PER_DAY

    @property
    def water_m3_per_day(self) -> float:
        return (
            self.total("it_mw") * HOURS_PER_DAY * 1000 * self.inputs.facility.wue_l_per_kwh / 1000
        )

    @property
    def carbon_t_per_day(self) -> float:
        return self.facility_mwh_per_day * 1000 * self.inputs.facility.carbon_g_per_kwh / 1e6

    def revenue_per_day(self, kind: KindPlan | None = None) -> float | None:
        price = self.inputs.price_usd_per_m
        if price is None:
            return None
        kinds = [kind] if kind else self.kinds
        return sum(
            (k.input_tokens_per_day * price[0] + k.output_tokens_per_day * price[1]) / 1e6
            for k in kinds
        )

    def margin(self, kind: KindPlan | None = None) -> float | None:
        revenue = self.revenue_per_day(kind)
        cost = (kind.usd_per_hour * HOURS_PER_DAY) if kind else self.usd_per_day
        return None if not revenue else 1.0 - cost / revenue


def capacities(inp: PlanInputs) -> dict[tuple[str, str], Capacity]:
    return {
        (k.name, b.name): capacity(k, b, ttft_slo_s=inp.ttft_slo_s, tpot_slo_s=inp.tpot_slo_s)
        for k in inp.candidates
        for b in inp.buckets
    }


@dataclass(frozen=True)
class Solution:
    status: str  # optimal, infeasible
    objective: float  # $/h, or facility W with objective="power"
    n: np.ndarray
    y: dict[tuple[int, int], float]


def _watts(kind: Candidate, pue: float) -> tuple[float, float]:
    """(facility W per replica when idle, extra facility W per unit of load)."""
    idle = kind.accelerators * (kind.gpu_watts * kind.idle_share + kind.host_watts)
    busy = kind.accelerators * kind.gpu_watts * (1.0 - kind.idle_share)
    return idle * pue, busy * pue


def solve(
    inp: PlanInputs,
    caps: dict[tuple[str, str], Capacity],
    *,
    power_cap: bool = True,
    availability: bool = True,
    demand_scale: float = 1.0,
    objective: str = "cost",
    relax: bool = False,
    replicas: Sequence[int] | None = None,
) -> Solution:
    """One MILP (or its LP relaxation with `relax`); objective "cost" or "power". With
    `replicas`, the mix is fixed and only the traffic split is solved: a given fleet's cost."""
    kinds, buckets, f = inp.candidates, inp.buckets, inp.facility
    pairs = [
        (k, b, caps[(kind.name, bucket.name)].requests_per_s)
        for k, kind in enumerate(kinds)
        for b, bucket in enumerate(buckets)
        if caps[(kind.name, bucket.name)].requests_per_s > 0
    ]
    nk, ny = len(kinds), len(pairs)
    usd_per_w_hour = f.usd_per_mwh / 1e6
    c = np.zeros(nk + ny)
    watts_idle = np.zeros(nk + ny)
    for k, kind in enumerate(kinds):
        idle, _ = _watts(kind, f.pue)
        watts_idle[k] = idle
        energy = idle * usd_per_w_hour if kind.energy_billed else 0.0
        c[k] = kind.accelerators * kind.usd_per_accelerator_hour + energy
    for j, (k, _b, cap) in enumerate(pairs):
        _, busy = _watts(kinds[k], f.pue)
        watts_idle[nk + j] = busy / cap
        c[nk + j] = busy / cap * usd_per_w_hour if kinds[k].energy_billed else 0.0
    if objective == "power":
        c = watts_idle.copy()
    # rows: one demand row per bucket, one capacity row per kind, then the power cap
    capped = power_cap and f.power_cap_mw is not None
    a = np.zeros((len(buckets) + nk + int(capped), nk + ny))
    lo = np.full(a.shape[0], -np.inf)
    hi = np.full(a.shape[0], np.inf)
    for b, bucket in enumerate(buckets):
        lo[b] = bucket.requests_per_s * demand_scale
    for k in range(nk):
        a[len(buckets) + k, k] = -inp.max_load
        hi[len(buckets) + k] = 0.0
    for j, (k, b, cap) in enumerate(pairs):
        a[b, nk + j] = 1.0
        a[len(buckets) + k, nk + j] = 1.0 / cap
    if capped:
        a[-1, :] = watts_idle
        hi[-1] = (f.power_cap_mw or 0.0) * 1e6
    upper = np.full(nk + ny, np.inf)
    lower = np.zeros(nk + ny)
    if replicas is not None:
        lower[:nk] = upper[:nk] = np.asarray(replicas, dtype=float)
    elif availability:
        for k, kind in enumerate(kinds):
            if kind.available is not None:
                upper[k] = kind.available // kind.accelerators
    integrality = np.zeros(nk + ny, dtype=np.int64)
    if not relax:
        integrality[:nk] = 1
    res = milp(
        c,
        constraints=LinearConstraint(a, lo, hi),
        bounds=Bounds(lower, upper),
        integrality=integrality,
        options={"mip_rel_gap": MIP_GAP},
    )
    if res.x is None:
        return Solution("infeasible", math.inf, np.zeros(nk), {})
    x = res.x
    y = {(k, b): float(x[nk + j]) for j, (k, b, _cap) in enumerate(pairs)}
    n = np.round(x[:nk]) if not relax else x[:nk]
    return Solution("optimal", float(res.fun), n, y)


def _kind_plans(
    inp: PlanInputs, caps: dict[tuple[str, str], Capacity], s: Solution
) -> list[KindPlan]:
    out = []
    for k, kind in enumerate(inp.candidates):
        n = int(s.n[k])
        if n == 0:
            continue
        served = {inp.buckets[b].name: v for (kk, b), v in s.y.items() if kk == k and v > 1e-9}
        busy = sum(
            v / caps[(kind.name, inp.buckets[b].name)].requests_per_s
            for (kk, b), v in s.y.items()
            if kk == k
        )
        idle_w, busy_w = _watts(kind, 1.0)
        it_w = n * idle_w + busy * busy_w
        energy = it_w * inp.facility.pue * inp.facility.usd_per_mwh / 1e6
        usd = n * kind.accelerators * kind.usd_per_accelerator_hour + (
            energy if kind.energy_billed else 0.0
        )
        per_day = HOURS_PER_DAY * 3600
        out.append(
            KindPlan(
                kind=kind,
                replicas=n,
                utilisation=busy / n,
                served=served,
                input_tokens_per_day=sum(
                    v * inp.buckets[b].input_tokens * per_day
                    for (kk, b), v in s.y.items()
                    if kk == k
                ),
                output_tokens_per_day=sum(
                    v * inp.buckets[b].output_tokens * per_day
                    for (kk, b), v in s.y.items()
                    if kk == k
                ),
                usd_per_hour=usd,
                it_mw=it_w / 1e6,
                facility_mw=it_w * inp.facility.pue / 1e6,
            )
        )
    return out


def _unservable(inp: PlanInputs, caps: dict[tuple[str, str], Capacity]) -> str | None:
    for bucket in inp.buckets:
        reasons = [
            f"{k.name}: {caps[(k.name, bucket.name)].why_not}"
            for k in inp.candidates
            if caps[(k.name, bucket.name)].requests_per_s <= 0
        ]
        if bucket.requests_per_s > 0 and len(reasons) == len(inp.candidates):
            return f"slo: no candidate can serve the {bucket.name}-token bucket; " + "; ".join(
                reasons
            )
    return None


def diagnose(inp: PlanInputs, caps: dict[tuple[str, str], Capacity]) -> str:
    """Which constraint makes the demand infeasible, in one line naming its field."""
    why = _unservable(inp, caps)
    if why:
        return why
    cap = inp.facility.power_cap_mw
    if solve(inp, caps, power_cap=False).status == "optimal":
        least = solve(inp, caps, power_cap=False, objective="power")
        share = _most_served(inp, caps)
        return (
            f"power_cap_mw: serving the demand needs at least {_mw(least.objective / 1e6)} MW "
            f"at PUE {inp.facility.pue:g} (the least-power mix), over the cap of {cap:g} MW; "
            f"at most {share:.0%} of the demand fits under it"
        )
    free = solve(inp, caps, availability=False, power_cap=False)
    if free.status != "optimal":
        return "demand: infeasible even without the power cap and availability limits"
    short = [
        f"{int(free.n[k]) * kind.accelerators:,} accelerators of {kind.name} (available "
        f"{kind.available:,})"
        for k, kind in enumerate(inp.candidates)
        if kind.available is not None and free.n[k] * kind.accelerators > kind.available
    ]
    both = (
        ""
        if solve(inp, caps, availability=False).status == "optimal"
        else ("; the power cap binds as well")
    )
    return "available: the demand needs " + ", ".join(short) + both


def _mw(value: float) -> str:
    return f"{value:,.2f}" if value >= 1 else f"{value:.3g}"


def _most_served(inp: PlanInputs, caps: dict[tuple[str, str], Capacity]) -> float:
    lo, hi = 0.0, 1.0
    for _ in range(12):
        mid = (lo + hi) / 2
        if solve(inp, caps, demand_scale=mid, relax=True).status == "optimal":
            lo = mid
        else:
            hi = mid
    return lo


def _binding(inp: PlanInputs, caps: dict[tuple[str, str], Capacity], best: Solution) -> list[str]:
    out = []
    tol = 10 * MIP_GAP * max(best.objective, 1.0)
    cap = inp.facility.power_cap_mw
    if cap is not None:
        free = solve(inp, caps, power_cap=False)
        if free.objective < best.objective - tol:
            out.append(
                f"power-bound: the {cap:g} MW cap raises the cost by "
                f"${best.objective - free.objective:,.0f}/h over the uncapped mix"
            )
    for k, kind in enumerate(inp.candidates):
        if (
            kind.available is not None
            and best.n[k] * kind.accelerators > kind.available - kind.accelerators
        ):
            used = int(best.n[k]) * kind.accelerators
            out.append(f"availability of {kind.name} binds (uses {used:,} of {kind.available:,})")
    return out or ["cost-bound: no power or availability limit changes the least-cost mix"]


def plan(inp: PlanInputs, caps: dict[tuple[str, str], Capacity] | None = None) -> Plan:
    """The least-cost plan, or an InputError naming the constraint that makes it infeasible.
    `caps` (per-replica capacity by kind and bucket name) defaults to the roofline's."""
    if not inp.candidates:
        raise InputError("candidates: give at least one accelerator kind")
    if not 0 < inp.max_load <= 1:
        raise InputError(f"max_load: {inp.max_load:g} is out of bounds; accepted: (0, 1]")
    start = time.perf_counter()
    caps = capacities(inp) if caps is None else caps
    best = solve(inp, caps)
    if best.status != "optimal":
        raise InputError(diagnose(inp, caps))
    binding = _binding(inp, caps, best)
    return Plan(inp, _kind_plans(inp, caps, best), binding, caps, time.perf_counter() - start)
