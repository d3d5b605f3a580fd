"""How old is each deployment's price? The data behind `unitcost prices check`.

    rows = price_ages([("claude", "anthropic", spec, {}), ...], today=date(2026, 12, 1))
    [r for r in rows if r.problem]      # missing, undated or older than max_age_days

A price map's date is its `as_of` (or the file's modification date), a list price's its
`as_of`, a replay deployment's the date its recorded prices were read; derived prices
(self_hosted, seed) come from the catalog and are not aged here. A price that cannot be
read (a missing file, a model not in the map) is reported as missing, with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from unitcost.catalog.prices import load_price_map
from unitcost.catalog.replay import load_replay_set
from unitcost.economics.spec import DeploymentSpec
from unitcost.errors import InputError

__all__ = ["PriceAge", "price_ages"]


@dataclass(frozen=True, slots=True)
class PriceAge:
    deployment: str
    kind: str  # price map, list price, replay, self-hosted, seed, (none)
    as_of: dt.date | None
    age_days: int | None
    status: str  # ok, stale, undated, missing, derived
    origin: str

    @property
    def problem(self) -> bool:
        return self.status in ("stale", "undated", "missing")


def _dated(
    name: str, kind: str, as_of: dt.date | None, origin: str, today: dt.date, max_age: int
) -> PriceAge:
    if as_of is None:
        return PriceAge(name, kind, None, None, "undated", origin)
    age = (today - as_of).days
    return PriceAge(name, kind, as_of, age, "stale" if age > max_age else "ok", origin)


def price_ages(
    deployments: list[tuple[str, str, DeploymentSpec | None, dict[str, Any]]],
    today: dt.date,
    max_age_days: int,
) -> list[PriceAge]:
    """(name, backend kind, price spec, backend options) of each deployment → its price's age."""
    rows = []
    for name, backend, spec, options in deployments:
        if spec is None:
            if backend == "replay":
                data = load_replay_set(options.get("data"))
                as_of = dt.date.fromisoformat(data.prices_as_of[:10])
                rows.append(
                    _dated(name, "replay", as_of, f"recorded in {data.source}", today, max_age_days)
                )
            else:
                rows.append(
                    PriceAge(name, "(none)", None, None, "missing", f"{backend} has no own price")
                )
        elif spec.price_map is not None:
            pm = spec.price_map
            try:
                prices = load_price_map(pm.path, name=pm.name, version=pm.version, as_of=pm.as_of)
                origin = prices.lookup(pm.model, pm.tier).origin
            except InputError as exc:
                rows.append(PriceAge(name, "price map", None, None, "missing", exc.message))
                continue
            rows.append(_dated(name, "price map", prices.as_of, origin, today, max_age_days))
        elif spec.list_price is not None:
            lp = spec.list_price
            rows.append(_dated(name, "list price", lp.as_of, lp.source, today, max_age_days))
        else:
            kind = "self-hosted" if spec.self_hosted is not None else "seed"
            rows.append(PriceAge(name, kind, None, None, "derived", "economics model"))
    return rows
