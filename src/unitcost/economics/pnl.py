"""Per-feature P&L: revenue from the users who take the feature, COGS from the tokens they use.

    >>> from unitcost.economics.unit_cost import UnitCost
    >>> f = FeatureInputs("summaries", users=10_000, attach_rate=0.2, requests_per_user_month=50,
    ...                   input_tokens=1000, output_tokens=200, model_mix={"small": 1.0},
    ...                   arpu_uplift_usd_month=3.0)
    >>> p = feature_pnl(f, {"small": UnitCost(0.005, 0.02)})
    >>> round(p.revenue, 2), round(p.cogs, 2), round(p.gross_margin, 4)
    (6000.0, 900.0, 0.85)

All money is per month. The model mix splits the feature's requests across deployments;
each deployment is priced by its own card (list price or derived from TCO).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

import numpy as np

from unitcost.economics.breakdown import Num, as_float, plain
from unitcost.economics.unit_cost import UnitCost
from unitcost.errors import InputError

__all__ = ["FeatureInputs", "PnL", "feature_pnl", "total_pnl"]


@dataclass(frozen=True)
class FeatureInputs:
    name: str
    users: Num
    attach_rate: Num
    requests_per_user_month: Num
    input_tokens: Num
    output_tokens: Num
    model_mix: Mapping[str, Num]
    arpu_uplift_usd_month: Num
    eval_safety_overhead: Num = 0.0
    fixed_usd_month: Num = 0.0


@dataclass(frozen=True)
class PnL:
    name: str
    attached_users: Num
    requests: Num
    revenue: Num
    inference: Num
    eval_safety: Num
    training: Num
    fixed: Num
    by_deployment: Mapping[str, Num] = field(default_factory=dict)

    @cached_property
    def cogs(self) -> Num:
        return self.inference + self.eval_safety + self.training + self.fixed

    @cached_property
    def gross_profit(self) -> Num:
        return self.revenue - self.cogs

    @cached_property
    def gross_margin(self) -> Num:
        with np.errstate(divide="ignore", invalid="ignore"):
            margin = np.where(
                np.asarray(self.revenue) > 0,
                np.asarray(self.gross_profit) / np.asarray(self.revenue),
                np.nan,
            )
        return plain(margin)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for f in fields(self):
            if f.name not in ("name", "by_deployment"):
                out[f.name] = as_float(getattr(self, f.name))
        out.update(
            cogs=as_float(self.cogs),
            gross_profit=as_float(self.gross_profit),
            gross_margin=as_float(self.gross_margin),
            inference_by_deployment={k: as_float(v) for k, v in self.by_deployment.items()},
        )
        return out


def feature_pnl(
    feature: FeatureInputs,
    prices: Mapping[str, UnitCost],
    training_usd_per_1k: Mapping[str, Num] | None = None,
) -> PnL:
    training_usd_per_1k = training_usd_per_1k or {}
    unknown = sorted(set(feature.model_mix) - set(prices))
    if unknown:
        raise InputError(
            f"features.{feature.name}.model_mix: unknown deployment {unknown[0]!r}; "
            f"deployments are: {', '.join(sorted(prices))}"
        )
    attached = feature.users * feature.attach_rate
    requests = attached * feature.requests_per_user_month
    tokens = (feature.input_tokens + feature.output_tokens) / 1000.0
    by_deployment: dict[str, Num] = {}
    inference: Num = 0.0
    training: Num = 0.0
    for name, share in feature.model_mix.items():
        served = requests * share
        cost = served * prices[name].usd_per_1k_input * feature.input_tokens / 1000.0
        cost = cost + served * prices[name].usd_per_1k_output * feature.output_tokens / 1000.0
        by_deployment[name] = cost
        inference = inference + cost
        training = training + served * tokens * training_usd_per_1k.get(name, 0.0)
    return PnL(
        name=feature.name,
        attached_users=attached,
        requests=requests,
        revenue=attached * feature.arpu_uplift_usd_month,
        inference=inference,
        eval_safety=inference * feature.eval_safety_overhead,
        training=training,
        fixed=feature.fixed_usd_month,
        by_deployment=by_deployment,
    )


def total_pnl(parts: Sequence[PnL]) -> PnL:
    def add(attr: str) -> Num:
        total: Num = 0.0
        for p in parts:
            total = total + getattr(p, attr)
        return total

    by_deployment: dict[str, Num] = {}
    for p in parts:
        for name, cost in p.by_deployment.items():
            by_deployment[name] = by_deployment.get(name, 0.0) + cost
    return PnL(
        name="total",
        attached_users=add("attached_users"),
        requests=add("requests"),
        revenue=add("revenue"),
        inference=add("inference"),
        eval_safety=add("eval_safety"),
        training=add("training"),
        fixed=add("fixed"),
        by_deployment=by_deployment,
    )
