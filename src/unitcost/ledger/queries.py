"""What reports and the dashboard read: aggregates in one SQL text for SQLite, PostgreSQL
and DuckDB (over Parquet exports of the ledger).

    reader = open_reader("sqlite:///unitcost-ledger.db")    # or postgresql://..., parquet:///dir
    cells = cube(reader, Period("2026-01-01", "2026-01-31"))
    top_spenders(reader, "end_user", Period(), limit=10)
    reader.close()

The heavy lifting is one GROUP BY (`cube`) over the columns people slice by (day, tenant,
feature, cohort, deployment, requested, status); every per-day, per-week and per-feature
table is folded from its cells in Python, so a report scans the ledger a few times, not
once per table. Money stays integer nano-dollars; PostgreSQL's NUMERIC sums and DuckDB's
HUGEINT sums come back as exact Python ints.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol

from unitcost.errors import InputError, LedgerError

__all__ = [
    "CUBE_KEYS",
    "MEASURES",
    "READ_COLUMNS",
    "Cell",
    "Costliest",
    "EndUsers",
    "Outcome",
    "Period",
    "Reader",
    "Spender",
    "bounds",
    "costliest",
    "cube",
    "cube_rollup",
    "daily_spend",
    "end_users",
    "max_rowid",
    "open_reader",
    "outcomes",
    "top_spenders",
]

Dialect = Literal["sqlite", "postgresql", "duckdb"]

#: the columns a cube cell is keyed by, in order
CUBE_KEYS = ("day", "tenant", "feature", "cohort", "deployment", "requested", "status")
#: the sums each cell carries, in order (integers: tokens and nano-dollars)
MEASURES = (
    "prompt_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cost_input_nanos",
    "cost_cached_input_nanos",
    "cost_cache_write_nanos",
    "cost_output_nanos",
    "cost_reasoning_nanos",
    "cost_nanos",
    "saving_nanos",
)
SPENDER_COLUMNS = ("end_user", "key_id", "feature", "tenant", "cohort", "deployment")
#: every column a query here reads: what a columnar copy of the ledger must hold
READ_COLUMNS = (
    "id",
    "request_id",
    "ts",
    *CUBE_KEYS,
    "http_status",
    "end_user",
    "key_id",
    "error",
    "tokens_estimated",
    "latency_ms",
    *MEASURES,
)


class Reader(Protocol):
    url: str
    dialect: Dialect

    def run(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Period:
    """Days from `since` to `until`, both inclusive (YYYY-MM-DD, UTC); None is open."""

    since: str | None = None
    until: str | None = None
    tenant: str | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            day = getattr(self, name)
            if day is None:
                continue
            try:
                # strict: days are compared as text, so 2026-3-1 must not pass for 2026-03-01
                ok = len(day) == 10 and bool(time.strptime(day, "%Y-%m-%d"))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise InputError(f"{name}: {day!r} is not a date; accepted: YYYY-MM-DD")
        if self.since and self.until and self.since > self.until:
            raise InputError(f"since: {self.since} is after until {self.until}")

    def where(self, mark: str) -> tuple[str, list[Any]]:
        clauses, args = [], []
        for clause, value in (
            ("day >= {}", self.since),
            ("day <= {}", self.until),
            ("tenant = {}", self.tenant),
        ):
            if value is not None:
                clauses.append(clause.format(mark))
                args.append(value)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


@dataclass(frozen=True, slots=True)
class Cell:
    """Sums over the rows that share one value of every CUBE_KEYS column."""

    day: str
    tenant: str
    feature: str | None
    cohort: str | None
    deployment: str
    requested: str
    status: str
    requests: int
    estimated: int
    latency_ms: float
    prompt_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cost_input_nanos: int
    cost_cached_input_nanos: int
    cost_cache_write_nanos: int
    cost_output_nanos: int
    cost_reasoning_nanos: int
    cost_nanos: int
    saving_nanos: int


@dataclass(frozen=True, slots=True)
class Spender:
    name: str | None
    requests: int
    tokens: int
    cost_nanos: int


@dataclass(frozen=True, slots=True)
class Costliest:
    id: str
    request_id: str
    ts: float
    tenant: str
    feature: str | None
    end_user: str | None
    deployment: str
    requested: str
    status: str
    prompt_tokens: int
    completion_tokens: int
    cost_nanos: int


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    http_status: int | None
    reason: str | None
    requests: int
    cost_nanos: int


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _mark(reader: Reader) -> str:
    return "%s" if reader.dialect == "postgresql" else "?"


#: the cube's sums beside MEASURES, as a pre-summed cube (`cube_rollup`) names them
_CELL_SUMS = (
    ("requests", "COUNT(*)"),
    ("estimated", "SUM(CASE WHEN tokens_estimated THEN 1 ELSE 0 END)"),
    ("latency_ms", "SUM(latency_ms)"),
)


def cube_rollup(source: str) -> str:
    """SQL (DuckDB) that sums the rows of `source` into cube cells, with the columns a
    pre-summed cube holds: what a columnar copy keeps beside each segment, so `cube` reads
    thousands of cells instead of millions of rows. Money and tokens as DECIMAL(38,0):
    exact in Parquet, whatever the sums reach."""
    keys = ", ".join(CUBE_KEYS)
    sums = [f"{expr} AS {name}" for name, expr in _CELL_SUMS]
    sums += [f"CAST(SUM({m}) AS DECIMAL(38,0)) AS {m}" for m in MEASURES]
    return f"SELECT {keys}, {', '.join(sums)} FROM {source} GROUP BY {keys}"


def cube(
    reader: Reader, period: Period = Period(), rowids: tuple[int, int] | None = None
) -> list[Cell]:
    """One cell per distinct CUBE_KEYS combination in the period, with every measure summed.
    `rowids` (SQLite only) keeps rows with low < rowid <= high: the rows appended between two
    refreshes of the dashboard. A reader with a pre-summed cube (`usage_cube`, made by
    `cube_rollup`; a columnar copy) is read from it: the period's columns are cube keys."""
    where, args = period.where(_mark(reader))
    if rowids is not None:
        low, high = (int(x) for x in rowids)
        where += (" AND " if where else " WHERE ") + f"rowid > {low} AND rowid <= {high}"
    keys = ", ".join(CUBE_KEYS)
    if rowids is None and getattr(reader, "has_cube", False):
        sums = ", ".join(f"SUM({name})" for name in (*(n for n, _ in _CELL_SUMS), *MEASURES))
        sql = f"SELECT {keys}, {sums} FROM usage_cube{where} GROUP BY {keys}"
    else:
        sums = ", ".join(f"SUM({m})" for m in MEASURES)
        sql = (
            f"SELECT {keys}, {', '.join(e for _, e in _CELL_SUMS)}, {sums} "
            f"FROM usage{where} GROUP BY {keys}"
        )
    cells = []
    for row in reader.run(sql, args):
        k = len(CUBE_KEYS)
        values: list[Any] = [*row[:k], _int(row[k]), _int(row[k + 1]), float(row[k + 2] or 0)]
        values += [_int(v) for v in row[k + 3 :]]
        cells.append(Cell(*values))
    return cells


