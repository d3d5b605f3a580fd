"""A columnar copy of the ledger, kept beside it and caught up with what is new, so the
report reads tens of millions of rows with DuckDB in seconds.

    reader = open_report_reader("sqlite:///unitcost-ledger.db")   # syncs, then reads the copy
    cells = cube(reader, Period("2026-03-01", "2026-03-31"))       # same SQL, same answers
    reader.close()
    sync("postgresql://127.0.0.1/ledger")     # keep it current between reports (a gateway may)

Why: SQLite and PostgreSQL store rows whole, so each aggregate the report runs reads every
column of every row (SQLite takes ~7 µs a row in one GROUP BY); DuckDB over Parquet reads
only the columns a query names. The copy holds the columns the queries read
(`queries.READ_COLUMNS`) as Parquet segments listed in `manifest.json`, each with its rows
summed into cube cells beside it (`cube-<segment>`, `queries.cube_rollup`), so the report's
widest query reads thousands of cells, not millions of rows. It is a cache of the ledger's
rows, never a record of its own: every figure is still summed from rows, and deleting the
folder costs only a rebuild. A file the manifest lists is never rewritten (new segments get
new names; what the saved manifest no longer lists is deleted), so a killed sync leaves the
copy as its manifest says.

What is new is found without reading old rows. SQLite appends by rowid, so a sync copies the
rows past the last rowid copied. PostgreSQL has no such order, so a sync counts rows per day
(an index-only scan) in one repeatable-read snapshot: a day that grew by exactly the rows
later than any it held (a gateway's ongoing traffic) gets those rows as a new segment, and
any other change re-copies the day, late journal replays included; a day's many segments
are merged back into one. The ledger's identity is checked first (schema version and first
row; on PostgreSQL the table's storage, which TRUNCATE renews): another ledger at the same
URL is copied anew. Both rely on the ledger being append-only.

The first copy of a big SQLite ledger is read by DuckDB's sqlite scanner on every core (the
`duckdb-extension-sqlite-scanner` wheel of the `report` extra, loaded from site-packages,
never downloaded); without it Python reads the rows (slower, said in one line). PostgreSQL
rows come as COPY CSV straight into Arrow.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from unitcost.errors import LedgerError
from unitcost.ledger import queries as q
from unitcost.report.columnar_sources import (
    Change,
    ColumnarUnavailable,
    HeldDay,
    Source,
    arrow_schema,
    day_file,
    duckdb_connect,
    open_source,
    ts_high,
)

__all__ = [
    "ColumnarReader",
    "ColumnarUnavailable",
    "Synced",
    "copy_dir",
    "open_columnar_reader",
    "open_report_reader",
    "sync",
]

FORMAT = 1  # bump when the copy's layout changes: older copies are rebuilt
#: smaller ledgers without a copy are read with their own SQL (well under a second)
COPY_MIN_ROWS = 50_000
_TAIL_SEGMENTS = 8  # more small SQLite segments than this are merged into one
_BIG_SEGMENT = 1_000_000  # rows: a segment this big is never merged again


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


@dataclass
class Segment:
    file: str
    rows: int
    low: int = 0  # SQLite: rowids low < rowid <= high
    high: int = 0
    day: str | None = None  # PostgreSQL: rows of one day (all, or some of its segments')
    ts_high: float | None = None  # PostgreSQL: the segment's highest ts
    cube: str | None = None  # the segment's rows summed into cube cells (queries.cube_rollup)


@dataclass
class Manifest:
    identity: list[Any] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    high: int = 0  # SQLite: the last rowid copied
    high_id: str | None = None  # ... and that row's id, checked before appending
    format: int = FORMAT
    columns: list[str] = field(default_factory=lambda: list(q.READ_COLUMNS))

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            m = cls(**{k: v for k, v in raw.items() if k != "segments"})
            m.segments = [Segment(**s) for s in raw["segments"]]
        except (OSError, ValueError, TypeError, KeyError):
            return cls()  # none yet, or unreadable: a cache, so rebuilt
        return m if m.format == FORMAT and m.columns == list(q.READ_COLUMNS) else cls()

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        os.replace(tmp, path)  # readers see the old list or the new one, never half

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.segments)


@dataclass(frozen=True)
class Synced:
    """What one sync did: rows copied now, rows held in all, and how long it took."""

    directory: Path
    copied: int
    rows: int
    seconds: float
    rebuilt: bool


def _safe_url(url: str) -> str:
    """The URL without a password, for file names and notes."""
    head, sep, rest = url.partition("://")
    if "@" in rest.split("/", 1)[0]:
        creds, _, host = rest.partition("@")
        rest = f"{creds.split(':', 1)[0]}@{host}"
    return f"{head}{sep}{rest}"


def copy_dir(url: str) -> Path:
    """Where the copy of `url` lives: beside a SQLite file (`ledger.db.columnar/`), or under
    $UNITCOST_COLUMNAR_DIR (default ~/.cache/unitcost/columnar) by a hash of the URL."""
    root = os.environ.get("UNITCOST_COLUMNAR_DIR")
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///")).resolve()
        if not root:
            return path.with_name(path.name + ".columnar")
        key = str(path)
    else:
        key = _safe_url(url)
    try:
        base = Path(root) if root else Path.home() / ".cache" / "unitcost" / "columnar"
    except RuntimeError:  # no home folder to be found
        raise ColumnarUnavailable("no folder for the copy: set UNITCOST_COLUMNAR_DIR") from None
    return base / hashlib.sha256(key.encode()).hexdigest()[:16]


@contextmanager
def _locked(directory: Path, exclusive: bool) -> Iterator[None]:
    """One sync at a time, and none while a report reads (a no-op where flock is missing)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def _apply(
    directory: Path, m: Manifest, src: Source, changes: Sequence[Change], say: Callable[[str], None]
) -> int:
    """Write the changes' segments under new names and list them in `m` (the files it no
    longer lists go once it is saved: `_collect`); returns the rows copied."""
    copied = 0
    for ch in changes:
        tmp = directory / f"{ch.file}.tmp"
        n = src.write(ch, tmp, say)
        cube = _write_cube(directory, tmp, ch.file) if n else None
        if ch.day is None:  # SQLite: a new segment of rowids
            m.segments.append(Segment(ch.file, n, ch.low, ch.high, cube=cube))
            m.high, m.high_id = ch.high, ch.high_id
        else:  # PostgreSQL: the day's later rows added, or all its segments replaced
            if ch.after is None:
                m.segments = [s for s in m.segments if s.day != ch.day]
            if n:
                high = ts_high(tmp)
                m.segments.append(Segment(ch.file, n, day=ch.day, ts_high=high, cube=cube))
        if n:
            os.replace(tmp, directory / ch.file)
        else:
            tmp.unlink(missing_ok=True)
        copied += n
    return copied


