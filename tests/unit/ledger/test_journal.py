"""The journal: rows survive the process being killed; recovery is exact and idempotent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from unitcost.ledger import journal as journal_module
from unitcost.ledger.journal import Journal, read_segments, recover
from unitcost.ledger.record import RowStatus, UsageRecord
from unitcost.ledger.store import open_store


def row(status: str = "ok", hold: int = 0, cost: int = 0) -> UsageRecord:
    return UsageRecord(
        id=uuid.uuid4().hex,
        request_id=uuid.uuid4().hex,
        ts=1_796_000_000.0,
        tenant="acme",
        endpoint="chat/completions",
        requested="m",
        deployment="d",
        status=status,
        http_status=200,
        hold_micros=hold,
        cost_nanos=cost,
    )


KILLED = """
import os, signal, sys, uuid
from pathlib import Path
from unitcost.ledger.journal import Journal
from unitcost.ledger.record import UsageRecord
journal = Journal.open(Path(sys.argv[1]))
def row(i, hold):
    return UsageRecord(id=f"call-{i}", request_id=f"req-{i}", ts=1796000000.0 + i,
                       tenant="acme", endpoint="chat/completions", requested="m",
                       deployment="d", status="ok", http_status=200, hold_micros=hold)
for i in range(5):
    r = row(i, 1000 + i)
    journal.intent(r)
    if i < 3:                      # three finished, two still in flight
        r.cost_nanos = 700_000
        journal.done(r)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_rows_of_a_killed_process_are_recovered_once(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLED), str(directory)])
    assert done.returncode == -signal.SIGKILL
    store = open_store(f"sqlite:///{tmp_path}/ledger.db")
    assert recover(directory, store) == 5
    rows = {r.id: r for r in store.records()}
    assert {rows[f"call-{i}"].status for i in range(3)} == {"ok"}
    assert rows["call-0"].cost_nanos == 700_000
    interrupted = [rows["call-3"], rows["call-4"]]
    assert {r.status for r in interrupted} == {RowStatus.INTERRUPTED}
    assert [r.cost_nanos for r in interrupted] == [1_003_000, 1_004_000]  # charged at the hold
    assert list(directory.glob("*")) == []  # recovered journals are deleted
    assert recover(directory, store) == 0
    assert len(store.records()) == 5


def test_the_journal_of_a_live_process_is_left_alone(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    journal = Journal.open(directory)
    journal.intent(row(hold=5))
    store = open_store(f"sqlite:///{tmp_path}/ledger.db")
    assert recover(directory, store) == 0 and store.records() == []
    journal.close()
    assert list(directory.glob("*")) == []


def test_rows_already_in_the_store_are_not_written_twice(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    journal = Journal.open(directory)
    r = row(cost=42)
    journal.intent(r)
    journal.done(r)
    store = open_store(f"sqlite:///{tmp_path}/ledger.db")
    store.append([r])
    journal.close(stored=False)  # as after a crash: the segments stay
    assert recover(directory, store) == 0
    assert [x.id for x in store.records()] == [r.id]


def test_a_rolled_segment_carries_calls_in_flight(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    journal = Journal(directory, "owner", segment_bytes=1)
    sealed: list[Path] = []
    journal.on_sealed = sealed.append
    waiting = row(hold=9)
    journal.intent(waiting)
    finished = row(cost=1)
    journal.intent(finished)
    journal.done(finished)
    journal.maybe_roll()
    assert len(sealed) == 1
    for path in sealed:  # the writer deletes a sealed segment once its rows are stored
        path.unlink()
    rows = read_segments(sorted(directory.glob("owner.*.jsonl")))
    assert [(r.id, r.status) for r in rows] == [(waiting.id, RowStatus.INTERRUPTED)]


def test_a_line_cut_short_by_the_crash_is_skipped(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    journal = Journal(directory, "owner")
    r = row(cost=3)
    journal.done(r)
    at = journal._size
    journal._map[at : at + 13] = b'r{"id": "half'  # the copy into the map, cut short
    journal._map.flush()
    os.close(journal._fd)  # as if killed: no clean close
    rows = read_segments([directory / "owner.000000.jsonl"])
    assert [x.id for x in rows] == [r.id]


def test_a_segment_never_closed_is_read_up_to_its_unwritten_tail(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    journal = Journal(directory, "owner")
    rows = [row(cost=i) for i in range(3)]
    for r in rows:
        journal.done(r)
    segment = directory / "owner.000000.jsonl"
    assert segment.stat().st_size > journal._size  # allocated ahead, NUL bytes after the lines
    assert [x.id for x in read_segments([segment])] == [r.id for r in rows]


def test_a_sealed_segment_keeps_only_its_lines(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    journal = Journal(directory, "owner", segment_bytes=1)
    sealed: list[Path] = []
    journal.on_sealed = sealed.append
    journal.done(row(cost=1))
    written = journal._size
    journal.maybe_roll()
    assert [p.stat().st_size for p in sealed] == [written]


def test_a_line_longer_than_the_headroom_rolls_and_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "_HEADROOM", 64)
    directory = tmp_path / "journal"
    journal = Journal(directory, "owner", segment_bytes=2000)  # room for an intent line
    sealed: list[Path] = []
    journal.on_sealed = sealed.append
    waiting, big = row(hold=5), row(cost=2)
    big.route_reason = "x" * 10_000  # bigger than the whole segment
    journal.intent(waiting)
    journal.done(big)
    assert len(sealed) == 1  # rolled before the big line, which went into a segment of its own
    rows = read_segments(sorted(directory.glob("owner.*.jsonl")))
    assert {(r.id, r.status) for r in rows} == {
        (big.id, RowStatus.OK),
        (waiting.id, RowStatus.INTERRUPTED),
    }