def top_spenders(
    reader: Reader, column: str, period: Period = Period(), limit: int = 10
) -> list[Spender]:
    """The `limit` values of `column` that cost the most in the period, costliest first."""
    if column not in SPENDER_COLUMNS:
        raise InputError(f"column: unknown {column!r}; accepted: {', '.join(SPENDER_COLUMNS)}")
    where, args = period.where(_mark(reader))
    sql = (
        f"SELECT {column}, COUNT(*), SUM(prompt_tokens + completion_tokens), SUM(cost_nanos) AS c "
        f"FROM usage{where} GROUP BY {column} "
        # NULLS FIRST is SQLite's own order: every engine breaks a tie the same way
        f"ORDER BY c DESC, {column} NULLS FIRST LIMIT {int(limit)}"
    )
    return [Spender(r[0], _int(r[1]), _int(r[2]), _int(r[3])) for r in reader.run(sql, args)]


def costliest(reader: Reader, period: Period = Period(), limit: int = 10) -> list[Costliest]:
    """The `limit` most expensive rows (calls) of the period. Two passes: the threshold from
    the cost column alone, then only the rows at or above it (cheap on a columnar ledger)."""
    where, args = period.where(_mark(reader))
    top = reader.run(
        f"SELECT cost_nanos FROM usage{where} ORDER BY cost_nanos DESC LIMIT {int(limit)}", args
    )
    if not top:
        return []
    floor = _int(top[-1][0])
    where = f"{where} AND cost_nanos >= {floor}" if where else f" WHERE cost_nanos >= {floor}"
    names = [f.name for f in fields(Costliest)]
    sql = (
        f"SELECT {', '.join(names)} FROM usage{where} "
        f"ORDER BY cost_nanos DESC, id LIMIT {int(limit)}"
    )
    out = []
    for r in reader.run(sql, args):
        v = dict(zip(names, r, strict=True))
        for n in ("prompt_tokens", "completion_tokens", "cost_nanos"):
            v[n] = _int(v[n])
        v["ts"] = float(v["ts"])
        out.append(Costliest(**v))
    return out