def _write_cube(directory: Path, segment: Path, name: str) -> str:
    """The segment's cube cells beside it (`cube-<name>`); returns the file's name."""
    cube = f"cube-{name}"
    conn = duckdb_connect()
    try:
        conn.execute(
            f"COPY ({q.cube_rollup(f'read_parquet({_quote(segment)})')}) TO "
            f"{_quote(directory / (cube + '.tmp'))} (FORMAT parquet)"
        )
    finally:
        conn.close()
    os.replace(directory / (cube + ".tmp"), directory / cube)
    return cube


def _ts_high(segments: Sequence[Segment]) -> float | None:
    """The highest ts among the segments; None if any does not say."""
    highs = [s.ts_high for s in segments]
    return None if not highs or None in highs else max(h for h in highs if h is not None)


def _held_days(m: Manifest) -> dict[str, HeldDay]:
    days: dict[str, list[Segment]] = {}
    for s in m.segments:
        if s.day is not None:
            days.setdefault(s.day, []).append(s)
    return {d: HeldDay(sum(s.rows for s in parts), _ts_high(parts)) for d, parts in days.items()}


def _merge(directory: Path, segments: Sequence[Segment], name: str) -> str:
    """The segments' rows as one new segment `name`; returns its cube's file name."""
    listed = ", ".join(_quote(directory / s.file) for s in segments)
    conn = duckdb_connect()
    try:
        conn.execute(
            f"COPY (SELECT * FROM read_parquet([{listed}])) TO "
            f"{_quote(directory / (name + '.tmp'))} (FORMAT parquet)"
        )
    finally:
        conn.close()
    os.replace(directory / (name + ".tmp"), directory / name)
    return _write_cube(directory, directory / name, name)


