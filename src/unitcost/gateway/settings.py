"""The gateway's one validated settings tree, from a YAML file and `UNITCOST_*` variables.

    settings = load_settings("gateway.yaml")   # UNITCOST_PORT=9000 overrides `port: 8000`

    port: 8000
    admin_key: ${...}                 # or UNITCOST_ADMIN_KEY; a SecretStr, never logged
    ledger: {url: "sqlite:///unitcost-ledger.db"}
    tenants:
      - {name: acme, key_sha256: ["9f86d08..."]}    # `unitcost hash-key` prints one
    deployments:
      - name: gpt-5-mini
        backend: replay
        options: {model: gpt-5-mini}
      - name: llama-local
        backend: openai
        options: {url: "http://127.0.0.1:8080/v1", model: smollm2}
        price: {seed: {tco_usd_per_hour: 0.0816, tokens_per_s: 30}}
        tokenizer: gguf:/path/to/model.gguf

Settings are validated at start-up and frozen afterwards.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from unitcost.economics.spec import DeploymentSpec, WorkloadSpec
from unitcost.errors import InputError, describe_validation_error
from unitcost.guard.config import GuardConfig
from unitcost.routing.classes import WorkloadClassConfig
from unitcost.routing.config import RouteConfig
from unitcost.yamlfile import parse_mapping, read_text

__all__ = [
    "ApiKeyConfig",
    "AttributionHeaders",
    "CacheConfig",
    "DeploymentConfig",
    "GatewaySettings",
    "LedgerConfig",
    "LimitsConfig",
    "TenantConfig",
    "expand_variables",
    "hash_key",
    "load_settings",
]


def hash_key(key: str) -> str:
    """What the config stores instead of an API key: its SHA-256, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ApiKeyConfig(_Section):
    """One named key of a tenant, with limits of its own on top of the tenant's."""

    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    key_sha256: str | None = None
    key: SecretStr | None = Field(None, description="a plain key, hashed at load (development)")
    budget_usd_per_month: float | None = Field(None, ge=0)
    requests_per_minute: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_key(self) -> ApiKeyConfig:
        if (self.key_sha256 is None) == (self.key is None):
            raise ValueError("give key_sha256 or key, not both")
        return self

    def digest(self) -> str:
        if self.key is not None:
            return hash_key(self.key.get_secret_value())
        assert self.key_sha256 is not None
        return self.key_sha256.lower()


class TenantConfig(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    key_sha256: list[str] = []
    keys: list[SecretStr] = Field([], description="plain keys, hashed at load (development)")
    api_keys: list[ApiKeyConfig] = Field([], description="named keys with their own limits")
    budget_usd_per_month: float | None = Field(None, ge=0)
    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(
        None, gt=0, description="prompt tokens plus max_tokens, reserved per call"
    )
    max_request_usd: float | None = Field(None, gt=0, description="the most one call may cost")
    feature_budgets_usd_per_month: dict[str, float] = Field(
        {}, description="feature name → monthly budget in USD, within the tenant's"
    )

    def hashes(self) -> list[str]:
        return [*self.key_sha256, *(hash_key(k.get_secret_value()) for k in self.keys)]

    @property
    def budgeted(self) -> bool:
        """Whether any budget or cost cap can apply to this tenant's calls."""
        return (
            self.budget_usd_per_month is not None
            or self.max_request_usd is not None
            or bool(self.feature_budgets_usd_per_month)
            or any(k.budget_usd_per_month is not None for k in self.api_keys)
        )


class LimitsConfig(_Section):
    """Where budgets, holds and rate counters live. `memory` serves one process; `redis`
    shares them between processes and hosts (with the ledger in PostgreSQL or one SQLite
    file), rebuilt from the ledger when Redis starts empty."""

    backend: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "unitcost:"
    on_redis_error: Literal["reject", "allow"] = Field(
        "reject", description="reject: 503 while Redis is unreachable (fail closed)"
    )
    hold_ttl_s: float = Field(900, gt=0, description="a hold not settled by then is charged")
    default_max_tokens: int = Field(
        4096, ge=1, description="max_tokens sent when a budgeted request gives none"
    )


class DeploymentConfig(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9._:/-]+$")
    backend: str
    options: dict[str, Any] = {}
    price: DeploymentSpec | None = Field(
        None, description="list_price, self_hosted or seed; replay defaults to its list price"
    )
    price_workload: WorkloadSpec = WorkloadSpec()
    tokenizer: str | None = Field(
        None, description="tiktoken:ENCODING, gguf:PATH or hf:PATH to tokenizer.json"
    )
    max_output_tokens: int | None = Field(
        None, ge=1, description="max_tokens is clamped to this (and sent when absent)"
    )

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, kind: str) -> str:
        # checked here, not only when `serve` builds the upstreams, so every command that
        # reads a gateway config (portfolio, governance, report) refuses a misspelt kind
        from unitcost.gateway.upstreams.registry import BACKENDS, BUILTIN

        if kind not in BUILTIN and kind not in BACKENDS:
            accepted = ", ".join(sorted({*BUILTIN, *BACKENDS}))
            raise ValueError(f"unknown backend; accepted: {accepted}")
        return kind


