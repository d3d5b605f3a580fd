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
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from unitcost.economics.spec import DeploymentSpec, WorkloadSpec
from unitcost.errors import InputError, describe_validation_error
from unitcost.routing.config import RouteConfig
from unitcost.yamlfile import parse_mapping

__all__ = [
    "AttributionHeaders",
    "CacheConfig",
    "DeploymentConfig",
    "GatewaySettings",
    "LedgerConfig",
    "TenantConfig",
    "hash_key",
    "load_settings",
]


def hash_key(key: str) -> str:
    """What the config stores instead of an API key: its SHA-256, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantConfig(_Section):
    name: str
    key_sha256: list[str] = []
    keys: list[SecretStr] = Field([], description="plain keys, hashed at load (development)")
    budget_usd_per_month: float | None = Field(None, ge=0)
    requests_per_minute: float | None = Field(None, gt=0)

    def hashes(self) -> list[str]:
        return [*self.key_sha256, *(hash_key(k.get_secret_value()) for k in self.keys)]


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


class SemanticCacheConfig(_Section):
    enabled: bool = False
    threshold: float = Field(0.95, gt=0, le=1)
    max_tokens: int = Field(128, ge=8, description="word pieces embedded per prompt")


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


class AttributionHeaders(_Section):
    feature: str = "x-unitcost-feature"
    cohort: str = "x-unitcost-cohort"
    end_user: str = "x-unitcost-user"


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="UNITCOST_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    admin_key: SecretStr | None = None
    tenants: list[TenantConfig] = []
    deployments: list[DeploymentConfig] = Field(min_length=1)
    routes: list[RouteConfig] = []
    cache: CacheConfig = CacheConfig()
    ledger: LedgerConfig = LedgerConfig()
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
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{what}: duplicate name {dupes[0]!r}")
        for route in self.routes:
            unknown = [n for n in route.members() if n not in deployments]
            if unknown:
                raise ValueError(
                    f"routes.{route.name}: {unknown[0]!r} is not a deployment; "
                    f"deployments are: {', '.join(deployments)}"
                )
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


def load_settings(path: str | Path | None = None, **values: Any) -> GatewaySettings:
    """Settings from a YAML file (or `values`), with `UNITCOST_*` variables on top."""
    raw: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"--config: {str(p)!r} does not exist")
        raw = parse_mapping(os.path.expandvars(p.read_text(encoding="utf-8")), str(p))
    raw.update(values)
    try:
        return GatewaySettings(**raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, prefix=str(path or "settings"))) from None