def _merge_days(directory: Path, m: Manifest) -> bool:
    """A PostgreSQL day appended to by many syncs is merged back into one segment."""
    merged = False
    for day in sorted({s.day for s in m.segments if s.day is not None}):
        parts = [s for s in m.segments if s.day == day]
        if len(parts) <= _TAIL_SEGMENTS:
            continue
        name = day_file(day)
        cube = _merge(directory, parts, name)
        m.segments = [s for s in m.segments if s.day != day]
        rows = sum(s.rows for s in parts)
        m.segments.append(Segment(name, rows, day=day, ts_high=_ts_high(parts), cube=cube))
        merged = True
    return merged


def _merge_tail(directory: Path, m: Manifest) -> bool:
    """Many small segments read slower than a few big ones: once more than _TAIL_SEGMENTS
    small ones follow the last big one, they are merged into one (so a row is rewritten a
    few times on its way into a big segment, not once per sync)."""
    if any(s.day is not None for s in m.segments):
        return _merge_days(directory, m)
    start = len(m.segments)
    while start and m.segments[start - 1].rows < _BIG_SEGMENT:
        start -= 1
    tail = m.segments[start:]
    if len(tail) <= _TAIL_SEGMENTS:
        return False
    name = f"rows-{tail[0].low + 1:012d}-{tail[-1].high:012d}.parquet"
    cube = _merge(directory, tail, name)
    merged = Segment(name, sum(s.rows for s in tail), tail[0].low, tail[-1].high, cube=cube)
    m.segments = [*m.segments[:start], merged]
    return True


def _collect(directory: Path, m: Manifest) -> None:
    """Delete segment files the saved manifest does not list (replaced, merged, or left by
    a sync that was killed before it saved the manifest)."""
    listed = {s.file for s in m.segments} | {s.cube for s in m.segments if s.cube}
    for path in directory.glob("*.parquet*"):
        if path.name not in listed:
            path.unlink(missing_ok=True)


def sync(url: str, directory: Path | None = None, say: Callable[[str], None] = _stderr) -> Synced:
    """Bring the copy of the ledger at `url` up to date; returns what it copied. Safe to run
    from several processes: one syncs while the others wait."""
    started = time.perf_counter()
    directory = directory or copy_dir(url)
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory, exclusive=True):
        manifest_path = directory / "manifest.json"
        m = Manifest.load(manifest_path)
        _collect(directory, m)
        src = open_source(url)
        try:
            identity, changes, rebuild = src.plan(m.identity, m.high, m.high_id, _held_days(m))
            if rebuild:
                m = Manifest(identity=identity)
                m.save(manifest_path)
                _collect(directory, m)
            if changes and m.rows == 0:
                say(f"report: building the columnar copy of {_safe_url(url)} in {directory} (once)")
            copied = _apply(directory, m, src, changes, say)
        finally:
            src.close()
        merged = _merge_tail(directory, m)
        unsummed = [seg for seg in m.segments if seg.cube is None]
        for seg in unsummed:  # copied before segments had cube cells: summed once, now
            seg.cube = _write_cube(directory, directory / seg.file, seg.file)
        if changes or rebuild or merged or unsummed:
            m.save(manifest_path)  # then what it no longer lists goes
            _collect(directory, m)
        return Synced(directory, copied, m.rows, time.perf_counter() - started, rebuild)


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


_DUCK_TYPES = {"string": "VARCHAR", "int64": "BIGINT", "double": "DOUBLE", "bool": "BOOLEAN"}


