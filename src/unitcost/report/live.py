"""The dashboard's view of the ledger: the report's cube, kept current cheaply.

    live = LiveCube("sqlite:///unitcost-ledger.db")
    cells = live.cells()      # refreshed at most every `ttl` seconds

On SQLite the ledger is append-only by rowid, so a refresh reads only the rows appended
since the last one and adds them into the cells it holds: exact, and as cheap as the new
rows. On PostgreSQL and Parquet a refresh re-reads the last day it has seen onwards (the
`usage_day` index), and the whole ledger again every `rebuild_s`, which also catches rows
written late for older days (a replayed journal). The cells are a cache of the ledger's
sums, rebuilt from it at start; never a record of their own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import fields, replace

from unitcost.ledger.queries import CUBE_KEYS, Cell, Period, Reader, cube, max_rowid, open_reader

__all__ = ["LiveCube"]

_SUMS = [f.name for f in fields(Cell) if f.name not in CUBE_KEYS]


def _key(c: Cell) -> tuple[object, ...]:
    return tuple(getattr(c, k) for k in CUBE_KEYS)


def _add(a: Cell, b: Cell) -> Cell:
    return replace(a, **{n: getattr(a, n) + getattr(b, n) for n in _SUMS})


class LiveCube:
    def __init__(
        self,
        ledger: str | Callable[[], Reader],
        ttl: float = 2.0,
        rebuild_s: float = 600.0,
    ) -> None:
        if isinstance(ledger, str):
            url = ledger

            def _open() -> Reader:
                return open_reader(url)

            self._open: Callable[[], Reader] = _open
        else:
            self._open = ledger
        self.ttl, self.rebuild_s = ttl, rebuild_s
        self._lock = threading.Lock()
        self._reader: Reader | None = None
        self._cells: dict[tuple[object, ...], Cell] = {}
        self._rowid: int | None = None
        self._fresh_at = self._built_at = float("-inf")
        self.generation = 0  # bumps whenever the cells change: a cache key for answers

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            self._reader = self._open()
        return self._reader

    def cells(self) -> list[Cell]:
        with self._lock:
            now = time.monotonic()
            if now - self._fresh_at >= self.ttl:
                self._refresh(now)
                self._fresh_at = now
            return list(self._cells.values())

    def _refresh(self, now: float) -> None:
        r = self.reader
        high = max_rowid(r)
        if now - self._built_at >= self.rebuild_s or (high is None) != (self._rowid is None):
            self._cells = {_key(c): c for c in cube(r)}
            self._rowid, self._built_at = high, now
            self.generation += 1
            return
        if high is not None and self._rowid is not None:
            if high == self._rowid:
                return
            for c in cube(r, rowids=(self._rowid, high)):
                k = _key(c)
                self._cells[k] = _add(self._cells[k], c) if k in self._cells else c
            self._rowid = high
            self.generation += 1
            return
        last = max((c.day for c in self._cells.values()), default=None)
        recent = cube(r, Period(since=last)) if last else cube(r)
        self._cells = {k: c for k, c in self._cells.items() if last is None or c.day < last}
        self._cells.update({_key(c): c for c in recent})
        self.generation += 1

    def close(self) -> None:
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
