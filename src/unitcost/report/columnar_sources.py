"""Where the columnar copy's rows come from: what is new in a SQLite or PostgreSQL ledger,
and writing it as Parquet with the ledger's own types (see `report.columnar`).

    src = open_source("sqlite:///unitcost-ledger.db")
    identity, changes, rebuild = src.plan(held_identity, high=0, high_id=None, days={})
    n = src.write(changes[0], Path("rows.parquet.tmp"), say=print)
    src.close()
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from unitcost.errors import LedgerError
from unitcost.ledger import queries as q
from unitcost.ledger.migrations import column_type

__all__ = [
    "Change",
    "ColumnarUnavailable",
    "Source",
    "arrow_schema",
    "duckdb_connect",
    "open_source",
]

#: a first SQLite copy at least this big is read by DuckDB's sqlite scanner when it loads
SCAN_MIN_ROWS = 200_000
_CHUNK = 65_536  # rows per Python read: bounded memory, few round trips
_ROW_GROUP = 122_880  # rows per Parquet row group, as DuckDB writes them: small ones read slowly


class ColumnarUnavailable(LedgerError):
    """The copy can't be made here (a package missing, its folder not writable)."""


@dataclass(frozen=True)
class Change:
    """One Parquet segment to write: SQLite rows low < rowid <= high, or one PostgreSQL day
    ("" for rows without a day) that should hold `rows` rows (0: drop it); with `after`,
    only the day's rows with ts > after, added to the segments the day has."""

    file: str
    low: int = 0
    high: int = 0
    high_id: str | None = None
    day: str | None = None
    rows: int = 0
    after: float | None = None


@dataclass(frozen=True)
class HeldDay:
    """What the copy holds of one PostgreSQL day: its rows, and the highest ts among them
    (None where a segment does not say)."""

    rows: int
    ts_high: float | None


class Source(Protocol):
    def plan(
        self, held: list[Any], high: int, high_id: str | None, days: Mapping[str, HeldDay]
    ) -> tuple[list[Any], list[Change], bool]: ...

    def write(self, change: Change, tmp: Path, say: Callable[[str], None]) -> int: ...

    def close(self) -> None: ...


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _duck_type(name: str) -> str:
    kind = column_type(name)
    if kind.startswith("TEXT"):
        return "VARCHAR"
    if kind.startswith("DOUBLE"):
        return "DOUBLE"
    return "BOOLEAN" if kind == "BOOLEAN" else "BIGINT"


def arrow_schema(columns: Iterable[str] = q.READ_COLUMNS) -> Any:
    """The copy's Arrow schema: the ledger's column types (ledger.migrations)."""
    pa = _pyarrow()
    kinds = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_()}
    return pa.schema([(c, kinds.get(_duck_type(c), pa.int64())) for c in columns])


def _pyarrow() -> Any:
    try:
        import pyarrow  # type: ignore[import-untyped]
        import pyarrow.csv  # type: ignore[import-untyped]
        import pyarrow.parquet  # type: ignore[import-untyped]
    except ImportError:
        raise ColumnarUnavailable(
            "pyarrow is not installed (pip install 'unitcost[report]')"
        ) from None
    return pyarrow


def duckdb_connect() -> Any:
    """A DuckDB connection that never fetches an extension at run time."""
    try:
        import duckdb
    except ImportError:
        raise ColumnarUnavailable(
            "duckdb is not installed (pip install 'unitcost[report]')"
        ) from None
    return duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )


def load_sqlite_scanner(conn: Any) -> None:
    """LOAD the sqlite scanner from its wheel (duckdb-extension-sqlite-scanner), by path.
    Raises ColumnarUnavailable when the wheel is missing or built for another DuckDB."""
    import importlib.resources

    import duckdb

    try:
        base = Path(str(importlib.resources.files("duckdb_extension_sqlite_scanner")))
    except ModuleNotFoundError:
        raise ColumnarUnavailable(
            "duckdb's sqlite scanner is not installed (pip install 'unitcost[report]')"
        ) from None
    path = base / "extensions" / f"v{duckdb.__version__}" / "sqlite_scanner.duckdb_extension"
    if not path.is_file():
        built = sorted(p.name for p in (base / "extensions").glob("v*"))
        raise ColumnarUnavailable(
            f"the sqlite scanner wheel is built for duckdb {', '.join(built) or '(none)'}, "
            f"not {duckdb.__version__} (install the versions pinned in unitcost[report])"
        )
    conn.execute(f"LOAD {_quote(path)}")


