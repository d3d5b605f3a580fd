"""Batched, off-the-request-path ledger writes.

    writer = LedgerWriter(store)      # starts a daemon thread
    writer.append(record)             # O(1) on the request path: a queue put
    await writer.flush()              # everything appended so far is in the store
    writer.close()                    # flush and stop (SIGTERM path)

A batch that fails to write is kept and retried; nothing appended is dropped.
"""

from __future__ import annotations

import asyncio
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


class _Priority:
    """Writes run when the CPU is otherwise idle (Linux SCHED_IDLE), so a batch never
    delays a request on a busy core; a backlog restores normal priority until it drains."""

    def __init__(self) -> None:
        self.idle: bool | None = None

    def set(self, idle: bool) -> None:
        if idle == self.idle or not hasattr(os, "SCHED_IDLE"):
            return
        try:
            policy = os.SCHED_IDLE if idle else os.SCHED_OTHER
            os.sched_setscheduler(0, policy, os.sched_param(0))  # 0: this thread (Linux)
            self.idle = idle
        except OSError:
            self.idle = idle  # not permitted here; stay at normal priority


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


class LedgerWriter:
    def __init__(self, store: Store, batch_size: int = 512, interval_s: float = 0.05) -> None:
        self.store = store
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.written = 0
        self._queue: queue.SimpleQueue[UsageRecord | _Flush | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="unitcost-ledger", daemon=True)
        self._thread.start()

    def append(self, record: UsageRecord) -> None:
        self._queue.put(record)

    def flush_sync(self, timeout: float | None = None) -> bool:
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout)

    async def flush(self, timeout: float | None = 10.0) -> bool:
        return await asyncio.to_thread(self.flush_sync, timeout)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self.store.close()

    def _run(self) -> None:
        background = _Priority()
        pending: list[UsageRecord] = []
        markers: list[_Flush] = []
        stop = False
        while not stop:
            deadline = time.monotonic() + self.interval_s
            while len(pending) < self.batch_size:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                if isinstance(item, _Flush):
                    markers.append(item)
                    break
                pending.append(item)
            background.set(idle=self._queue.qsize() < 4 * self.batch_size and not stop)
            if pending:
                pending = self._write(pending, final=stop)
            if not pending:
                for marker in markers:
                    marker.done.set()
                markers.clear()

    def _write(self, batch: list[UsageRecord], final: bool) -> list[UsageRecord]:
        for attempt in range(5 if final else 1):
            try:
                self.store.append(batch)
                self.written += len(batch)
                return []
            except Exception as exc:  # keep the batch and try again; never drop records
                log.error("ledger write of %d records failed (%s); will retry", len(batch), exc)
                time.sleep(min(1.0, 0.1 * 2**attempt))
        if final:  # the store is gone at shutdown: keep the rows on disk instead
            path = Path(f"unitcost-ledger-unsaved-{int(time.time())}.jsonl")
            with path.open("a", encoding="utf-8") as f:
                for record in batch:
                    f.write(json.dumps(record.to_dict()) + "\n")
            log.error("ledger unreachable at shutdown; %d records saved to %s", len(batch), path)
            return []
        return batch
