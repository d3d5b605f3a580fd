"""LiveCube: a refresh adds only the rows appended since the last one, and agrees with a
fresh cube over the whole ledger."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from unitcost.ledger import queries as q
from unitcost.ledger.store import open_store
from unitcost.report.live import LiveCube

from .ledger_fixture import ROWS, TOTAL_NANOS, make_ledger


def test_refresh_reads_new_rows_exactly(tmp_path: Path) -> None:
    url = make_ledger(tmp_path)
    live = LiveCube(url, ttl=0.0)
    try:
        assert sum(c.cost_nanos for c in live.cells()) == TOTAL_NANOS
        generation = live.generation
        live.cells()
        assert live.generation == generation  # nothing appended, nothing re-read
        store = open_store(url)
        try:
            store.append([replace(ROWS[0], id="late-1"), replace(ROWS[6], id="late-2")])
        finally:
            store.close()
        cells = live.cells()
        assert live.generation == generation + 1
        assert sum(c.cost_nanos for c in cells) == TOTAL_NANOS + 2_820_000 + 8_000_000
        reader = q.open_reader(url)
        try:
            fresh = {
                (c.day, c.tenant, c.feature, c.cohort, c.deployment, c.requested, c.status): c
                for c in q.cube(reader)
            }
        finally:
            reader.close()
        held = {
            (c.day, c.tenant, c.feature, c.cohort, c.deployment, c.requested, c.status): c
            for c in cells
        }
        assert held == fresh
    finally:
        live.close()