def outcomes(reader: Reader, period: Period = Period(), limit: int = 50) -> list[Outcome]:
    """Rows that did not answer (errors, timeouts, rejections), by status, HTTP status and the
    first words of their error: what went wrong and how often."""
    where, args = period.where(_mark(reader))
    cond = "status NOT IN ('ok', 'cache_hit')"
    where = f"{where} AND {cond}" if where else f" WHERE {cond}"
    reason = "SUBSTR(error, 1, 60)"
    sql = (
        f"SELECT status, http_status, {reason} AS reason, COUNT(*) AS n, SUM(cost_nanos) "
        f"FROM usage{where} GROUP BY status, http_status, {reason} "
        f"ORDER BY n DESC, status, http_status NULLS FIRST, reason NULLS FIRST "
        f"LIMIT {int(limit)}"
    )
    return [
        Outcome(r[0], None if r[1] is None else int(r[1]), r[2], _int(r[3]), _int(r[4]))
        for r in reader.run(sql, args)
    ]


def daily_spend(reader: Reader, period: Period) -> dict[tuple[str, str], int]:
    """Nano-dollars per (tenant, day): what budget burn-down is drawn from."""
    where, args = period.where(_mark(reader))
    sql = f"SELECT tenant, day, SUM(cost_nanos) FROM usage{where} GROUP BY tenant, day"
    return {(r[0], r[1]): _int(r[2]) for r in reader.run(sql, args)}


@dataclass(frozen=True)
class EndUsers:
    """The costliest end users, and distinct end users per feature ("*": all features
    together, for attach)."""

    top: list[Spender]
    distinct: dict[str | None, int]


def end_users(reader: Reader, period: Period = Period(), limit: int = 10) -> EndUsers:
    """Top spenders by end user and distinct end users per feature from one scan: the
    (feature, end user) groups are made once and read three ways, where two queries would
    read the ledger twice."""
    where, args = period.where(_mark(reader))
    named = "WHERE end_user IS NOT NULL"
    rows = reader.run(
        # MATERIALIZED: the pairs are grouped once, not once per use (DuckDB inlines CTEs)
        "WITH pairs AS MATERIALIZED (SELECT feature, end_user, COUNT(*) AS n, "
        "SUM(prompt_tokens + completion_tokens) AS t, SUM(cost_nanos) AS c "
        f"FROM usage{where} GROUP BY feature, end_user) "
        f"SELECT 0, feature, NULL, COUNT(*), 0, 0 FROM pairs {named} GROUP BY feature "
        f"UNION ALL SELECT 1, NULL, NULL, COUNT(DISTINCT end_user), 0, 0 FROM pairs {named} "
        "UNION ALL SELECT * FROM (SELECT 2, NULL, end_user, SUM(n), SUM(t), SUM(c) AS cost "
        # NULLS FIRST is SQLite's own order: every engine breaks a tie the same way
        f"FROM pairs GROUP BY end_user ORDER BY cost DESC, end_user NULLS FIRST "
        f"LIMIT {int(limit)}) AS top",
        args,
    )
    distinct: dict[str | None, int] = {"*": 0}
    top: list[Spender] = []
    for kind, feature, user, n, tokens, cost in rows:
        if kind == 2:
            top.append(Spender(user, _int(n), _int(tokens), _int(cost)))
        else:
            distinct["*" if kind else feature] = _int(n)
    # UNION ALL promises no order across its parts: the ranking again, ties as SQLite breaks them
    top.sort(key=lambda sp: (-sp.cost_nanos, sp.name is not None, sp.name or ""))
    return EndUsers(top, distinct)


def bounds(reader: Reader, period: Period = Period()) -> tuple[str | None, str | None, int]:
    """First day, last day and number of rows in the period."""
    where, args = period.where(_mark(reader))
    rows = reader.run(f"SELECT MIN(day), MAX(day), COUNT(*) FROM usage{where}", args)
    first, last, n = rows[0] if rows else (None, None, 0)
    return first, last, _int(n)


def max_rowid(reader: Reader) -> int | None:
    """The highest SQLite rowid (an append-only watermark); None on other engines."""
    if reader.dialect != "sqlite":
        return None
    rows = reader.run("SELECT MAX(rowid) FROM usage")
    return _int(rows[0][0]) if rows else 0


