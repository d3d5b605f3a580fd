"""Open a row per call, and record it (journal, ledger, metrics) before the last byte.

    recorder = Recorder(writer, metrics, journal)
    row = recorder.open_row(x, dep, reason, hold)   # journals an intent: charged if we die
    recorder.record(row, x)                          # durable now; stored in the next batch
    recorder.reject(x, exc, deployment)              # a zero-cost row for a refused request

With the journal on, `record` returns once the row is in the kernel (or on disk with
`ledger.fsync`); the ledger store gets it from the batch writer moments later.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from unitcost.errors import InputError, UnitcostError
from unitcost.gateway.exchange import Exchange
from unitcost.gateway.limits import Hold
from unitcost.gateway.metrics import GatewayMetrics
from unitcost.gateway.portfolio import Deployment
from unitcost.gateway.stages.guard import mark_row
from unitcost.ledger.journal import Journal
from unitcost.ledger.record import RowStatus, UsageRecord, new_id
from unitcost.ledger.writer import LedgerWriter

__all__ = ["Recorder"]


class Recorder:
    def __init__(
        self, writer: LedgerWriter, metrics: GatewayMetrics, journal: Journal | None
    ) -> None:
        self.writer = writer
        self.metrics = metrics
        self.journal = journal
        #: called with every recorded row (e.g. workload classes' measured latency)
        self.observers: list[Callable[[UsageRecord], None]] = []
        if journal is not None:
            journal.on_sealed = writer.seal

    def _row(self, x: Exchange, deployment: str, status: str, http_status: int) -> UsageRecord:
        principal = x.principal
        return UsageRecord(
            id=new_id(),
            request_id=x.request_id,
            ts=x.ts,
            tenant=x.tenant,
            endpoint=x.endpoint,
            requested=x.requested,
            deployment=deployment,
            status=status,
            http_status=http_status,
            stream=x.stream,
            feature=x.tags.get("feature"),
            cohort=x.tags.get("cohort"),
            end_user=x.tags.get("end_user"),
            key_id=principal.key_id if principal is not None else None,
            workload_class=x.workload_class,
        )

    def open_row(self, x: Exchange, dep: Deployment, reason: str | None, hold: Hold) -> UsageRecord:
        row = self._row(x, dep.name, RowStatus.OK, 200)
        row.id = hold.id  # one id for the call's hold and its row (budget rebuilds match them)
        row.ts = time.time()  # when this call started: a fallback's rows sort in call order
        row.price_origin, row.route_reason, row.hold_micros = dep.card.origin, reason, hold.micros
        mark_row(x, row)
        if self.journal is not None:
            self.journal.intent(row)
        return row

    def record(self, row: UsageRecord, x: Exchange) -> None:
        row.latency_ms = x.elapsed_ms()
        if self.journal is not None:
            self.journal.done(row)
        self.writer.append(row)
        if self.journal is not None:
            self.journal.maybe_roll()
        self.metrics.observe(row)
        for observe in self.observers:
            observe(row)

    def reject(self, x: Exchange, exc: UnitcostError, deployment: str = "") -> None:
        """Count every refusal; a tenant we know also gets a zero-cost row saying why."""
        self.metrics.observe_rejection(
            x.tenant if x.principal else None, exc.status_code, exc.code or exc.error_type
        )
        if x.principal is None or x.principal.admin:
            return
        row = self._row(x, deployment or x.requested, RowStatus.REJECTED, exc.status_code)
        row.error = _reason(exc)
        mark_row(x, row)
        row.latency_ms = (time.perf_counter() - x.started) * 1000.0
        if self.journal is not None:
            self.journal.done(row)
        self.writer.append(row)


def _reason(exc: UnitcostError) -> str:
    """Why a request was refused, for the ledger. Input errors keep only the field they name:
    their messages may quote what the client sent, and that can be anything."""
    kind = exc.code or exc.error_type
    if isinstance(exc, InputError):
        return f"{kind}: {exc.param}" if exc.param else kind
    return f"{kind}: {exc.message}"[:300]
