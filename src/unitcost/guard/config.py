"""The guard's settings: one default policy, overridden per deployment, tenant or key.

    cfg = GuardConfig.model_validate({
        "default": {"injection": {"policy": "block"}},
        "tenants": {"acme": {"pii": {"mask_upstream": True}, "allowed_tools": ["search"]}},
        "keys": {"ci-bot": {"caps": {"max_tokens": 256}}},
        "deployments": {"replay-gpt": {"canary": False}},
    })
    cfg.policy(tenant="acme", key_id="ci-bot", deployment="gpt-5-mini").pii.mask_upstream  # True

The gateway embeds this as `guard:` in its settings. An override names only what it changes
and is merged field by field over what it overrides: default ← deployment (the `model` a
client asks for: a deployment or a route) ← tenant ← key. Every override is checked at
start-up against the full policy, so a typo fails there with its path, not on a request.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from unitcost.errors import InputError, describe_validation_error
from unitcost.guard.pii import KINDS

__all__ = ["Caps", "GuardConfig", "InjectionPolicy", "PiiPolicy", "Policy", "load_guard_config"]

PiiKind = Literal["email", "iban", "card", "us_ssn", "ip", "phone"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PiiPolicy(_Frozen):
    redact_records: bool = True  # ledger, logs, cache, metrics, reports, errors: no raw PII
    mask_upstream: bool = False  # placeholders upstream, restored in the answer
    block: bool = False  # refuse a request that carries PII
    kinds: tuple[PiiKind, ...] = KINDS  # type: ignore[assignment]
    ner: bool = False  # also names and places, with presidio + spaCy (the `guard-ner` extra)


class InjectionPolicy(_Frozen):
    policy: Literal["flag", "block", "off"] = "flag"
    fpr: Literal["1%", "5%"] = "1%"  # the shipped threshold that flags this share of benign text
    threshold: float | None = Field(None, ge=0.0, le=1.0)  # or a score of your own
    channels: tuple[Literal["user", "tool", "retrieved"], ...] = ("user", "tool", "retrieved")
    # a user message whose `name` is one of these holds retrieved content, not the user's words
    retrieved_names: tuple[str, ...] = ("retrieved", "context", "document")


class Caps(_Frozen):
    max_messages: int = Field(512, ge=1)
    max_message_chars: int = Field(400_000, ge=1)
    max_total_chars: int = Field(2_000_000, ge=1)
    max_tools: int = Field(128, ge=0)
    max_tokens: int | None = Field(None, ge=1)  # clamp (and set when absent) on every request


class Policy(_Frozen):
    pii: PiiPolicy = PiiPolicy()
    injection: InjectionPolicy = InjectionPolicy()
    secrets: Literal["block", "redact", "off"] = "block"
    caps: Caps = Caps()
    allowed_models: tuple[str, ...] | None = None  # None: every model or route
    allowed_tools: tuple[str, ...] | None = None  # None: any tool
    canary: bool = True  # plant a canary in the system prompt and watch the answer for it


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


class GuardConfig(_Frozen):
    enabled: bool = True
    canary_secret: SecretStr | None = None  # same canaries on every replica; else per process
    default: Policy = Policy()
    deployments: dict[str, dict[str, Any]] = {}
    tenants: dict[str, dict[str, Any]] = {}
    keys: dict[str, dict[str, Any]] = {}

    @model_validator(mode="after")
    def _check_overrides(self) -> GuardConfig:
        base = self.default.model_dump()
        for section in ("deployments", "tenants", "keys"):
            for name, over in getattr(self, section).items():
                try:
                    Policy.model_validate(_merge(base, over))
                except Exception as exc:  # pydantic's ValidationError: one clear line
                    where = f"{section}.{name}"
                    if hasattr(exc, "errors"):
                        raise ValueError(describe_validation_error(exc, where)) from None
                    raise
        return self

    @cached_property
    def _resolve(self) -> Callable[[str | None, str | None, str | None], Policy]:
        # A cached_property lands in the instance's __dict__, so every request reads it as
        # a plain attribute; a PrivateAttr went through pydantic's __getattr__, which cost
        # a third of a guard screen under load (py-spy). Bounded: the deployment is the
        # client's model name, any string at all.
        return lru_cache(maxsize=4096)(self._policy)

    def _policy(self, tenant: str | None, key_id: str | None, deployment: str | None) -> Policy:
        merged = self.default.model_dump()
        for section, name in (("deployments", deployment), ("tenants", tenant), ("keys", key_id)):
            over = getattr(self, section).get(name) if name is not None else None
            if over:
                merged = _merge(merged, over)
        return Policy.model_validate(merged)

    def policy(
        self,
        *,
        tenant: str | None = None,
        key_id: str | None = None,
        deployment: str | None = None,
    ) -> Policy:
        """The policy in force for one request (cached: resolving is free after the first)."""
        policy: Policy = self._resolve(tenant, key_id, deployment)
        return policy

    def canary_key(self) -> bytes | None:
        return self.canary_secret.get_secret_value().encode() if self.canary_secret else None


def load_guard_config(data: dict[str, Any]) -> GuardConfig:
    """A GuardConfig from plain data, or an InputError naming the bad field."""
    try:
        return GuardConfig.model_validate(data)
    except Exception as exc:
        if hasattr(exc, "errors"):
            line = describe_validation_error(exc, "guard")
            raise InputError(line.replace("guard: ", "guard.", 1)) from None
        raise
