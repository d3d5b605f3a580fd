"""The ledger: the system of record, one append-only row per upstream call."""

from unitcost.ledger.record import COLUMNS, GROUPS, UsageRecord
from unitcost.ledger.store import PostgresStore, SQLiteStore, Store, open_store
from unitcost.ledger.writer import LedgerWriter

__all__ = [
    "COLUMNS",
    "GROUPS",
    "LedgerWriter",
    "PostgresStore",
    "SQLiteStore",
    "Store",
    "UsageRecord",
    "open_store",
]
