"""Ledger stores: SQLite (WAL, the embedded default) and PostgreSQL, one SQL dialect apart.

    store = open_store("sqlite:///unitcost-ledger.db")   # or "postgresql://127.0.0.1/test"
    store.append([record, ...])                           # one transaction per batch
    store.usage(group_by=["tenant", "day"], tenant="acme")

Aggregates are computed from the rows with SQL, never kept as counters beside them.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from unitcost.errors import InputError, LedgerError
from unitcost.ledger.record import COLUMNS, GROUPS, UsageRecord

__all__ = ["PostgresStore", "SQLiteStore", "Store", "open_store"]

_TYPES = {
    "id": "TEXT PRIMARY KEY",
    "ts": "DOUBLE PRECISION NOT NULL",
    "http_status": "INTEGER",
    "stream": "BOOLEAN",
    "tokens_estimated": "BOOLEAN",
    "prompt_tokens": "BIGINT",
    "cached_tokens": "BIGINT",
    "completion_tokens": "BIGINT",
    "reasoning_tokens": "BIGINT",
    "ttft_ms": "DOUBLE PRECISION",
    "latency_ms": "DOUBLE PRECISION",
    "cost_input": "DOUBLE PRECISION",
    "cost_cached_input": "DOUBLE PRECISION",
    "cost_output": "DOUBLE PRECISION",
    "cost_reasoning": "DOUBLE PRECISION",
    "cost_usd": "DOUBLE PRECISION",
    "saving_usd": "DOUBLE PRECISION",
}
_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS usage ("
    + ", ".join(f"{c} {_TYPES.get(c, 'TEXT')}" for c in COLUMNS)
    + ")",
    "CREATE INDEX IF NOT EXISTS usage_tenant_day ON usage (tenant, day)",
    "CREATE INDEX IF NOT EXISTS usage_request ON usage (request_id)",
]
_TOTALS = (
    "COUNT(*) AS requests, "
    "SUM(CASE WHEN status IN ('ok', 'cache_hit') THEN 0 ELSE 1 END) AS errors, "
    "SUM(prompt_tokens) AS prompt_tokens, SUM(cached_tokens) AS cached_tokens, "
    "SUM(completion_tokens) AS completion_tokens, SUM(reasoning_tokens) AS reasoning_tokens, "
    "SUM(CASE WHEN tokens_estimated THEN 1 ELSE 0 END) AS estimated, "
    "SUM(cost_usd) AS cost_usd, SUM(saving_usd) AS saving_usd"
)


class Store(Protocol):
    url: str

    def append(self, records: Sequence[UsageRecord]) -> None: ...

    def usage(
        self,
        group_by: Sequence[str] = (),
        tenant: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[dict[str, Any]]: ...

    def records(self, request_id: str | None = None, limit: int = 1000) -> list[UsageRecord]: ...

    def close(self) -> None: ...


class _SQLStore:
    placeholder = "?"
    url = ""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        marks = ", ".join([self.placeholder] * len(COLUMNS))
        self._insert = (
            f"INSERT INTO usage ({', '.join(COLUMNS)}) VALUES ({marks}) ON CONFLICT (id) DO NOTHING"
        )

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def _read(self, sql: str, args: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        raise NotImplementedError

    def append(self, records: Sequence[UsageRecord]) -> None:
        if records:
            with self._lock:
                self._write(self._insert, [r.row() for r in records])

    def usage(
        self,
        group_by: Sequence[str] = (),
        tenant: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[dict[str, Any]]:
        for g in group_by:
            if g not in GROUPS:
                raise InputError(f"group_by: unknown {g!r}; accepted: {', '.join(GROUPS)}")
        for name, day in (("since", since), ("until", until)):
            if day is not None and not _is_day(day):
                raise InputError(f"{name}: {day!r} is not a date; accepted: YYYY-MM-DD")
        where, args = [], []
        for clause, value in (("tenant = {}", tenant), ("day >= {}", since), ("day <= {}", until)):
            if value is not None:
                where.append(clause.format(self.placeholder))
                args.append(value)
        cols = ", ".join(group_by)
        sql = f"SELECT {cols + ', ' if cols else ''}{_TOTALS} FROM usage"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if group_by:
            sql += f" GROUP BY {cols} ORDER BY {cols}"
        with self._lock:
            names, rows = self._read(sql, args)
        return [
            {k: v if k in group_by else _plain(v) for k, v in zip(names, row, strict=True)}
            for row in rows
            if row[len(group_by)]  # an empty ledger with no grouping still returns one row
        ]

    def records(self, request_id: str | None = None, limit: int = 1000) -> list[UsageRecord]:
        fields = COLUMNS[:-1]
        sql = f"SELECT {', '.join(fields)} FROM usage"
        args: list[Any] = []
        if request_id is not None:
            sql += f" WHERE request_id = {self.placeholder}"
            args.append(request_id)
        sql += f" ORDER BY ts LIMIT {int(limit)}"
        with self._lock:
            _, rows = self._read(sql, args)
        out = []
        for row in rows:
            values = dict(zip(fields, row, strict=True))
            values["stream"] = bool(values["stream"])
            values["tokens_estimated"] = bool(values["tokens_estimated"])
            out.append(UsageRecord(**values))
        return out


def _is_day(value: str) -> bool:
    try:
        time.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def _plain(value: Any) -> Any:
    """PostgreSQL sums integers as NUMERIC; report plain ints and floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return 0 if value is None else value


class SQLiteStore(_SQLStore):
    """A local file in WAL mode: readers never block the batched writer."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.url = f"sqlite:///{path}"
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                self.conn.execute(statement)
        except sqlite3.Error as exc:
            raise LedgerError(f"ledger {self.url}: cannot open ({exc})") from None

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.conn.execute("BEGIN")
        try:
            self.conn.executemany(sql, rows)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _read(self, sql: str, args: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self.conn.execute(sql, args)
        return [d[0] for d in cur.description], cur.fetchall()

    def close(self) -> None:
        with self._lock:
            self.conn.close()


class PostgresStore(_SQLStore):
    """PostgreSQL through psycopg 3, for many gateway replicas writing one ledger."""

    placeholder = "%s"

    def __init__(self, url: str) -> None:
        super().__init__()
        try:
            import psycopg
        except ImportError:
            raise InputError(
                "ledger.url: postgresql needs psycopg; install with `pip install 'unitcost[postgres]'`"
            ) from None
        self.url = url
        try:
            self.conn = psycopg.connect(url, autocommit=True)
            for statement in _SCHEMA:
                self.conn.execute(statement)  # constant SQL
        except psycopg.Error as exc:
            raise LedgerError(f"ledger {url}: cannot open ({exc})") from None

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(sql, rows)  # built from constant parts

    def _read(self, sql: str, args: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, args)  # built from constant parts
            return [d.name for d in cur.description or []], cur.fetchall()

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def open_store(url: str) -> Store:
    if url.startswith("sqlite:///"):
        return SQLiteStore(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    raise InputError(
        f"ledger.url: {url!r} is not supported; accepted: sqlite:///PATH or postgresql://..."
    )