class ColumnarReader:
    """A `queries.Reader` over the copy: the same SQL, run by DuckDB on the Parquet segments
    the manifest lists. Holds a shared lock, so no sync rewrites them while it reads."""

    dialect: q.Dialect = "duckdb"

    def __init__(self, url: str, directory: Path) -> None:
        self.url = url
        self.directory = directory
        self._lock_cm = _locked(directory, exclusive=False)
        self._lock_cm.__enter__()
        try:
            segments = Manifest.load(directory / "manifest.json").segments
            self.conn = duckdb_connect()
            if segments:
                listed = ", ".join(_quote(directory / s.file) for s in segments)
                self.conn.execute(f"CREATE VIEW usage AS SELECT * FROM read_parquet([{listed}])")
            else:  # an empty ledger: the same columns, no rows
                cols = ", ".join(
                    f"{f.name} {_DUCK_TYPES[str(f.type)]}" for f in arrow_schema(q.READ_COLUMNS)
                )
                self.conn.execute(f"CREATE TABLE usage ({cols})")
            # every segment's cells summed already: queries.cube reads those (a copy made
            # before segments had them reads its rows)
            self.has_cube = bool(segments) and all(s.cube for s in segments)
            if self.has_cube:
                cubes = ", ".join(_quote(directory / str(s.cube)) for s in segments)
                self.conn.execute(
                    f"CREATE VIEW usage_cube AS SELECT * FROM read_parquet([{cubes}])"
                )
        except BaseException:
            self._lock_cm.__exit__(None, None, None)
            raise

    def run(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        import duckdb

        try:
            rows: list[tuple[Any, ...]] = self.conn.execute(sql, list(args)).fetchall()
            return rows
        except duckdb.Error as exc:
            raise LedgerError(f"ledger {self.url} (columnar copy): query failed ({exc})") from None

    def close(self) -> None:
        with suppress(Exception):
            self.conn.close()
        self._lock_cm.__exit__(None, None, None)


def _failures() -> tuple[type[BaseException], ...]:
    """What making the copy may raise that reading the ledger by SQL would survive."""
    import sqlite3

    kinds: list[type[BaseException]] = [OSError, sqlite3.Error]
    for module, name in (("psycopg", "Error"), ("duckdb", "Error"), ("pyarrow", "ArrowException")):
        with suppress(ImportError, AttributeError):
            kinds.append(getattr(__import__(module), name))
    return tuple(kinds)


def open_columnar_reader(url: str, say: Callable[[str], None] = _stderr) -> ColumnarReader:
    """Sync the copy of `url`, then read it. Raises ColumnarUnavailable when it can't."""
    try:
        synced = sync(url, say=say)
        return ColumnarReader(url, synced.directory)
    except ColumnarUnavailable:
        raise
    except OSError as exc:
        raise ColumnarUnavailable(f"cannot write {copy_dir(url)}: {exc.strerror or exc}") from None
    except _failures() as exc:
        raise ColumnarUnavailable(f"the columnar copy failed ({exc})") from None


def open_report_reader(url: str, say: Callable[[str], None] = _stderr) -> q.Reader:
    """The fastest reader the ledger allows: its columnar copy (synced first) for SQLite and
    PostgreSQL ledgers that have one or reach COPY_MIN_ROWS rows, else the store's own SQL
    (said in one line when a copy was wanted). UNITCOST_COLUMNAR=off skips the copy."""
    direct = q.open_reader(url)  # bad URLs and missing ledgers fail here, as they always did
    if direct.dialect == "duckdb" or url == "sqlite:///:memory:":
        return direct
    if os.environ.get("UNITCOST_COLUMNAR", "").lower() in ("off", "0", "no"):
        return direct
    bounded = f"SELECT COUNT(*) FROM (SELECT 1 FROM usage LIMIT {int(COPY_MIN_ROWS)}) AS t"
    try:
        held = (copy_dir(url) / "manifest.json").exists()
        if not held and int(direct.run(bounded)[0][0]) < COPY_MIN_ROWS:
            return direct
        reader = open_columnar_reader(url, say)
    except ColumnarUnavailable as exc:
        say(f"report: {exc}; reading {_safe_url(url)} with its own SQL (slow past ~1M rows)")
        return direct
    direct.close()
    return reader
