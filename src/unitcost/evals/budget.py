"""A hard spending cap that concurrent calls cannot overshoot: reserve, call, settle.

    budget = Budget(cap_nanos=usd_to_nanos(5.0))
    hold = budget.reserve(worst_case_nanos)   # None: it could never fit; skip the call
    ...                                       # send the call
    budget.settle(hold, actual_nanos)         # frees the hold, books what it really cost

Before each call the runner reserves its worst case: the prompt's tokens (counted offline,
with a margin for the provider's own tokenizer) at the input price plus `max_tokens` at the
dearest output price of whatever may serve it. A reservation that does not fit waits for
calls in flight to settle and give back what they did not spend; it is refused only when
nothing is in flight and it still does not fit. So spent + reserved ≤ cap at every moment,
and the cap holds for every upstream that honours `max_tokens`. A call that cost more than
its hold (an upstream that ignored `max_tokens`) is booked as it is, closes the budget to
new calls, and is reported.

Money is integer nano-dollars throughout, as in the ledger: no float drift in the cap.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["Budget", "Hold"]


@dataclass(frozen=True)
class Hold:
    nanos: int


class Budget:
    def __init__(self, cap_nanos: int | None = None) -> None:
        if cap_nanos is not None and cap_nanos < 0:
            raise ValueError("cap_nanos must be ≥ 0")
        self.cap = cap_nanos
        self.spent = 0
        self.reserved = 0
        self.refused = 0
        self.overruns: list[str] = []
        self._cond = threading.Condition()

    @property
    def closed(self) -> bool:
        return bool(self.overruns)

    def reserve(self, nanos: int, what: str = "") -> Hold | None:
        """Hold `nanos` for one call, waiting for calls in flight if it does not fit yet."""
        if nanos < 0:
            raise ValueError("a hold must be ≥ 0")
        with self._cond:
            while True:
                if self.closed:
                    self.refused += 1
                    return None
                if self.cap is None or self.spent + self.reserved + nanos <= self.cap:
                    self.reserved += nanos
                    return Hold(nanos)
                if self.reserved == 0:  # nothing in flight will give any back
                    self.refused += 1
                    return None
                self._cond.wait()

    def settle(self, hold: Hold, actual_nanos: int, what: str = "") -> None:
        """Give the hold back and book what the call really cost."""
        with self._cond:
            self.reserved -= hold.nanos
            self.spent += actual_nanos
            if self.cap is not None and actual_nanos > hold.nanos:
                self.overruns.append(
                    f"{what or 'a call'} cost {actual_nanos} nano-$ over its hold of "
                    f"{hold.nanos}: its upstream did not honour max_tokens"
                )
            self._cond.notify_all()

    def release(self, hold: Hold) -> None:
        """A call that was never sent: give its hold back."""
        self.settle(hold, 0)

    @property
    def remaining(self) -> int | None:
        return None if self.cap is None else self.cap - self.spent - self.reserved
