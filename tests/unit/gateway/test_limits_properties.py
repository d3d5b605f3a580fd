"""Holds under any schedule: money is conserved, nothing goes negative, nothing overspends.

A Hypothesis state machine drives the in-process limits (and the same schedules through the
Redis scripts in tests/integration/gateway/test_redis_limits.py) with random interleavings
of reserve, settle (at or below the hold), refund (settle at 0) and cancel (settle at part).
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from unitcost.errors import BudgetExceeded
from unitcost.gateway.limits import Ask, BucketPlan, Hold, MemoryLimits
from unitcost.gateway.settings import load_settings

BUDGET_MICROS = 50_000


def plan() -> BucketPlan:
    return BucketPlan(
        load_settings(
            None,
            tenants=[
                {
                    "name": "acme",
                    "keys": ["k"],
                    "budget_usd_per_month": BUDGET_MICROS / 1e6,
                    "api_keys": [{"name": "bot", "key": "kb", "budget_usd_per_month": 0.03}],
                    "feature_budgets_usd_per_month": {"search": 0.02},
                }
            ],
            deployments=[{"name": "d", "backend": "replay", "options": {"model": "gpt-5-mini"}}],
        )
    )


class HoldSchedules(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.limits = MemoryLimits(plan())
        self.open: list[Hold] = []
        self.limit_of: dict[str, int] = {}  # bucket key → its limit, as buckets appear
        self.settled: dict[str, int] = {}  # bucket key → what settles charged to it

    @rule(
        amount=st.integers(0, 20_000),
        key=st.sampled_from([None, "bot"]),
        feature=st.sampled_from([None, "search", "chat"]),
    )
    def reserve(self, amount: int, key: str | None, feature: str | None) -> None:
        ask = Ask("acme", key, feature, amount, 0, first=False)
        buckets = self.limits.plan.budgets(ask)
        self.limit_of.update({b.key: b.limit_micros for b in buckets})
        try:
            self.open.append(self.limits.reserve_now(ask))
        except BudgetExceeded:
            # refused only when some bucket really could not take it
            assert any(sum(self.limits.spend(b.key)) + amount > b.limit_micros for b in buckets)

    @precondition(lambda self: self.open)
    @rule(index=st.integers(0, 1000), share=st.sampled_from([0.0, 0.37, 1.0]))
    def settle(self, index: int, share: float) -> None:
        hold = self.open.pop(index % len(self.open))
        actual = int(hold.micros * share)  # refund (0), cancel part way, or the whole hold
        self.limits.settle_now(hold, actual)
        self.limits.settle_now(hold, actual)  # settling twice changes nothing
        for b in hold.budgets:
            self.settled[b.key] = self.settled.get(b.key, 0) + actual

    @invariant()
    def conserved_never_negative_never_over(self) -> None:
        for key, limit in self.limit_of.items():
            spent, held = self.limits.spend(key)
            assert spent == self.settled.get(key, 0)  # money is conserved
            assert held == sum(h.micros for h in self.open if key in {b.key for b in h.budgets})
            assert spent >= 0 and held >= 0
            assert spent + held <= limit  # actual ≤ hold, so the budget is never exceeded


TestHoldSchedules = HoldSchedules.TestCase
TestHoldSchedules.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