class _ParquetOut:
    """Arrow batches buffered into row groups of about _ROW_GROUP rows."""

    def __init__(self, path: Path, schema: Any) -> None:
        self.pa = _pyarrow()
        self.writer = self.pa.parquet.ParquetWriter(path, schema)
        self.batches: list[Any] = []
        self.buffered = self.rows = 0

    def add(self, batch: Any) -> None:
        self.batches.append(batch)
        self.buffered += batch.num_rows
        self.rows += batch.num_rows
        if self.buffered >= _ROW_GROUP:
            self.flush()

    def flush(self) -> None:
        if self.batches:
            self.writer.write_table(self.pa.Table.from_batches(self.batches), row_group_size=None)
            self.batches, self.buffered = [], 0

    def close(self) -> int:
        self.flush()
        self.writer.close()
        return self.rows


def _connect_ro(path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, isolation_level=None)


class SQLiteSource:
    """Rows are appended by rowid and never changed: what is new is rowid > the last copied."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn = _connect_ro(path)

    def _one(self, sql: str, args: Iterable[Any] = ()) -> Any:
        row = self.conn.execute(sql, list(args)).fetchone()
        return None if row is None else row[0]

    def plan(
        self, held: list[Any], high: int, high_id: str | None, days: Mapping[str, HeldDay]
    ) -> tuple[list[Any], list[Change], bool]:
        self.conn.execute("BEGIN")  # one snapshot for the checks below
        try:
            version = self._one("SELECT MAX(version) FROM schema_version")
            identity = ["sqlite", version, self._one("SELECT id FROM usage ORDER BY rowid LIMIT 1")]
            top = int(self._one("SELECT MAX(rowid) FROM usage") or 0)
            same = identity == held and high <= top
            if same and high:
                same = self._one("SELECT id FROM usage WHERE rowid = ?", [high]) == high_id
            low = high if same else 0
            if top <= low:
                return identity, [], not same
            top_id = self._one("SELECT id FROM usage WHERE rowid = ?", [top])
        finally:
            self.conn.execute("COMMIT")
        name = f"rows-{low + 1:012d}-{top:012d}.parquet"
        return identity, [Change(name, low, top, top_id)], not same

    def write(self, change: Change, tmp: Path, say: Callable[[str], None]) -> int:
        if change.low == 0 and change.high >= SCAN_MIN_ROWS:
            try:
                return self._scan(change.high, tmp)
            except ColumnarUnavailable as exc:
                say(f"report: {exc}; copying the rows with Python instead (slower)")
        return self._python(change.low, change.high, tmp)

    def _scan(self, high: int, tmp: Path) -> int:
        """Every row with rowid <= high, read by DuckDB on every core. sqlite_scan reads
        the whole table and has no rowid, so rows appended meanwhile are dropped by id."""
        import duckdb

        conn = duckdb_connect()
        whole = tmp.with_suffix(".scan")
        try:
            load_sqlite_scanner(conn)
            cols = ", ".join(f"CAST({c} AS {_duck_type(c)}) AS {c}" for c in q.READ_COLUMNS)
            conn.execute(
                f"COPY (SELECT {cols} FROM sqlite_scan({_quote(self.path)}, 'usage')) "
                f"TO {_quote(whole)} (FORMAT parquet)"
            )
            late = self.conn.execute("SELECT id FROM usage WHERE rowid > ?", [high]).fetchall()
            if late:  # rewrite without them (rare: only when the gateway wrote meanwhile)
                conn.execute("CREATE TEMP TABLE late (id VARCHAR)")
                conn.executemany("INSERT INTO late VALUES (?)", late)
                conn.execute(
                    f"COPY (SELECT * FROM read_parquet({_quote(whole)}) WHERE id NOT IN "
                    f"(SELECT id FROM late)) TO {_quote(tmp)} (FORMAT parquet)"
                )
            else:
                whole.replace(tmp)
            n = int(conn.execute(f"SELECT COUNT(*) FROM read_parquet({_quote(tmp)})").fetchone()[0])
        except duckdb.Error as exc:
            raise ColumnarUnavailable(f"duckdb's sqlite scanner failed ({exc})") from None
        finally:
            conn.close()
            whole.unlink(missing_ok=True)
        if n != high:  # rowids have gaps (rows deleted): make sure none is missing
            held = int(self._one("SELECT COUNT(*) FROM usage WHERE rowid <= ?", [high]))
            if held != n:
                raise ColumnarUnavailable(f"the sqlite scanner read {n:,} rows of {held:,}")
        return n

    def _python(self, low: int, high: int, tmp: Path) -> int:
        pa = _pyarrow()
        schema = arrow_schema()
        bools = [f.type == pa.bool_() for f in schema]
        sql = f"SELECT {', '.join(q.READ_COLUMNS)} FROM usage WHERE rowid > ? AND rowid <= ?"
        out = _ParquetOut(tmp, schema)
        for start in range(low, high, _CHUNK):
            rows = self.conn.execute(sql, [start, min(start + _CHUNK, high)]).fetchall()
            if not rows:
                continue
            arrays = [
                pa.array([None if v is None else bool(v) for v in col] if b else col, f.type)
                for col, f, b in zip(zip(*rows, strict=True), schema, bools, strict=True)
            ]
            out.add(pa.RecordBatch.from_arrays(arrays, schema=schema))
        return out.close()

    def close(self) -> None:
        self.conn.close()


class PostgresSource:
    """No row order to follow: rows per day are counted, and days whose count changed are
    copied again, all in one repeatable-read snapshot. A day that only grew by rows later
    than any held (a gateway appending today's traffic) gets just those: the ledger is
    append-only, so when the rows past the held ts number exactly the growth, they are the
    new rows; any other change re-copies the whole day."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise ColumnarUnavailable(
                "psycopg is not installed (pip install 'unitcost[postgres]')"
            ) from None
        self.conn = psycopg.connect(url)
        self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self.conn.read_only = True
        self.conn.execute("SET extra_float_digits = 1")  # shortest text that reads back exactly

    def plan(
        self, held: list[Any], high: int, high_id: str | None, days: Mapping[str, HeldDay]
    ) -> tuple[list[Any], list[Change], bool]:
        row = self.conn.execute(
            "SELECT (SELECT MAX(version) FROM schema_version), current_database(), c.oid::bigint, "
            "c.relfilenode::bigint FROM pg_class c WHERE c.oid = to_regclass('usage')"
        ).fetchone()
        identity = ["postgresql", *(row or ())]
        rebuild = identity != held
        have = {} if rebuild else dict(days)
        counts = {
            ("" if d is None else d): int(n)
            for d, n in self.conn.execute("SELECT day, COUNT(*) FROM usage GROUP BY day")
        }
        changes = []
        for d, n in sorted(counts.items()):
            kept = have.get(d)
            if kept is not None and kept.rows == n:
                continue
            if kept is not None and d and kept.ts_high is not None and n > kept.rows:
                later = self.conn.execute(
                    "SELECT COUNT(*) FROM usage WHERE day = %s AND ts > %s", (d, kept.ts_high)
                ).fetchone()
                if later is not None and int(later[0]) == n - kept.rows:
                    changes.append(
                        Change(day_file(d), day=d, rows=n - kept.rows, after=kept.ts_high)
                    )
                    continue
            changes.append(Change(day_file(d), day=d, rows=n))
        changes += [Change(day_file(d), day=d) for d in sorted(have) if d not in counts]
        return identity, changes, rebuild

    def write(self, change: Change, tmp: Path, say: Callable[[str], None]) -> int:
        if not change.rows:
            return 0
        from psycopg import sql

        pa = _pyarrow()
        where = (
            sql.SQL("day IS NULL") if change.day == "" else sql.SQL("day = {}").format(change.day)
        )
        if change.after is not None:
            where = sql.SQL("{} AND ts > {}").format(where, change.after)
        copy = sql.SQL("COPY (SELECT {} FROM usage WHERE {}) TO STDOUT (FORMAT csv)").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in q.READ_COLUMNS), where
        )
        raw = tmp.with_suffix(".csv")
        with self.conn.cursor().copy(copy) as cp, raw.open("wb") as f:
            for chunk in cp:
                f.write(chunk)
        schema = arrow_schema()
        try:
            batches = pa.csv.open_csv(
                raw,
                read_options=pa.csv.ReadOptions(column_names=list(q.READ_COLUMNS)),
                parse_options=pa.csv.ParseOptions(newlines_in_values=True),
                convert_options=pa.csv.ConvertOptions(
                    column_types={f.name: f.type for f in schema},
                    null_values=[""],  # PostgreSQL writes NULL as nothing, "" as a quoted ""
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                    true_values=["t"],
                    false_values=["f"],
                ),
            )
            out = _ParquetOut(tmp, schema)
            for batch in batches:
                out.add(batch)
            n = out.close()
        finally:
            raw.unlink(missing_ok=True)
        if n != change.rows:
            raise LedgerError(
                f"columnar copy: day {change.day} read {n} rows, expected {change.rows}"
            )
        return n

    def close(self) -> None:
        self.conn.close()


def day_file(day: str) -> str:
    """A new name for a segment of `day`: a file listed in the manifest is never rewritten,
    so a sync killed half-way leaves the copy as the manifest lists it."""
    return f"day-{day or 'null'}-{uuid.uuid4().hex[:12]}.parquet"


def ts_high(path: Path) -> float | None:
    """The highest ts in a Parquet segment, from its footer's statistics."""
    pf = _pyarrow().parquet.ParquetFile(path)
    column = pf.schema_arrow.get_field_index("ts")
    highs = []
    for i in range(pf.metadata.num_row_groups):
        stats = pf.metadata.row_group(i).column(column).statistics
        if stats is None or not stats.has_min_max:
            return None
        highs.append(float(stats.max))
    return max(highs, default=None)


def open_source(url: str) -> SQLiteSource | PostgresSource:
    if url.startswith("sqlite:///"):
        return SQLiteSource(url.removeprefix("sqlite:///"))
    return PostgresSource(url)
