"""Size caps, the `max_tokens` clamp, and the per-key allowlists of models and tools.

    over_caps(body, caps)                  # ["caps:messages>512"] or []
    clamp_max_tokens(body, 256)            # (body with max_tokens ≤ 256, True if changed)
    outside_allowlists(body, policy)       # ["tool_not_allowed:shell"] or []

A cap bounds what one request can make the gateway and the upstream do (OWASP LLM10,
unbounded consumption); the clamp bounds what it can spend before it is sent, which is
what a budget hold reserves against. The allowlists keep a key to the models and tools it
was issued for (LLM06, excessive agency): a tool the key may not use is refused before the
model can be told it exists.
"""

from __future__ import annotations

from typing import Any

from unitcost.guard.config import Caps, Policy
from unitcost.wire.openai import content_text

__all__ = ["clamp_max_tokens", "outside_allowlists", "over_caps", "tool_names"]

_TOKEN_FIELDS = ("max_completion_tokens", "max_tokens", "max_output_tokens")


def over_caps(body: dict[str, Any], caps: Caps) -> list[str]:
    reasons = []
    messages = body.get("messages")
    if isinstance(messages, list):
        if len(messages) > caps.max_messages:
            reasons.append(f"caps:messages>{caps.max_messages}")
        sizes = [len(content_text(m.get("content"))) for m in messages if isinstance(m, dict)]
        if sizes and max(sizes) > caps.max_message_chars:
            reasons.append(f"caps:message_chars>{caps.max_message_chars}")
        if sum(sizes) > caps.max_total_chars:
            reasons.append(f"caps:total_chars>{caps.max_total_chars}")
    tools = body.get("tools")
    if isinstance(tools, list) and len(tools) > caps.max_tools:
        reasons.append(f"caps:tools>{caps.max_tools}")
    return reasons


def clamp_max_tokens(body: dict[str, Any], cap: int | None) -> tuple[dict[str, Any], bool]:
    """Lower the field the client used to `cap`, or set `max_tokens` when none was sent."""
    if cap is None:
        return body, False
    present = [f for f in _TOKEN_FIELDS if f in body]
    if not present:
        return {**body, "max_tokens": cap}, True
    changed = {
        f: cap for f in present if not isinstance(body[f], int) or body[f] > cap or body[f] < 1
    }
    return ({**body, **changed}, True) if changed else (body, False)


def tool_names(body: dict[str, Any]) -> list[str]:
    """Names of the tools (and legacy functions) a request offers the model."""
    names = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            fn: dict[str, Any] = (
                tool["function"] if isinstance(tool.get("function"), dict) else tool
            )
            names.append(str(fn.get("name") or tool.get("type") or ""))
    for legacy in body.get("functions") or []:
        if isinstance(legacy, dict):
            names.append(str(legacy.get("name", "")))
    return names


def outside_allowlists(body: dict[str, Any], policy: Policy) -> list[str]:
    reasons = []
    model = body.get("model")
    if policy.allowed_models is not None and model not in policy.allowed_models:
        reasons.append("model_not_allowed")
    if policy.allowed_tools is not None:
        allowed = set(policy.allowed_tools)
        reasons += [f"tool_not_allowed:{n[:64]}" for n in tool_names(body) if n not in allowed]
    return reasons
