"""A local append-only journal: every row is durable before the client's last byte.

    journal = Journal.open(Path("ledger.db.journal"))   # one per process, locked
    journal.intent(row)     # before the upstream call: what it costs if we die now (its hold)
    journal.done(row)       # the finished row, before the final byte goes to the client
    rows = recover(Path("ledger.db.journal"), store)    # at start-up: what dead processes left

Each process writes its own segment files (`<owner>.<n>.jsonl`) through a shared memory map:
a line is in the kernel's page cache once the copy returns, so it survives the process
being killed (SIGKILL included), as a `write()` would, but without a system call. A
`write()` releases the GIL, and under load the ledger writer's thread took it at each one.
`fsync=True` also survives a power cut, at the price of a disk flush (`msync`) per line.
A process holds an exclusive lock on `<owner>.lock` while it lives, so recovery touches
only the journals of processes that are gone: their finished rows are written to the store
(idempotently, by id) and their intents without a finished row become `interrupted` rows
charged at their hold. Segments roll over at `segment_bytes`; the writer deletes a segment
once every row in it is in the store.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import threading
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import orjson

from unitcost.ledger.record import RowStatus, UsageRecord

__all__ = ["Journal", "read_segments", "recover"]

log = logging.getLogger("unitcost.ledger")

_FIELDS = {f.name for f in fields(UsageRecord)}
_INTENT, _DONE = b"i", b"r"
_HEADROOM = 4 << 20


class Journal:
    def __init__(
        self, directory: Path, owner: str, segment_bytes: int = 8 << 20, fsync: bool = False
    ) -> None:
        self.directory = directory
        self.owner = owner
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(directory / f"{owner}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until we exit
        self._mutex = threading.Lock()
        self._seq = 0
        self._size = 0
        self._open: dict[str, bytes] = {}  # call id → its intent line, until done
        self._fd, self._map = self._new_segment()
        #: called with a sealed segment's path; the writer deletes it once it is stored
        self.on_sealed: Any = None

    @classmethod
    def open(cls, directory: Path, fsync: bool = False) -> Journal:
        owner = f"{os.getpid()}-{os.urandom(4).hex()}"
        return cls(directory, owner, fsync=fsync)

    def _segment(self, seq: int) -> Path:
        return self.directory / f"{self.owner}.{seq:06d}.jsonl"

    def _new_segment(self, at_least: int = 0) -> tuple[int, mmap.mmap]:
        """A file allocated and mapped whole, with room beyond the roll-over size for the lines
        written between a segment filling up and `maybe_roll` (intents of calls in flight).
        Its unwritten tail reads as NUL bytes, which recovery strips."""
        fd = os.open(self._segment(self._seq), os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o600)
        capacity = max(self.segment_bytes + max(self.segment_bytes, _HEADROOM), at_least)
        # allocated now, not as pages are first written: a full disk is an OSError here
        # instead of a SIGBUS in the middle of a request (macOS has no posix_fallocate)
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fd, 0, capacity)
        else:
            os.ftruncate(fd, capacity)
        self._size = 0
        return fd, mmap.mmap(fd, capacity)

    def _write(self, line: bytes) -> None:
        end = self._size + len(line)
        if end > len(self._map):
            # Only a line bigger than the headroom gets here. Rolling before writing it is
            # safe: every finished row in the segment being sealed is already with the writer.
            self._roll(at_least=len(line))
            end = self._size + len(line)
        self._map[self._size : end] = line
        if self.fsync:  # msync of the pages this line touched
            start = self._size - self._size % mmap.PAGESIZE
            self._map.flush(start, end - start)
        self._size = end

    def intent(self, row: UsageRecord) -> None:
        line = _INTENT + orjson.dumps(row) + b"\n"  # orjson reads the dataclass itself
        with self._mutex:
            self._write(line)
            self._open[row.id] = line

    def done(self, row: UsageRecord) -> None:
        """Journal a finished row."""
        line = _DONE + orjson.dumps(row) + b"\n"
        with self._mutex:
            self._write(line)
            self._open.pop(row.id, None)

    def maybe_roll(self) -> None:
        """Start a new segment once this one is full; calls still in flight carry their
        intents into it. Called after the last row journaled has been handed to the writer,
        so the sealed segment's marker queues behind every row in it."""
        with self._mutex:
            if self._size >= self.segment_bytes:
                self._roll()

    def _close_segment(self) -> None:
        self._map.close()
        os.ftruncate(self._fd, self._size)  # a sealed segment keeps only what was written
        os.close(self._fd)

    def _roll(self, at_least: int = 0) -> None:
        self._close_segment()
        sealed = self._segment(self._seq)
        self._seq += 1
        carried = sum(len(line) for line in self._open.values())
        self._fd, self._map = self._new_segment(carried + at_least)
        for line in self._open.values():
            self._write(line)
        if self.on_sealed is not None:
            self.on_sealed(sealed)

    def close(self, stored: bool = True) -> None:
        """At a clean shutdown every row is in the store (`stored`): nothing is left to
        recover. Otherwise the segments stay for the next start-up to replay."""
        with self._mutex:
            self._close_segment()
            if not stored:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
                return
            for seq in range(self._seq + 1):
                self._segment(seq).unlink(missing_ok=True)
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            (self.directory / f"{self.owner}.lock").unlink(missing_ok=True)


