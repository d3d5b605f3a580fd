"""What the guard decided about one request, and the errors it raises.

    screened = guard.screen_request(body, tenant="acme", key_id=None,
                                    deployment="gpt-5-mini", endpoint="chat/completions")
    if screened.blocked:
        raise screened.error()                      # GuardBlocked: HTTP 400, reasons only
    row.update(screened.record_fields())            # guard_action, guard_reasons, guard_ms

Reasons are labels (`pii:card`, `secret:openai_key`, `injection:tool`, `caps:messages>512`),
never the data that caused them, so they are safe in the ledger, logs, metrics and errors.

The errors live in `unitcost.errors` with the rest of the tree; they are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from unitcost.errors import GuardBlocked, GuardOutputBlocked
from unitcost.guard.config import Policy

__all__ = ["ACTIONS", "Action", "GuardBlocked", "GuardOutputBlocked", "Screened"]

Action = Literal["allow", "flag", "redact", "block"]
ACTIONS: tuple[Action, ...] = ("allow", "flag", "redact", "block")


@dataclass
class Screened:
    body: dict[str, Any]  # what to send upstream: normalised, maybe redacted or masked
    action: Action
    reasons: list[str]
    ms: float
    policy: Policy = field(repr=False)
    scope: str = ""
    deployment: str = ""
    canary: str | None = field(default=None, repr=False)
    originals: dict[str, str] = field(default_factory=dict, repr=False)  # placeholder → value
    injection_score: float | None = None
    found_pii: bool = False

    @property
    def blocked(self) -> bool:
        return self.action == "block"

    @property
    def cacheable(self) -> bool:
        """Whether the answer may be cached: not when raw personal data went upstream and
        records are redacted (the answer may repeat it); masked requests are fine."""
        raw_pii_upstream = self.found_pii and not self.policy.pii.mask_upstream
        return not self.blocked and not (raw_pii_upstream and self.policy.pii.redact_records)

    def error(self) -> GuardBlocked:
        return GuardBlocked(self.reasons, self.scope)

    def record_fields(self) -> dict[str, Any]:
        """The ledger's guard columns for this request."""
        return {
            "guard_action": self.action,
            "guard_reasons": ",".join(self.reasons),
            "guard_ms": round(self.ms, 3),
        }

    def header(self) -> tuple[bytes, bytes]:
        return b"x-unitcost-guard-ms", f"{self.ms:.3f}".encode()
