"""Total cost of ownership of one accelerator, per hour, line by line.

    >>> from unitcost.catalog import load_catalog
    >>> h100 = load_catalog().accelerator("H100-SXM")
    >>> tco = accelerator_hour(TCOInputs(h100, lease_usd_per_hour=2.5, pue=1.2,
    ...                                  electricity_usd_per_kwh=0.08))
    >>> round(float(tco.cost.total), 4)
    2.547

Energy is computed bottom-up: power × average load × PUE × $/kWh. Water is IT energy × WUE
(WUE is defined per kWh of IT energy); carbon is facility energy × grid intensity. A price
that already pays for power (`energy_billed=False`, most leases) keeps the footprint and
drops the cost line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unitcost.catalog import Accelerator
from unitcost.economics.breakdown import Breakdown, Line, Num, fmt, plain
from unitcost.errors import InputError

__all__ = [
    "HOURS_PER_YEAR",
    "TCO",
    "Footprint",
    "TCOInputs",
    "accelerator_hour",
    "capital_recovery",
]

HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True)
class TCOInputs:
    """What one accelerator costs to own or lease and run. Money is per accelerator."""

    accelerator: Accelerator
    purchase_usd: Num | None = None
    lifetime_years: Num = 4.0
    cost_of_capital: Num = 0.0
    lease_usd_per_hour: Num | None = None
    host_opex_usd_per_hour: Num = 0.0
    networking_usd_per_hour: Num = 0.0
    serving_overhead: Num = 0.0
    power_watts: Num | None = None
    average_load: Num = 0.7
    pue: Num = 1.0
    electricity_usd_per_kwh: Num = 0.0
    wue_l_per_kwh: Num = 0.0
    carbon_g_per_kwh: Num = 0.0
    sources: tuple[tuple[str, str], ...] = ()
    #: False when the price already pays for power (most leases): energy is then a footprint
    #: (kWh, water, carbon) but not a cost line
    energy_billed: bool = True

    def source(self, field: str) -> str:
        return dict(self.sources).get(field, f"input {field}")


@dataclass(frozen=True)
class Footprint:
    """Physical quantities per accelerator-hour."""

    facility_kwh: Num
    water_l: Num
    carbon_g: Num


@dataclass(frozen=True)
class TCO:
    cost: Breakdown  # usd per accelerator-hour
    footprint: Footprint


def capital_recovery(rate: Num, years: Num) -> Num:
    """Annual payment per dollar of capex: r / (1 − (1 + r)^−n), or 1/n when r = 0."""
    r = np.asarray(rate, dtype=np.float64)
    n = np.asarray(years, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = np.where(r > 1e-12, r / (1.0 - (1.0 + r) ** -n), 1.0 / n)
    return plain(annuity)


def _power(inp: TCOInputs) -> tuple[Num, str]:
    if inp.power_watts is not None:
        return inp.power_watts, inp.source("power_watts")
    if inp.accelerator.tdp_watts is None:
        raise InputError(
            f"power_watts: the catalog has no published power for {inp.accelerator.name}; "
            "give power_watts (W per accelerator)"
        )
    return inp.accelerator.tdp_watts, inp.accelerator.source_of("tdp_watts")


def accelerator_hour(inp: TCOInputs) -> TCO:
    """$/accelerator-hour as cost lines, and the energy, water and carbon behind them."""
    lines: list[Line] = []
    if inp.lease_usd_per_hour is not None:
        lines.append(Line("lease", inp.lease_usd_per_hour, inp.source("lease_usd_per_hour")))
    elif inp.purchase_usd is not None:
        capex = inp.purchase_usd * capital_recovery(inp.cost_of_capital, inp.lifetime_years)
        lines.append(
            Line(
                "capex",
                capex / HOURS_PER_YEAR,
                f"{inp.source('purchase_usd')} ${fmt(inp.purchase_usd)} over "
                f"{fmt(inp.lifetime_years)} y at {fmt(inp.cost_of_capital)} cost of capital "
                "(capital recovery factor, straight line when 0)",
            )
        )
    else:
        raise InputError(
            "self_hosted: give purchase_usd (to own) or lease_usd_per_hour (to rent); "
            f"the catalog has no price for {inp.accelerator.name}"
        )
    lines.append(
        Line(
            "host & facility opex", inp.host_opex_usd_per_hour, inp.source("host_opex_usd_per_hour")
        )
    )
    watts, watts_source = _power(inp)
    it_kwh = watts * inp.average_load / 1000.0
    facility_kwh = it_kwh * inp.pue
    drawn = (
        f"power {fmt(watts)} W ({watts_source}) × load {fmt(inp.average_load)} × "
        f"PUE {fmt(inp.pue)} ({inp.source('pue')})"
    )
    if inp.energy_billed:
        energy = Line(
            "energy",
            facility_kwh * inp.electricity_usd_per_kwh,
            f"{drawn} × ${fmt(inp.electricity_usd_per_kwh)}/kWh "
            f"({inp.source('electricity_usd_per_kwh')})",
        )
    else:
        energy = Line(
            "energy",
            0.0 * facility_kwh,
            f"not added: the lease includes power (lease_includes_power: true; "
            f"--lease-includes-power false adds {drawn} × ${fmt(inp.electricity_usd_per_kwh)}/kWh)",
        )
    lines.append(energy)
    lines.append(
        Line("networking", inp.networking_usd_per_hour, inp.source("networking_usd_per_hour"))
    )
    subtotal = Breakdown("usd_per_accelerator_hour", tuple(lines)).total
    lines.append(
        Line(
            "serving overhead",
            subtotal * inp.serving_overhead,
            f"{fmt(inp.serving_overhead)} × the lines above ({inp.source('serving_overhead')})",
        )
    )
    footprint = Footprint(
        facility_kwh=facility_kwh,
        water_l=it_kwh * inp.wue_l_per_kwh,
        carbon_g=facility_kwh * inp.carbon_g_per_kwh,
    )
    return TCO(Breakdown("usd_per_accelerator_hour", tuple(lines)), footprint)
