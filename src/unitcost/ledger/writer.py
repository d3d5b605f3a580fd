"""Batched, off-the-request-path ledger writes.

    writer = LedgerWriter(store)      # starts a daemon thread
    writer.append(record)             # O(1) on the request path: a queue put
    writer.seal(segment)              # delete this journal segment once its rows are stored
    await writer.flush()              # everything appended so far is in the store
    writer.close()                    # flush and stop (SIGTERM path); True if all stored

A batch that fails to write is kept and retried; nothing appended is dropped. The rows are
already durable in the journal (ledger/journal.py) when they reach the writer, so the writer
may lag behind a busy CPU without losing anything: it runs a little below normal priority
(nice +5), never at SCHED_IDLE, which starved it for seconds under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import threading
import time
from pathlib import Path

from unitcost.ledger.record import UsageRecord
from unitcost.ledger.store import Store

__all__ = ["LedgerWriter"]

log = logging.getLogger("unitcost.ledger")

WRITER_NICE = 5


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


class _Sealed:
    def __init__(self, path: Path) -> None:
        self.path = path


class LedgerWriter:
    def __init__(
        self,
        store: Store,
        batch_size: int = 512,
        interval_s: float = 0.05,
        spill_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.spill_dir = spill_dir  # None: the journal keeps unstored rows instead
        self.written = 0
        self.unstored = 0  # rows the store refused at shutdown
        self._queue: queue.SimpleQueue[UsageRecord | _Flush | _Sealed | None] = queue.SimpleQueue()
        self._wake = threading.Event()  # flush, seal and close: don't wait out the interval
        self._thread = threading.Thread(target=self._run, name="unitcost-ledger", daemon=True)
        self._thread.start()

    def append(self, record: UsageRecord) -> None:
        self._queue.put(record)  # no wake-up: the writer drains the queue once per interval

    def seal(self, segment: Path) -> None:
        self._queue.put(_Sealed(segment))
        self._wake.set()

    def flush_sync(self, timeout: float | None = None) -> bool:
        marker = _Flush()
        self._queue.put(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    async def flush(self, timeout: float | None = 10.0) -> bool:
        return await asyncio.to_thread(self.flush_sync, timeout)

    def close(self) -> bool:
        """Flush and stop; True when every appended row is in the store."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._wake.set()
            self._thread.join()
        self.store.close()
        return self.unstored == 0

    def _run(self) -> None:
        # Why drain once per interval instead of a blocking get per row: every wake-up of
        # this thread takes the GIL from the event loop; per row, that cost more CPU than
        # writing the row (measured with py-spy under load).
        with contextlib.suppress(OSError, AttributeError):  # not permitted, or not Linux
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICE)
        pending: list[UsageRecord] = []
        markers: list[_Flush | _Sealed] = []
        stop = False
        while not stop:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            more = False  # the queue may hold more: go round again without waiting
            while not markers:
                if len(pending) >= self.batch_size:
                    more = True
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                if isinstance(item, UsageRecord):
                    pending.append(item)
                else:
                    markers.append(item)  # honoured once every row before it is written
                    more = True
            if pending:
                pending = self._write(pending, final=stop)
            if not pending:
                for marker in markers:
                    if isinstance(marker, _Flush):
                        marker.done.set()
                    else:
                        marker.path.unlink(missing_ok=True)
                markers.clear()
            if more:
                self._wake.set()

    def _write(self, batch: list[UsageRecord], final: bool) -> list[UsageRecord]:
        for attempt in range(5 if final else 1):
            try:
                self.store.append(batch)
                self.written += len(batch)
                return []
            except Exception as exc:  # keep the batch and try again; never drop records
                log.error("ledger write of %d records failed (%s); will retry", len(batch), exc)
                time.sleep(min(1.0, 0.1 * 2**attempt))
        if not final:
            return batch
        self.unstored += len(batch)
        if self.spill_dir is None:
            log.error(
                "ledger unreachable at shutdown; %d rows stay in the journal and are "
                "written at the next start-up",
                len(batch),
            )
            return []
        path = self.spill_dir / f"unitcost-ledger-unsaved-{int(time.time())}.jsonl"
        with path.open("a", encoding="utf-8") as f:
            for record in batch:
                f.write(json.dumps(record.to_dict()) + "\n")
        log.error("ledger unreachable at shutdown; %d records saved to %s", len(batch), path)
        return []
