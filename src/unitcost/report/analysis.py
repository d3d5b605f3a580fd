"""The ledger report's usage tables, folded from cube cells: spend over time, $/1M per week,
model mix, savings, outcomes.

    cells = cube(reader, period)
    spend_by(cells, "feature")       # Table: per day and feature: requests, tokens, cost
    weekly_rates(cells)              # Table: $/1M input, output, blended, week over week

Every figure is a sum of integer nano-dollars or tokens; division happens once, for display.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unitcost.ledger.queries import Cell
from unitcost.report.inputs import Card
from unitcost.report.model import Column, Table, money, rate_per_m, usd

__all__ = [
    "Agg",
    "day_span",
    "fold",
    "implied_cards",
    "model_mix",
    "paid",
    "paid_status",
    "routing_savings",
    "spend_by",
    "spend_totals",
    "status_table",
    "summary",
    "week_of",
    "weekly_rates",
]

#: statuses that reached an upstream and were paid for (not cache hits, not rejections)
UNPAID = ("cache_hit", "rejected")


@dataclass
class Agg:
    requests: int = 0
    prompt: int = 0
    cached: int = 0
    completion: int = 0
    reasoning: int = 0
    input_nanos: int = 0  # input + cached input + cache writes
    output_nanos: int = 0  # output + reasoning
    cost_nanos: int = 0
    saving_nanos: int = 0
    errors: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt + self.completion


_MEASURES = (
    "requests",
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cost_input_nanos",
    "cost_cached_input_nanos",
    "cost_cache_write_nanos",
    "cost_output_nanos",
    "cost_reasoning_nanos",
    "cost_nanos",
    "saving_nanos",
)
_EMPTY_IS_NONE = ("feature", "cohort", "deployment", "tenant")


class _Frame:
    """The cells as an int64 matrix of measures and factorised key columns, built once per
    cell list: every fold is then a NumPy group-by instead of a Python loop."""

    def __init__(self, cells: Sequence[Cell]) -> None:
        self.cells = cells
        get = attrgetter(*_MEASURES)
        rows = [get(c) for c in cells]
        self.matrix = np.array(rows, dtype=np.int64).reshape(len(cells), len(_MEASURES))
        self._codes: dict[str, tuple[NDArray[np.int64], list[Any]]] = {}

    def codes(self, dim: str) -> tuple[NDArray[np.int64], list[Any]]:
        if dim not in self._codes:
            raw: list[Any]
            if dim == "week":
                weeks: dict[str, str] = {}
                raw = [weeks.setdefault(c.day, week_of(c.day)) for c in self.cells]
            else:
                raw = [getattr(c, dim) for c in self.cells]
                if dim in _EMPTY_IS_NONE:
                    raw = [v or None for v in raw]
            index: dict[Any, int] = {}
            codes = np.fromiter(
                (index.setdefault(v, len(index)) for v in raw), dtype=np.int64, count=len(raw)
            )
            self._codes[dim] = (codes, list(index))
        return self._codes[dim]


_FRAMES: dict[int, _Frame] = {}


def _frame(cells: Sequence[Cell]) -> _Frame:
    f = _FRAMES.get(id(cells))
    if f is None or f.cells is not cells:
        _FRAMES.clear()  # one report (or dashboard answer) at a time
        f = _FRAMES[id(cells)] = _Frame(cells)
    return f


def fold(
    cells: Sequence[Cell], dims: tuple[str, ...], where: Callable[[str], bool] | None = None
) -> dict[Any, Agg]:
    """Sums per distinct value of `dims` (a tuple of cell keys, or "week"), over the cells
    whose status passes `where`. One dimension keys the result by its value, several by a
    tuple, none by ()."""
    f = _frame(cells)
    n = len(cells)
    combined = np.zeros(n, dtype=np.int64)
    values = []
    for d in dims:
        codes, vals = f.codes(d)
        combined = combined * len(vals) + codes
        values.append(vals)
    matrix = f.matrix
    status_codes, statuses = f.codes("status")
    failed = np.array([s not in ("ok", "cache_hit") for s in statuses], dtype=bool)[status_codes]
    if where is not None:
        keep = np.array([where(s) for s in statuses], dtype=bool)[status_codes]
        combined, matrix, failed = combined[keep], matrix[keep], failed[keep]
    if not len(combined):
        return {}
    groups, inverse = np.unique(combined, return_inverse=True)
    sums = np.zeros((len(groups), len(_MEASURES)), dtype=np.int64)
    np.add.at(sums, inverse, matrix)
    errors = np.bincount(inverse, weights=matrix[:, 0] * failed, minlength=len(groups))
    out: dict[Any, Agg] = {}
    for g, code in enumerate(groups.tolist()):
        parts = []
        for vals in reversed(values):
            code, i = divmod(code, len(vals))
            parts.append(vals[i])
        key: Any = parts[0] if len(dims) == 1 else tuple(reversed(parts))
        r = sums[g].tolist()
        out[key] = Agg(r[0], r[1], r[2], r[3], r[4], r[5] + r[6] + r[7], r[8] + r[9], r[10],
                       r[11], int(errors[g]))  # fmt: skip
    return out


def paid_status(status: str) -> bool:
    return status not in UNPAID


def paid(cells: Iterable[Cell]) -> list[Cell]:
    return [c for c in cells if c.status not in UNPAID]


def week_of(day: str) -> str:
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def day_span(cells: Iterable[Cell]) -> tuple[str | None, str | None]:
    """The first and last day the cells cover (day is a cube key); (None, None) for none."""
    seen = sorted({c.day for c in cells if c.day is not None})
    return (seen[0], seen[-1]) if seen else (None, None)


def summary(cells: list[Cell], first: str | None, last: str | None) -> Table:
    total = fold(cells, ()).get((), Agg())
    hits = fold(cells, (), lambda s: s == "cache_hit").get((), Agg())
    rejected = sum(c.requests for c in cells if c.status == "rejected")
    p = fold(cells, (), paid_status).get((), Agg())
    rows: list[list[Any]] = [
        ["period", f"{first or '–'} to {last or '–'}", "ledger"],
        ["rows (calls, cache hits, rejections)", f"{total.requests:,}", "ledger"],
        ["cost", usd(total.cost_nanos), "ledger cost lines, from each row's price card"],
        ["saved by the cache", usd(hits.saving_nanos), f"{hits.requests:,} cache hits"],
        ["tokens in / out", f"{total.prompt:,} / {total.completion:,}", "ledger"],
        ["$/1M tokens, blended", rate_per_m(p.cost_nanos, p.tokens), "paid calls"],
        ["calls that failed", f"{total.errors - rejected:,}", "status other than ok/cache_hit"],
        ["requests rejected", f"{rejected:,}", "rate, budget, guard or input"],
    ]
    t = Table(
        "summary",
        "Summary",
        [Column("figure"), Column("value"), Column("source")],
        [[r[0], _show(r[1]), r[2]] for r in rows],
    )
    return t


def _show(v: Any) -> str:
    if isinstance(v, Decimal):
        return money(v)
    return "–" if v is None else str(v)


def spend_by(cells: list[Cell], dim: str) -> Table:
    """Per day and value of `dim` (feature, tenant, cohort, deployment): the time series."""
    by = fold(cells, ("day", dim))
    rows = [
        [day, name, a.requests, a.tokens, usd(a.cost_nanos)]
        for (day, name), a in sorted(by.items(), key=lambda kv: (kv[0][0], str(kv[0][1])))
    ]
    return Table(
        f"spend_by_{dim}_per_day",
        f"Spend per day by {dim}",
        [
            Column("day", "day"),
            Column(dim),
            Column("requests", "int"),
            Column("tokens", "int"),
            Column("cost", "usd", 4),
        ],
        rows,
    )


def spend_totals(cells: list[Cell], dim: str) -> Table:
    """The period's total per value of `dim`, costliest first, with shares."""
    by = fold(cells, (dim,))
    whole = sum(a.cost_nanos for a in by.values())
    rows = [
        [
            name,
            a.requests,
            a.tokens,
            usd(a.cost_nanos),
            _share(a.cost_nanos, whole),
            usd(a.cost_nanos // a.requests) if a.requests else None,
        ]
        for name, a in sorted(by.items(), key=lambda kv: (-kv[1].cost_nanos, str(kv[0])))
    ]
    return Table(
        f"spend_by_{dim}",
        f"Spend by {dim}",
        [
            Column(dim),
            Column("requests", "int"),
            Column("tokens", "int"),
            Column("cost", "usd"),
            Column("share of cost", "pct"),
            Column("$/request", "usd", 6),
        ],
        rows,
    )


def weekly_rates(cells: list[Cell]) -> Table:
    """$/1M input, output and blended per week (Monday start), paid calls only."""
    by = fold(cells, ("week",), paid_status)
    rows: list[list[Any]] = []
    prev: Decimal | None = None
    for week, a in sorted(by.items()):
        blended = rate_per_m(a.cost_nanos, a.tokens)
        change = float(blended / prev - 1) if blended is not None and prev else None
        rows.append(
            [
                week,
                a.prompt,
                a.completion,
                rate_per_m(a.input_nanos, a.prompt),
                rate_per_m(a.output_nanos, a.completion),
                blended,
                change,
                usd(a.cost_nanos),
            ]
        )
        prev = blended
    return Table(
        "rates_per_week",
        "$ per 1M tokens, per week",
        [
            Column("week of", "day"),
            Column("input tok", "int"),
            Column("output tok", "int"),
            Column("$/1M input", "usd", 4),
            Column("$/1M output", "usd", 4),
            Column("$/1M blended", "usd", 4),
            Column("week over week", "pct"),
            Column("cost", "usd"),
        ],
        rows,
        note="Paid upstream calls only (cache hits and rejections excluded); input includes "
        "cached and cache-write lines, output includes reasoning.",
    )


def model_mix(cells: list[Cell]) -> Table:
    by = fold(cells, ("deployment",), lambda s: s != "rejected")
    calls = sum(a.requests for a in by.values())
    cost = sum(a.cost_nanos for a in by.values())
    rows = [
        [
            name,
            a.requests,
            _share(a.requests, calls),
            a.tokens,
            usd(a.cost_nanos),
            _share(a.cost_nanos, cost),
            rate_per_m(a.cost_nanos, a.tokens),
        ]
        for name, a in sorted(by.items(), key=lambda kv: (-kv[1].cost_nanos, str(kv[0])))
    ]
    return Table(
        "model_mix",
        "Model mix: calls and cost per deployment",
        [
            Column("deployment"),
            Column("calls", "int"),
            Column("share of calls", "pct"),
            Column("tokens", "int"),
            Column("cost", "usd"),
            Column("share of cost", "pct"),
            Column("$/1M blended", "usd", 4),
        ],
        rows,
    )


def status_table(cells: list[Cell]) -> Table:
    by = fold(cells, ("status",))
    n = sum(a.requests for a in by.values())
    rows = [
        [status, a.requests, _share(a.requests, n), usd(a.cost_nanos)]
        for status, a in sorted(by.items(), key=lambda kv: -kv[1].requests)
    ]
    return Table(
        "outcomes",
        "Outcomes: every row by status",
        [Column("status"), Column("rows", "int"), Column("share", "pct"), Column("cost", "usd")],
        rows,
        note="escalated: a cascade's cheap answer failed its check (paid, not served); "
        "rejected: refused before any upstream call.",
    )


def implied_cards(cells: list[Cell]) -> dict[str, Card]:
    """Each deployment's prices as its ledger rows show them ($ per 1M of each kind)."""
    cards = {}
    for name, cs in _by_deployment(paid(cells)).items():
        s = {
            k: sum(getattr(c, k) for c in cs)
            for k in (
                "prompt_tokens",
                "cached_tokens",
                "completion_tokens",
                "reasoning_tokens",
                "cost_input_nanos",
                "cost_cached_input_nanos",
                "cost_output_nanos",
                "cost_reasoning_nanos",
            )
        }
        fresh_in = s["prompt_tokens"] - s["cached_tokens"]
        plain_out = s["completion_tokens"] - s["reasoning_tokens"]
        zero = Decimal(0)
        cards[name] = Card(
            name,
            rate_per_m(s["cost_input_nanos"], fresh_in) or zero,
            rate_per_m(s["cost_output_nanos"], plain_out) or zero,
            rate_per_m(s["cost_cached_input_nanos"], s["cached_tokens"]),
            rate_per_m(s["cost_reasoning_nanos"], s["reasoning_tokens"]),
            "implied by the ledger's cost lines",
        )
    return cards


def _by_deployment(cells: Iterable[Cell]) -> dict[str, list[Cell]]:
    out: dict[str, list[Cell]] = {}
    for c in cells:
        out.setdefault(c.deployment, []).append(c)
    return out


def routing_savings(cells: list[Cell], cards: Mapping[str, Card]) -> Table:
    """Per route: what its calls cost against sending every one of them to its costliest
    member (the deployment it would otherwise have used), on that member's card."""
    routed = [c for c in paid(cells) if c.requested != c.deployment]
    rows: list[list[Any]] = []
    for route in sorted({c.requested for c in routed}):
        cs = [c for c in routed if c.requested == route]
        tokens = [
            sum(getattr(c, k) for c in cs)
            for k in ("prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens")
        ]
        members = sorted({c.deployment for c in cs if c.deployment in cards})
        if not members:
            continue
        options = {m: cards[m].cost_nanos(*tokens) for m in members}
        ref = max(options, key=lambda m: (options[m], m))
        actual = sum(c.cost_nanos for c in cs)
        saving = options[ref] - actual
        rows.append(
            [
                route,
                sum(c.requests for c in cs),
                usd(actual),
                ref,
                usd(options[ref]),
                usd(saving),
                _share(saving, options[ref]),
            ]
        )
    return Table(
        "routing_savings",
        "Routing savings: each route against always its costliest member",
        [
            Column("route"),
            Column("calls", "int"),
            Column("cost", "usd"),
            Column("instead always"),
            Column("would cost", "usd"),
            Column("saved", "usd"),
            Column("saved share", "pct"),
        ],
        rows,
        note="The route's own tokens re-priced on its costliest member's card (the gateway "
        "config's, else implied by the ledger's cost lines). Cost only: that model would have "
        "written answers of other lengths, and of other quality.",
    )
