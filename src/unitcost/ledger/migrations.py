"""The ledger's schema, versioned: numbered migrations for SQLite and PostgreSQL.

    migrate(conn, "sqlite")      # brings any ledger this project ever wrote to SCHEMA_VERSION

A ledger records its version in `schema_version`. One written before versioning (a `usage`
table and no version row) is version 1. A new column is a new migration appended to
`MIGRATIONS` (and a field appended to `UsageRecord`), so an existing ledger is upgraded in
place at start-up instead of failing every insert. Migrations run in one transaction, under
a lock, so two replicas starting together do not both migrate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from unitcost.errors import LedgerError
from unitcost.ledger.record import COLUMNS

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "column_type", "migrate"]

Dialect = Literal["sqlite", "postgresql"]

_TYPES = {
    "id": "TEXT PRIMARY KEY",
    "ts": "DOUBLE PRECISION NOT NULL",
    "http_status": "INTEGER",
    "stream": "BOOLEAN",
    "tokens_estimated": "BOOLEAN",
    "ttft_ms": "DOUBLE PRECISION",
    "latency_ms": "DOUBLE PRECISION",
    "upstream_ms": "DOUBLE PRECISION",
    "guard_ms": "DOUBLE PRECISION",
}


def column_type(name: str) -> str:
    if name in _TYPES:
        return _TYPES[name]
    if name.endswith(("_tokens", "_nanos", "_micros")):
        return "BIGINT NOT NULL DEFAULT 0"
    return "TEXT"


_V1_COSTS = ("cost_input", "cost_cached_input", "cost_output", "cost_reasoning")
_V2_NEW = (
    "key_id",
    "workload_class",
    "cache_write_tokens",
    "upstream_ms",
    "cost_input_nanos",
    "cost_cached_input_nanos",
    "cost_cache_write_nanos",
    "cost_output_nanos",
    "cost_reasoning_nanos",
    "cost_nanos",
    "saving_nanos",
    "hold_micros",
    "guard_action",
    "guard_reasons",
    "guard_ms",
)


def _v2(dialect: Dialect) -> list[str]:
    """Integer nano-dollar cost lines replace v1's floats; attribution and guard columns."""
    statements = [f"ALTER TABLE usage ADD COLUMN {c} {column_type(c)}" for c in _V2_NEW]
    to_int = "CAST(ROUND({} * 1000000000) AS BIGINT)"
    for old in (*_V1_COSTS, "cost_usd", "saving_usd"):
        new = {"cost_usd": "cost_nanos", "saving_usd": "saving_nanos"}.get(old, f"{old}_nanos")
        statements.append(f"UPDATE usage SET {new} = {to_int.format(f'COALESCE({old}, 0)')}")
    statements += [
        f"ALTER TABLE usage DROP COLUMN {c}" for c in (*_V1_COSTS, "cost_usd", "saving_usd")
    ]
    return statements


def _v3(dialect: Dialect) -> list[str]:
    """Indexes the reports and budget rebuilds read by."""
    return [
        "CREATE INDEX IF NOT EXISTS usage_day ON usage (day)",
        "CREATE INDEX IF NOT EXISTS usage_key_day ON usage (key_id, day)",
    ]


#: migration n brings a ledger from version n - 1 to n (index 0 is version 2)
MIGRATIONS: list[Callable[[Dialect], list[str]]] = [_v2, _v3]
SCHEMA_VERSION = 1 + len(MIGRATIONS)


def _create_latest() -> list[str]:
    return [
        "CREATE TABLE usage (" + ", ".join(f"{c} {column_type(c)}" for c in COLUMNS) + ")",
        "CREATE INDEX IF NOT EXISTS usage_tenant_day ON usage (tenant, day)",
        "CREATE INDEX IF NOT EXISTS usage_request ON usage (request_id)",
        *_v3("sqlite"),
    ]


def migrate(execute: Callable[[str], Any], scalar: Callable[[str], Any], dialect: Dialect) -> int:
    """Bring the ledger to SCHEMA_VERSION inside the caller's transaction; returns the
    version it started at (0 for a new ledger). `execute` runs one statement, `scalar`
    returns the first column of the first row of a query (None when there is none)."""
    if dialect == "postgresql":
        scalar("SELECT pg_advisory_xact_lock(7405722)")  # one migrator at a time
    execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    version = scalar("SELECT MAX(version) FROM schema_version")
    if version is None:
        has_usage = (
            scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'usage'")
            if dialect == "sqlite"
            else scalar("SELECT to_regclass('usage')")
        )
        version = 1 if has_usage else 0
    start = int(version)
    if start > SCHEMA_VERSION:
        raise LedgerError(
            f"the ledger is at schema version {start}, newer than this unitcost "
            f"({SCHEMA_VERSION}); upgrade unitcost to read it"
        )
    if start == 0:
        for statement in _create_latest():
            execute(statement)
    else:
        for step in MIGRATIONS[start - 1 :]:
            for statement in step(dialect):
                execute(statement)
    if start != SCHEMA_VERSION:
        execute("DELETE FROM schema_version")
        execute(f"INSERT INTO schema_version (version) VALUES ({SCHEMA_VERSION})")
    return start
