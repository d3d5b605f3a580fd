"""From $/accelerator-hour and tokens/s to $/1K input and output tokens.

    >>> uc = unit_cost(replica_usd_per_hour=10.0, prefill_tokens_per_s=10_000.0,
    ...                decode_tokens_per_s=1_000.0, utilisation=0.5)
    >>> round(uc.usd_per_1k_output, 6)
    0.005556

Prefill time is charged to input tokens and decode time to output tokens. Utilisation is
the share of paid hours spent serving: idle capacity is paid for, so it divides throughput.
Any other hourly quantity (kWh, litres, grams CO2) converts per 1K tokens the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unitcost.economics.breakdown import Num, as_float

__all__ = ["UnitCost", "Workload", "per_1k_tokens", "unit_cost"]


@dataclass(frozen=True)
class Workload:
    input_tokens: Num = 1000.0
    output_tokens: Num = 250.0


def per_1k_tokens(per_hour: Num, tokens_per_s: Num, utilisation: Num = 1.0) -> Num:
    """Any per-hour quantity spread over the tokens a replica serves in that hour."""
    return per_hour / (tokens_per_s * utilisation * 3600.0) * 1000.0


@dataclass(frozen=True)
class UnitCost:
    usd_per_1k_input: Num
    usd_per_1k_output: Num
    wh_per_1k_input: Num = 0.0
    wh_per_1k_output: Num = 0.0
    water_ml_per_1k_output: Num = 0.0
    carbon_g_per_1k_output: Num = 0.0

    def usd_per_request(self, workload: Workload) -> Num:
        return (
            workload.input_tokens * self.usd_per_1k_input
            + workload.output_tokens * self.usd_per_1k_output
        ) / 1000.0

    def to_dict(self, workload: Workload | None = None) -> dict[str, Any]:
        out = {k: as_float(v) for k, v in self.__dict__.items()}
        if workload is not None:
            out["usd_per_request"] = as_float(self.usd_per_request(workload))
        return out


def unit_cost(
    *,
    replica_usd_per_hour: Num,
    prefill_tokens_per_s: Num,
    decode_tokens_per_s: Num,
    utilisation: Num = 1.0,
    replica_kwh_per_hour: Num = 0.0,
    replica_water_l_per_hour: Num = 0.0,
    replica_carbon_g_per_hour: Num = 0.0,
) -> UnitCost:
    """Costs and footprint per 1K tokens for one replica at its throughput and utilisation."""
    wh = replica_kwh_per_hour * 1000.0
    return UnitCost(
        usd_per_1k_input=per_1k_tokens(replica_usd_per_hour, prefill_tokens_per_s, utilisation),
        usd_per_1k_output=per_1k_tokens(replica_usd_per_hour, decode_tokens_per_s, utilisation),
        wh_per_1k_input=per_1k_tokens(wh, prefill_tokens_per_s, utilisation),
        wh_per_1k_output=per_1k_tokens(wh, decode_tokens_per_s, utilisation),
        water_ml_per_1k_output=per_1k_tokens(
            replica_water_l_per_hour * 1000.0, decode_tokens_per_s, utilisation
        ),
        carbon_g_per_1k_output=per_1k_tokens(
            replica_carbon_g_per_hour, decode_tokens_per_s, utilisation
        ),
    )
