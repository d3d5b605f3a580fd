"""The controls the governance report reads from a running configuration: one entry each.

    CONTROLS["budgets"].read(settings)   # Reading(on=True, setting="2 of 3 tenants: $500/month ...")

A control names what it covers (keys of `frameworks.ITEMS`), how to read whether it is on
from the settings object (attribute access only: this module never imports the gateway or
the guard, whose settings it reads), and which measurements are its evidence (dotted keys
into the bench's JSON). To add a control, add one `Control(...)` to `_TABLE`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = ["CONTROLS", "Control", "Reading", "guard_values", "lookup"]

_MISSING = object()


class Reading(NamedTuple):
    on: bool
    setting: str


@dataclass(frozen=True)
class Control:
    id: str
    name: str
    covers: tuple[str, ...]
    read: Callable[[Any], Reading]
    evidence: tuple[str, ...] = ()  # dotted keys into the measurements JSON
    tests: str = ""  # where the behaviour is tested


def lookup(obj: Any, path: str, default: Any = None) -> Any:
    """`a.b.c` through attributes or mapping keys; `default` where any step is missing."""
    for part in path.split("."):
        if obj is None:
            return default
        nxt = obj.get(part, _MISSING) if isinstance(obj, dict) else getattr(obj, part, _MISSING)
        if nxt is _MISSING:
            return default
        obj = nxt
    return obj


def _dump(obj: Any) -> Any:
    return obj.model_dump() if hasattr(obj, "model_dump") else obj


def guard_values(settings: Any, path: str) -> dict[str, Any]:
    """A guard policy field in every scope: {"default": v, "tenant acme": v2, ...}."""
    guard = lookup(settings, "guard")
    if guard is None:
        return {}
    values = {"default": lookup(_dump(lookup(guard, "default")), path)}
    for section, label in (("deployments", "deployment"), ("tenants", "tenant"), ("keys", "key")):
        for name, override in (lookup(guard, section) or {}).items():
            value = lookup(override, path, _MISSING)
            if value is not _MISSING:
                values[f"{label} {name}"] = value
    return values


def _guard_on(settings: Any) -> bool:
    return lookup(settings, "guard") is not None and bool(lookup(settings, "guard.enabled", True))


def _policy(path: str, on: Callable[[Any], bool] = bool) -> Callable[[Any], Reading]:
    """A guard policy field: on where it is on in every scope; the setting lists the scopes."""

    def read(settings: Any) -> Reading:
        if not _guard_on(settings):
            return Reading(False, "no guard (the gateway has no `guard:` section, or it is off)")
        values = guard_values(settings, path)
        shown = "; ".join(f"{scope}: {_show(v)}" for scope, v in values.items())
        return Reading(all(on(v) for v in values.values()), shown)

    return read


def _show(v: Any) -> str:
    if v is None:
        return "(none)"
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, list | tuple):
        return ", ".join(map(str, v)) or "(none)"
    return str(v)


def _always_with_guard(what: str) -> Callable[[Any], Reading]:
    def read(settings: Any) -> Reading:
        on = _guard_on(settings)
        return Reading(on, what if on else "no guard")

    return read


def _tenants(field: str, show: Callable[[float], str]) -> Callable[[Any], Reading]:
    def read(settings: Any) -> Reading:
        tenants = lookup(settings, "tenants") or []
        set_ = [t for t in tenants if lookup(t, field) is not None]
        if not tenants:
            return Reading(False, "no tenants configured")
        shown = ", ".join(f"{lookup(t, 'name')}: {show(lookup(t, field))}" for t in set_)
        return Reading(
            len(set_) == len(tenants),
            f"{len(set_)} of {len(tenants)} tenants" + (f" ({shown})" if shown else ""),
        )

    return read


def _count(v: float) -> str:
    """1000000 → `1,000,000`, 0.5 → `0.5`: never scientific notation."""
    return f"{int(v):,}" if v == int(v) else f"{v:,}"


def _auth(settings: Any) -> Reading:
    tenants = lookup(settings, "tenants") or []
    keyed = [
        t for t in tenants if lookup(t, "key_sha256") or lookup(t, "keys") or lookup(t, "api_keys")
    ]
    admin = _key_set(settings, "admin_key")
    on = admin and bool(tenants) and len(keyed) == len(tenants)
    return Reading(
        on,
        f"admin key {'set' if admin else 'not set'}; {len(keyed)} of "
        f"{len(tenants)} tenants have keys (stored as SHA-256)",
    )


def _ledger(settings: Any) -> Reading:
    url = str(lookup(settings, "ledger.url", "") or "")
    kind = url.split(":", 1)[0] or "(none)"
    journal = lookup(settings, "ledger.journal", None)
    extra = "" if journal is None else f"; journal {'on' if journal else 'off'}"
    return Reading(bool(url), f"{kind} ledger, append-only, one row per call and rejection{extra}")


def _journal(settings: Any) -> Reading:
    journal = lookup(settings, "ledger.journal", None)
    fsync = lookup(settings, "ledger.fsync", False)
    if journal is None:
        return Reading(False, "this gateway version has no journal setting")
    return Reading(
        bool(journal), f"journal {'on' if journal else 'off'}, fsync {'on' if fsync else 'off'}"
    )


def _key_set(settings: Any, name: str) -> bool:
    """A key is set when it has a value: `${VAR:-}` with VAR unset leaves an empty one, and
    an empty bearer token is refused, so an empty key admits nobody."""
    value = lookup(settings, name)
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    return bool(value)


def _metrics(settings: Any) -> Reading:
    # The gateway serves /metrics only to the admin or the metrics key (gateway/app.py),
    # even when it accepts anonymous requests on the model endpoints.
    if _key_set(settings, "metrics_key"):
        who = "needs the metrics key or the admin key"
    elif _key_set(settings, "admin_key"):
        who = "needs the admin key (no metrics key is set)"
    else:
        who = "is refused to every caller: no admin or metrics key is set"
    return Reading(True, f"/metrics (Prometheus) {who}")


def _cache(settings: Any) -> Reading:
    exact = bool(lookup(settings, "cache.exact", False))
    semantic = bool(lookup(settings, "cache.semantic.enabled", False))
    return Reading(
        True,
        f"entries keyed by tenant and deployment (exact {'on' if exact else 'off'}"
        f", semantic {'on' if semantic else 'off'})",
    )


def _deployments(settings: Any) -> Reading:
    deps = lookup(settings, "deployments") or []
    return Reading(bool(deps), f"{len(deps)} named deployments; any other model name gets 404")


def _cascade(settings: Any) -> Reading:
    routes = lookup(settings, "routes") or []
    checked = [lookup(r, "name") for r in routes if lookup(r, "policy") == "cascade"]
    return Reading(bool(checked), f"cascade routes that check answers: {_show(checked)}")


def _allowlists(settings: Any) -> Reading:
    if not _guard_on(settings):
        return Reading(False, "no guard")
    models = {s: v for s, v in guard_values(settings, "allowed_models").items() if v is not None}
    tools = {s: v for s, v in guard_values(settings, "allowed_tools").items() if v is not None}
    on = bool(models or tools)
    shown = "; ".join(
        [f"models for {s}: {_show(v)}" for s, v in models.items()]
        + [f"tools for {s}: {_show(v)}" for s, v in tools.items()]
    )
    return Reading(on, shown or "no allowlist: every model and tool is allowed")


_TABLE = [
    Control(
        "guard",
        "Guard stage",
        ("NCSC.design", "NIST.GOVERN-1.4"),
        _always_with_guard("on"),
        (),
        "tests/unit/guard",
    ),
    Control(
        "guard.normalise",
        "Unicode normalisation before checks",
        ("OWASP.LLM01", "NCSC.operation"),
        _always_with_guard("NFKC; zero-width, tag and bidi characters removed"),
        (),
        "tests/unit/guard/test_normalise.py",
    ),
    Control(
        "guard.injection",
        "Prompt-injection classifier",
        ("OWASP.LLM01", "OWASP.LLM04", "NIST.MEASURE-2.7", "NCSC.operation"),
        _policy("injection.policy", lambda v: v in ("flag", "block")),
        (
            "injection.bipia.tpr_at_1pct_fpr",
            "injection.direct.tpr_at_1pct_fpr",
            "injection.direct.tpr_at_5pct_fpr",
            "classifier.p95_ms",
        ),
        "tests/unit/guard/test_injection.py",
    ),
    Control(
        "guard.injection.block",
        "Injections blocked, not only flagged",
        ("OWASP.LLM01",),
        _policy("injection.policy", lambda v: v == "block"),
    ),
    Control(
        "guard.pii.redact_records",
        "No raw PII in ledger, logs, cache, metrics, errors",
        ("OWASP.LLM02", "NIST.MEASURE-2.10", "NIST.GOVERN-1.1"),
        _policy("pii.redact_records"),
        (
            "pii.card.recall",
            "pii.iban.recall",
            "pii.email.recall",
            "pii.us_ssn.recall",
            "pii.ip.recall",
            "pii.phone.recall",
        ),
        "tests/unit/guard/test_screen.py",
    ),
    Control(
        "guard.pii.mask_upstream",
        "PII masked before the upstream, restored after",
        ("OWASP.LLM02", "NIST.GOVERN-6.1", "NIST.MEASURE-2.10"),
        _policy("pii.mask_upstream"),
        (),
        "tests/unit/guard/test_canary.py",
    ),
    Control(
        "guard.pii.block", "Requests carrying PII refused", ("OWASP.LLM02",), _policy("pii.block")
    ),
    Control(
        "guard.pii.ner",
        "Names and places (NER tier, offline)",
        ("OWASP.LLM02",),
        _policy("pii.ner"),
        (),
        "tests/unit/guard/test_ner_offline.py",
    ),
    Control(
        "guard.secrets",
        "API keys and private keys in prompts",
        ("OWASP.LLM02", "OWASP.LLM07", "NCSC.development"),
        _policy("secrets", lambda v: v in ("block", "redact")),
        (),
        "tests/unit/guard/test_secrets.py",
    ),
    Control(
        "guard.canary",
        "System-prompt canary watched in answers and streams",
        ("OWASP.LLM07", "NIST.MEASURE-2.4"),
        _policy("canary"),
        (),
        "tests/unit/guard/test_canary.py",
    ),
    Control(
        "guard.allowlists",
        "Models and tools allowed per tenant or key",
        ("OWASP.LLM06", "OWASP.LLM03", "NCSC.deployment"),
        _allowlists,
        (),
        "tests/unit/guard/test_screen.py",
    ),
    Control(
        "guard.caps",
        "Message, body and tool caps",
        ("OWASP.LLM10",),
        _always_with_guard("caps on every request"),
        ("deterministic.p95_ms",),
    ),
    Control(
        "guard.caps.max_tokens",
        "max_tokens clamp",
        ("OWASP.LLM10",),
        _policy("caps.max_tokens", lambda v: v is not None),
    ),
    Control(
        "auth", "API keys per tenant, admin key", ("NCSC.deployment", "NIST.GOVERN-1.4"), _auth
    ),
    Control(
        "rate_limits",
        "Requests per minute per tenant",
        ("OWASP.LLM10",),
        _tenants("requests_per_minute", lambda v: f"{_count(v)}/min"),
    ),
    Control(
        "budgets",
        "Monthly budget per tenant (reserved before the call)",
        ("OWASP.LLM10", "NIST.MANAGE-2.4"),
        _tenants("budget_usd_per_month", lambda v: f"${v:,.2f}/month"),
    ),
    Control(
        "max_request_usd",
        "Most one call may cost",
        ("OWASP.LLM10",),
        _tenants("max_request_usd", lambda v: f"${v:,.2f}"),
    ),
    Control(
        "deployments",
        "Only named deployments are reachable",
        ("OWASP.LLM03", "NIST.MAP-4.1", "NIST.MANAGE-2.4"),
        _deployments,
    ),
    Control(
        "cache.scoped", "Cache entries scoped per tenant and deployment", ("OWASP.LLM08",), _cache
    ),
    Control(
        "cascade_checks",
        "Answers checked before they are served (cascade)",
        ("OWASP.LLM09", "OWASP.LLM05"),
        _cascade,
    ),
    Control(
        "ledger",
        "Automatic record of every call (the ledger)",
        (
            "NIST.MEASURE-2.4",
            "NIST.MANAGE-4.1",
            "NIST.GOVERN-1.1",
            "NCSC.operation",
            "NIST.MAP-1.1",
        ),
        _ledger,
    ),
    Control(
        "ledger.journal",
        "Rows durable before the client's last byte",
        ("NIST.MANAGE-4.1",),
        _journal,
    ),
    Control(
        "metrics",
        "Prometheus metrics for monitoring",
        ("NIST.MEASURE-2.4", "NCSC.operation"),
        _metrics,
    ),
]
CONTROLS: dict[str, Control] = {c.id: c for c in _TABLE}
