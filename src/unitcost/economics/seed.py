"""The seed article's top-down sanity check, exactly.

    >>> s = seed_cost(10.0, 33.0, {"energy & cooling": 0.20, "networking & serving": 0.10})
    >>> round(s.usd_per_token, 7), round(s.usd_per_1k_tokens, 4)
    (0.0001094, 0.1094)
    >>> round(seed_cost(10.0, 33.0, {"a": 0.20, "b": 0.10}, "compound").usd_per_1k_tokens, 4)
    0.1111

Accelerator TCO per hour ÷ tokens per hour gives the compute-only cost per token; overheads
are then either added as shares of the compute cost (`add`: ×1.30) or applied one after
the other (`compound`: ×1.20×1.10 = ×1.32). The choice is explicit because it moves the
answer by 1.5%.

`energy_check` holds the flat energy overhead against the bottom-up figure
(power × load × PUE × $/kWh): at 700 W, PUE 1.3 and $0.10/kWh energy is under 1% of a
$10/hour TCO, not 20%.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from unitcost.economics.breakdown import Breakdown, Line, Num, as_float, fmt

__all__ = ["Composition", "EnergyCheck", "SeedCost", "energy_check", "seed_cost"]

Composition = Literal["add", "compound"]


@dataclass(frozen=True)
class SeedCost:
    per_token: Breakdown

    @property
    def usd_per_token(self) -> Num:
        return self.per_token.total

    @property
    def usd_per_1k_tokens(self) -> Num:
        return self.per_token.total * 1000.0


def seed_cost(
    tco_usd_per_hour: Num,
    tokens_per_s: Num,
    overheads: Mapping[str, Num],
    composition: Composition = "add",
) -> SeedCost:
    compute = tco_usd_per_hour / (tokens_per_s * 3600.0)
    lines = [
        Line(
            "compute",
            compute,
            f"TCO ${fmt(tco_usd_per_hour)}/h ÷ ({fmt(tokens_per_s)} tokens/s × 3600 s)",
        )
    ]
    running = compute
    for name, share in overheads.items():
        base = running if composition == "compound" else compute
        lines.append(
            Line(
                name,
                base * share,
                f"{fmt(share)} × {'running total' if composition == 'compound' else 'compute'}"
                f" ({composition})",
            )
        )
        running = running + base * share
    return SeedCost(Breakdown("usd_per_token", tuple(lines)))


@dataclass(frozen=True)
class EnergyCheck:
    flat_usd_per_hour: Num
    bottom_up_usd_per_hour: Num
    bottom_up_share_of_tco: Num
    message: str


def energy_check(
    tco_usd_per_hour: Num,
    flat_share: Num,
    power_watts: Num,
    pue: Num,
    electricity_usd_per_kwh: Num,
    average_load: Num = 1.0,
) -> EnergyCheck:
    """Compare a flat energy overhead with power × load × PUE × $/kWh."""
    flat = tco_usd_per_hour * flat_share
    bottom_up = power_watts * average_load / 1000.0 * pue * electricity_usd_per_kwh
    share = bottom_up / tco_usd_per_hour
    ratio = as_float(flat) / max(as_float(bottom_up), 1e-12)
    message = (
        f"flat energy overhead {fmt(flat_share)} × ${fmt(tco_usd_per_hour)}/h = ${fmt(flat)}/h, "
        f"but {fmt(power_watts)} W × load {fmt(average_load)} × PUE {fmt(pue)} × "
        f"${fmt(electricity_usd_per_kwh)}/kWh = ${fmt(bottom_up)}/h "
        f"({as_float(share):.2%} of TCO): the flat figure is {ratio:.3g}× the bottom-up one"
    )
    return EnergyCheck(flat, bottom_up, share, message)