def _parse(line: bytes) -> tuple[bytes, UsageRecord] | None:
    kind, payload = line[:1], line[1:]
    try:
        values = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None  # a line cut short by the crash itself: nothing the client saw
    if kind not in (_INTENT, _DONE) or not isinstance(values, dict):
        return None
    try:
        return kind, UsageRecord(**{k: v for k, v in values.items() if k in _FIELDS})
    except TypeError:
        return None


def read_segments(paths: list[Path]) -> list[UsageRecord]:
    """The rows a dead process's journal stands for: finished rows, and for every intent
    with no finished row, an `interrupted` row charged at its hold."""
    done: dict[str, UsageRecord] = {}
    intents: dict[str, UsageRecord] = {}
    for path in paths:
        # a segment its process never closed ends in the map's unwritten NUL bytes
        for line in path.read_bytes().rstrip(b"\0").split(b"\n"):
            parsed = _parse(line)
            if parsed is None:
                continue
            kind, row = parsed
            (done if kind == _DONE else intents)[row.id] = row
    rows = list(done.values())
    for call_id, row in intents.items():
        if call_id in done:
            continue
        row.status = RowStatus.INTERRUPTED
        row.http_status = 0
        row.error = "the gateway stopped while this call was in flight; charged at its hold"
        row.cost_nanos = row.hold_micros * 1000
        rows.append(row)
    return rows


def _orphans(directory: Path) -> Iterator[tuple[Path, list[Path]]]:
    """(lock file, segments) of every journal whose process is gone."""
    for lock in sorted(directory.glob("*.lock")):
        owner = lock.name.removesuffix(".lock")
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # its process is alive
        try:
            yield lock, sorted(directory.glob(f"{owner}.*.jsonl"))
        finally:
            os.close(fd)
    # segments whose lock file is gone (a crash between unlinks at shutdown)
    owners = {p.name.removesuffix(".lock") for p in directory.glob("*.lock")}
    stray = [p for p in directory.glob("*.jsonl") if p.name.split(".")[0] not in owners]
    if stray:
        yield directory / "(stray).lock", sorted(stray)


def recover(directory: Path, store: Any) -> int:
    """Write what dead processes' journals hold into the store, then delete them. Returns
    the number of rows the store did not have yet."""
    if not directory.is_dir():
        return 0
    added = 0
    for lock, segments in _orphans(directory):  # each yielded while its lock is held
        rows = read_segments(segments)
        if rows:
            have = store.ids([r.id for r in rows])
            missing = [r for r in rows if r.id not in have]
            store.append(missing)
            added += len(missing)
            interrupted = sum(1 for r in missing if r.status == RowStatus.INTERRUPTED)
            log.warning(
                "recovered %d ledger rows (%d interrupted calls) from the journal of a "
                "gateway process that stopped without flushing",
                len(missing),
                interrupted,
            )
        for path in segments:
            path.unlink(missing_ok=True)
        lock.unlink(missing_ok=True)
    return added
