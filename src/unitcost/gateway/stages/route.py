"""Resolve `model` to a plan: one deployment, or a route's ordered candidates."""

from __future__ import annotations

import asyncio

from unitcost.gateway.classes import class_named
from unitcost.gateway.exchange import Exchange
from unitcost.gateway.portfolio import Portfolio
from unitcost.routing.policies import Plan, Route

__all__ = ["plan_for"]


async def plan_for(
    x: Exchange, routes: dict[str, Route], portfolio: Portfolio
) -> tuple[Plan, Route | None]:
    header, x.workload_class = x.workload_class, None
    named = class_named(x.requested, header, routes)  # by model, or x-unitcost-class
    x.workload_class = None if named is None else named.name
    route = named or routes.get(x.requested)
    if route is None:
        return Plan([portfolio.get(x.requested).name], ""), None
    # Policies that embed or count tokens block for milliseconds: off the event loop.
    if route.blocking:
        plan = await asyncio.to_thread(route.plan, x.body, x.tenant, x.feature)
    else:
        plan = route.plan(x.body, x.tenant, x.feature)
    return plan, route
