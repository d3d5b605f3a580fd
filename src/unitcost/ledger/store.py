"""Ledger stores: SQLite (WAL, the embedded default) and PostgreSQL, one SQL dialect apart.

    store = open_store("sqlite:///unitcost-ledger.db")   # or "postgresql://127.0.0.1/test"
    store.append([record, ...])                           # one transaction per batch
    store.usage(group_by=["tenant", "day"], tenant="acme")
    store.spent_nanos(["tenant"], since="2026-12-01")     # what budgets are rebuilt from

Opening a store migrates its schema to the current version (`ledger/migrations.py`).
Appends are idempotent by row id, so a journal replayed after a crash never duplicates a
row. Aggregates are computed from the rows with SQL, never kept as counters beside them;
money is summed as integer nano-dollars.
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
from unitcost.ledger.migrations import migrate
from unitcost.ledger.record import COLUMNS, GROUPS, NANOS_PER_USD, UsageRecord

__all__ = ["PostgresStore", "SQLiteStore", "Store", "open_store"]

_TOTALS = (
    "COUNT(*) AS requests, "
    "SUM(CASE WHEN status IN ('ok', 'cache_hit', 'escalated', 'withheld', 'rejected') THEN 0 "
    "ELSE 1 END)"
    " AS errors, "
    "SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS rejected, "
    "SUM(prompt_tokens) AS prompt_tokens, SUM(cached_tokens) AS cached_tokens, "
    "SUM(cache_write_tokens) AS cache_write_tokens, "
    "SUM(completion_tokens) AS completion_tokens, SUM(reasoning_tokens) AS reasoning_tokens, "
    "SUM(CASE WHEN tokens_estimated THEN 1 ELSE 0 END) AS estimated, "
    "SUM(cost_nanos) AS cost_nanos, SUM(saving_nanos) AS saving_nanos"
)
_BOOLS = ("stream", "tokens_estimated")


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

    def spent_nanos(
        self, group_by: Sequence[str], since: str, without: Sequence[str] = ()
    ) -> dict[tuple[str | None, ...], int]: ...

    def records(
        self,
        request_id: str | None = None,
        limit: int = 1000,
        since: str | None = None,
        until: str | None = None,
    ) -> list[UsageRecord]: ...

    def ids(self, ids: Sequence[str]) -> set[str]: ...

    def close(self) -> None: ...


def _check_days(since: str | None, until: str | None) -> None:
    for name, day in (("since", since), ("until", until)):
        if day is not None and not _is_day(day):
            raise InputError(f"{name}: {day!r} is not a date; accepted: YYYY-MM-DD")


def _check_groups(group_by: Sequence[str]) -> None:
    for g in group_by:
        if g not in GROUPS:
            raise InputError(f"group_by: unknown {g!r}; accepted: {', '.join(GROUPS)}")


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

    def _where(
        self, tenant: str | None, since: str | None, until: str | None
    ) -> tuple[str, list[Any]]:
        where, args = [], []
        for clause, value in (("tenant = {}", tenant), ("day >= {}", since), ("day <= {}", until)):
            if value is not None:
                where.append(clause.format(self.placeholder))
                args.append(value)
        return (" WHERE " + " AND ".join(where) if where else ""), args

    def usage(
        self,
        group_by: Sequence[str] = (),
        tenant: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[dict[str, Any]]:
        _check_groups(group_by)
        _check_days(since, until)
        group_by = list(dict.fromkeys(group_by))  # any caller's repeat is grouped once
        where, args = self._where(tenant, since, until)
        cols = ", ".join(group_by)
        sql = f"SELECT {cols + ', ' if cols else ''}{_TOTALS} FROM usage{where}"
        if group_by:
            sql += f" GROUP BY {cols} ORDER BY {cols}"
        with self._lock:
            names, rows = self._read(sql, args)
        out = []
        for row in rows:
            if not row[len(group_by)]:  # an empty ledger with no grouping still returns one row
                continue
            item = {k: v if k in group_by else _plain(v) for k, v in zip(names, row, strict=True)}
            item["cost_usd"] = item["cost_nanos"] / NANOS_PER_USD
            item["saving_usd"] = item["saving_nanos"] / NANOS_PER_USD
            out.append(item)
        return out

    def spent_nanos(
        self, group_by: Sequence[str], since: str, without: Sequence[str] = ()
    ) -> dict[tuple[str | None, ...], int]:
        """Integer nano-dollars spent since a day, per group, leaving out the rows whose ids
        are `without` (budgets rebuild from this)."""
        _check_groups(group_by)
        _check_days(since, None)
        cols = ", ".join(group_by)
        skip = f" AND id NOT IN ({', '.join([self.placeholder] * len(without))})" if without else ""
        sql = (
            f"SELECT {cols}, SUM(cost_nanos) FROM usage WHERE day >= {self.placeholder}{skip} "
            f"GROUP BY {cols}"
        )
        with self._lock:
            _, rows = self._read(sql, [since, *without])
        return {tuple(r[:-1]): int(r[-1] or 0) for r in rows}

    def records(
        self,
        request_id: str | None = None,
        limit: int = 1000,
        since: str | None = None,
        until: str | None = None,
    ) -> list[UsageRecord]:
        """Rows in time order: one request's, or a period's (days inclusive, UTC)."""
        _check_days(since, until)
        fields = COLUMNS[:-1]
        sql = f"SELECT {', '.join(fields)} FROM usage"
        where, args = self._where(None, since, until)
        if request_id is not None:
            where += (" AND " if where else " WHERE ") + f"request_id = {self.placeholder}"
            args.append(request_id)
        sql += where + f" ORDER BY ts, id LIMIT {int(limit)}"
        with self._lock:
            _, rows = self._read(sql, args)
        out = []
        for row in rows:
            values = dict(zip(fields, row, strict=True))
            for name in _BOOLS:
                values[name] = bool(values[name])
            out.append(UsageRecord(**values))
        return out

    def ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these row ids the ledger holds."""
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join([self.placeholder] * len(chunk))
            with self._lock:
                _, rows = self._read(f"SELECT id FROM usage WHERE id IN ({marks})", chunk)
            found.update(r[0] for r in rows)
        return found


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
    """A local file in WAL mode: readers never block the batched writer. Several gateway
    processes on one host may share it (writes wait on SQLite's lock, up to 10 s)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.url = f"sqlite:///{path}"
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                migrate(self.conn.execute, self._scalar, "sqlite")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise LedgerError(f"ledger {self.url}: cannot open ({exc})") from None

    def _scalar(self, sql: str) -> Any:
        row = self.conn.execute(sql).fetchone()
        return None if row is None else row[0]

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
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
            with self.conn.transaction(), self.conn.cursor() as cur:

                def scalar(sql: str) -> Any:
                    cur.execute(sql)  # constant SQL
                    row = cur.fetchone()
                    return None if row is None else row[0]

                migrate(cur.execute, scalar, "postgresql")
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
