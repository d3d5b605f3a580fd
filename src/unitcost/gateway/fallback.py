"""Try a plan's candidates in order, within the route's retry budget, never after the first
byte has reached the client.

    result = await try_in_order(plan, route, attempt)   # attempt(dep_name, check, reason)

A cascade's escalation (the cheap answer failed its check) is the policy, not a retry, and
does not spend the retry budget; a retry after an error does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from unitcost.errors import UnitcostError, UpstreamError
from unitcost.routing.config import CascadeCheck
from unitcost.routing.policies import Plan, Route

__all__ = ["Attempt", "try_in_order"]


@dataclass(slots=True)
class Attempt:
    """One call: the client has its answer (`sent`), or a failure to fall back from."""

    sent: bool
    error: UnitcostError | None = None
    why: str = ""
    escalated: bool = False  # a cascade check failed: the next candidate is the policy


AttemptFn = Callable[[str, CascadeCheck | None, str | None], Awaitable[Attempt]]


async def try_in_order(plan: Plan, route: Route | None, attempt: AttemptFn) -> Attempt:
    candidates = plan.candidates[: route.config.max_attempts] if route else plan.candidates[:1]
    if route is not None:
        route.budget.deposit()
    reason = plan.reason or None
    result = Attempt(False, UpstreamError("no deployment could answer"))
    for i, name in enumerate(candidates):
        last = i == len(candidates) - 1
        if i and not result.escalated and (route is None or not route.budget.withdraw()):
            break
        result = await attempt(name, None if last else plan.cascade, reason)
        if result.sent:
            return result
        if not last:
            reason = f"{plan.reason}; {result.why} → {candidates[i + 1]}"
    return result