class SemanticCacheConfig(_Section):
    enabled: bool = False
    verify: bool = Field(
        True, description="a pair classifier checks the nearest entries before a hit"
    )
    threshold: float = Field(
        0.95, gt=0, le=1, description="cosine needed for a hit when verify is off"
    )
    max_tokens: int = Field(
        128, ge=8, description="word pieces embedded per prompt when verify is off"
    )


class CacheConfig(_Section):
    exact: bool = False
    semantic: SemanticCacheConfig = SemanticCacheConfig()
    backend: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    ttl_s: float = Field(3600, gt=0)
    max_entries: int = Field(10_000, ge=1)


class LedgerConfig(_Section):
    url: str = "sqlite:///unitcost-ledger.db"
    batch_size: int = Field(512, ge=1)
    interval_s: float = Field(0.05, gt=0)
    journal: bool = Field(True, description="every row durable before the client's last byte")
    journal_dir: str | None = Field(
        None, description="default: PATH.journal beside a SQLite ledger, else ./unitcost-journal"
    )
    fsync: bool = Field(False, description="also survive a power cut (a disk flush per row)")

    def journal_path(self) -> Path:
        if self.journal_dir is not None:
            return Path(self.journal_dir)
        if self.url.startswith("sqlite:///") and not self.url.endswith(":memory:"):
            return Path(self.url.removeprefix("sqlite:///") + ".journal")
        return Path("unitcost-journal")


class AttributionHeaders(_Section):
    feature: str = "x-unitcost-feature"
    cohort: str = "x-unitcost-cohort"
    end_user: str = "x-unitcost-user"


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="UNITCOST_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    admin_key: SecretStr | None = None
    metrics_key: SecretStr | None = Field(
        None, description="a key that may read /metrics only (the admin key may too)"
    )
    workers: int = Field(1, ge=1, le=64, description="processes serving one port")
    tenants: list[TenantConfig] = []
    deployments: list[DeploymentConfig] = Field(min_length=1)
    routes: list[RouteConfig] = []
    classes: list[WorkloadClassConfig] = []  # workload classes (routing/classes.py)
    cache: CacheConfig = CacheConfig()
    ledger: LedgerConfig = LedgerConfig()
    limits: LimitsConfig = LimitsConfig()
    guard: GuardConfig = GuardConfig()
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    attribution: AttributionHeaders = AttributionHeaders()
    log_level: str = "warning"

    @model_validator(mode="after")
    def _unique(self) -> GatewaySettings:
        deployments = [d.name for d in self.deployments]
        for what, names in (
            ("deployments", deployments),
            ("tenants", [t.name for t in self.tenants]),
            ("deployments and routes", deployments + [r.name for r in self.routes]),
            (
                "deployments, routes and classes",
                deployments + [r.name for r in self.routes] + [c.name for c in self.classes],
            ),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{what}: duplicate name {dupes[0]!r}")
        for c in self.classes:
            unknown = [o.deployment for o in c.option_list() if o.deployment not in deployments]
            if unknown:
                raise ValueError(
                    f"classes.{c.name}.options: {unknown[0]!r} is not a deployment; "
                    f"deployments are: {', '.join(deployments)}"
                )
        for route in self.routes:
            unknown = [n for n in route.members() if n not in deployments]
            if unknown:
                raise ValueError(
                    f"routes.{route.name}: {unknown[0]!r} is not a deployment; "
                    f"deployments are: {', '.join(deployments)}"
                )
        limited = any(
            t.budgeted or t.requests_per_minute or t.tokens_per_minute or t.api_keys
            for t in self.tenants
        )
        if self.workers > 1 and limited and self.limits.backend == "memory":
            raise ValueError(
                f"limits.backend: memory cannot share budgets and rate limits between "
                f"{self.workers} workers; accepted: redis (limits: {{backend: redis}})"
            )
        digests = [
            d for t in self.tenants for d in (*t.hashes(), *(k.digest() for k in t.api_keys))
        ]
        dupes = sorted({d[:12] for d in digests if digests.count(d) > 1})
        if dupes:
            raise ValueError(f"tenants: the same API key is configured twice ({dupes[0]}...)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file, which `load_settings` passes as init values.
        return env_settings, init_settings


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_variables(text: str, where: str) -> str:
    """`${NAME}` → the variable's value; `${NAME:-default}` when it may be unset. An unset
    variable without a default is an error: a literal `${ADMIN_KEY}` must never become a key."""

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found is not None:
            return found
        if default is not None:
            return default
        line = text.count("\n", 0, match.start()) + 1
        raise InputError(
            f"{where}:{line}: ${{{name}}} is not set; set the variable, or write "
            f"${{{name}:-default}} to allow a default"
        )

    return _VARIABLE.sub(value, text)


def load_settings(path: str | Path | None = None, **values: Any) -> GatewaySettings:
    """Settings from a YAML file (or `values`), with `UNITCOST_*` variables on top."""
    raw: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        raw = parse_mapping(expand_variables(read_text(p, "--config"), str(p)), str(p))
    raw.update(values)
    try:
        return GatewaySettings(**raw)
    except ValidationError as exc:
        where = str(path or "settings")
        raise InputError(describe_validation_error(exc, prefix=where, data=raw)) from None