class _SQLiteReader:
    dialect: Dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.url = f"sqlite:///{path}"
        if path != ":memory:" and not Path(path).is_file():
            raise InputError(f"--ledger: {self.url} does not exist")
        try:
            # read-only: a report never writes, and never blocks the gateway's writer (WAL)
            target = path if path == ":memory:" else f"file:{Path(path).resolve()}?mode=ro"
            self.conn = sqlite3.connect(target, uri=path != ":memory:", check_same_thread=False)
            self.conn.execute("PRAGMA temp_store=MEMORY")
            self.conn.execute("SELECT 1 FROM usage LIMIT 1")
        except sqlite3.Error as exc:
            raise LedgerError(f"ledger {self.url}: cannot read ({exc})") from None

    def run(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, list(args)).fetchall()
        except sqlite3.Error as exc:
            raise LedgerError(f"ledger {self.url}: query failed ({exc})") from None

    def close(self) -> None:
        self.conn.close()


class _PostgresReader:
    dialect: Dialect = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise InputError(
                "--ledger: postgresql needs psycopg; install with `pip install 'unitcost[postgres]'`"
            ) from None
        self.url = url
        self._error = psycopg.Error
        try:
            self.conn = psycopg.connect(url, autocommit=True)
            self.conn.execute("SET work_mem = '64MB'")  # hash aggregates stay in memory
            # The planner guesses ~1M groups for the cube's seven text columns (there are
            # thousands) and sorts every row by them: 3.6x slower than hashing at 10M rows.
            # Unsorted plans win where they exist; ORDER BY ... LIMIT still sorts its groups.
            self.conn.execute("SET enable_sort = off")
            self.conn.execute("SET enable_incremental_sort = off")
        except psycopg.Error as exc:
            raise LedgerError(f"ledger {url}: cannot read ({exc})") from None

    def run(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, list(args))  # built from constant parts
                return [tuple(_plain(v) for v in row) for row in cur.fetchall()]
        except self._error as exc:
            raise LedgerError(f"ledger {self.url}: query failed ({exc})") from None

    def close(self) -> None:
        self.conn.close()


def _plain(value: Any) -> Any:
    """NUMERIC sums of integers are exact Decimals; hand back ints (floats stay floats)."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return float(value) if isinstance(value, Decimal) else value


class _DuckDBReader:
    """Parquet files of ledger rows (`unitcost export --format parquet`), read by DuckDB:
    the columnar path for ledgers of tens of millions of rows."""

    dialect: Dialect = "duckdb"

    def __init__(self, path: str) -> None:
        try:
            import duckdb
        except ImportError:
            raise InputError(
                "--ledger: parquet needs duckdb; install with `pip install 'unitcost[report]'`"
            ) from None
        self.url = f"parquet:///{path}"
        p = Path(path)
        files = sorted(p.rglob("*.parquet")) if p.is_dir() else [p] if p.is_file() else []
        if not files:
            raise InputError(f"--ledger: {self.url} has no .parquet files")
        self._error = duckdb.Error
        # never fetch an extension at run time: parquet is built into the wheel
        self.conn = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        try:
            self.conn.execute(
                f"CREATE VIEW usage AS SELECT * FROM read_parquet([{listed}], union_by_name=true)"
            )
        except duckdb.Error as exc:
            raise InputError(  # the files named are not a ledger: the user's to fix (exit 2)
                f"--ledger: {self.url}: cannot read ({_first_line(exc)}); accepted: the Parquet "
                "files `unitcost export --format rows` writes"
            ) from None

    def run(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, list(args)).fetchall()
        except self._error as exc:
            raise InputError(
                f"--ledger: {self.url}: query failed ({_first_line(exc)}); accepted: the Parquet "
                "files `unitcost export --format rows` writes"
            ) from None

    def close(self) -> None:
        self.conn.close()


def _first_line(exc: Exception) -> str:
    """DuckDB's message without the SQL it quotes beneath it (LINE 1: ... ^)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def open_reader(url: str) -> Reader:
    """A read-only view of a ledger: sqlite:///PATH, postgresql://..., or parquet:///PATH."""
    if url.startswith("sqlite:///"):
        return _SQLiteReader(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        return _PostgresReader(url)
    if url.startswith("parquet:///"):
        return _DuckDBReader(url.removeprefix("parquet:///"))
    raise InputError(
        f"--ledger: {url!r} is not supported; accepted: sqlite:///PATH, postgresql://... "
        "or parquet:///PATH"
    )
