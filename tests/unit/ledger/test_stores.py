"""Both ledger stores, against real SQLite and a real PostgreSQL on 127.0.0.1."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from unitcost.errors import InputError
from unitcost.ledger.migrations import SCHEMA_VERSION
from unitcost.ledger.record import UsageRecord, usd_to_nanos
from unitcost.ledger.store import Store, open_store
from unitcost.ledger.writer import LedgerWriter

DAY1 = time.mktime(time.strptime("2026-11-01 12:00", "%Y-%m-%d %H:%M")) - time.timezone
DAY2 = DAY1 + 86400


def record(
    tenant: str, feature: str | None, ts: float, cost: float, status: str = "ok", **kw: object
) -> UsageRecord:
    return UsageRecord(
        id=uuid.uuid4().hex,
        request_id=uuid.uuid4().hex,
        ts=ts,
        tenant=tenant,
        endpoint="chat/completions",
        requested="m",
        deployment="d",
        status=status,
        http_status=200,
        feature=feature,
        prompt_tokens=100,
        completion_tokens=10,
        cost_nanos=usd_to_nanos(cost),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path}/ledger.db")
        yield s
        s.close()
        return
    import psycopg

    name = f"unitcost_test_{uuid.uuid4().hex[:10]}"
    admin = os.environ.get(
        "UNITCOST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    s = open_store(admin.rsplit("/", 1)[0] + f"/{name}")
    yield s
    s.close()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name}")  # type: ignore[arg-type]


def test_totals_group_by_tenant_feature_and_day(store: Store) -> None:
    store.append(
        [
            record("acme", "chat", DAY1, 0.01),
            record("acme", "chat", DAY2, 0.02),
            record("acme", None, DAY2, 0.04, status="upstream_error"),
            record("globex", "chat", DAY1, 0.5, cached_tokens=40),
        ]
    )
    rows = store.usage(["tenant", "day"])
    assert [(r["tenant"], r["day"], r["requests"]) for r in rows] == [
        ("acme", "2026-11-01", 1),
        ("acme", "2026-11-02", 2),
        ("globex", "2026-11-01", 1),
    ]
    acme_day2 = rows[1]
    assert acme_day2["errors"] == 1 and acme_day2["prompt_tokens"] == 200
    assert acme_day2["cost_usd"] == pytest.approx(0.06)
    # a column named many times groups once (2,000 repeats made SQLite refuse the query)
    assert store.usage(["tenant", "day"] * 1000) == rows
    by_feature = store.usage(["feature"], tenant="acme")
    assert [(r["feature"], r["requests"]) for r in by_feature] in (
        [(None, 1), ("chat", 2)],
        [("chat", 2), (None, 1)],
    )
    assert store.usage([], since="2026-11-02") == [
        pytest.approx(
            {
                "requests": 2,
                "errors": 1,
                "rejected": 0,
                "prompt_tokens": 200,
                "cached_tokens": 0,
                "cache_write_tokens": 0,
                "completion_tokens": 20,
                "reasoning_tokens": 0,
                "estimated": 0,
                "cost_nanos": 60_000_000,
                "saving_nanos": 0,
                "cost_usd": 0.06,
                "saving_usd": 0.0,
            }
        )
    ]
    assert store.usage(["tenant"], tenant="nobody") == []


def test_appends_are_idempotent_by_id_and_records_round_trip(store: Store) -> None:
    r = record("acme", "chat", DAY1, 0.01, tokens_estimated=True, stream=True, ttft_ms=12.5)
    store.append([r])
    store.append([r])
    (back,) = store.records(request_id=r.request_id)
    assert back == r


def test_spend_for_budgets_can_leave_out_named_calls(store: Store) -> None:
    rows = [record("acme", "chat", DAY1, 0.01), record("acme", "chat", DAY2, 0.02)]
    rows.append(record("globex", "chat", DAY2, 0.5))
    store.append(rows)
    assert store.spent_nanos(["tenant"], "2026-11-01") == {
        ("acme",): 30_000_000,
        ("globex",): 500_000_000,
    }
    without = store.spent_nanos(["tenant"], "2026-11-01", [rows[1].id, "no-such-call"])
    assert without == {("acme",): 10_000_000, ("globex",): 500_000_000}


def test_unknown_group_is_refused(store: Store) -> None:
    with pytest.raises(InputError, match="group_by: unknown 'colour'; accepted: tenant"):
        store.usage(["colour"])
    with pytest.raises(InputError, match="since: 'yesterday' is not a date; accepted: YYYY-MM-DD"):
        store.usage(["tenant"], since="yesterday")


def test_writer_batches_and_flushes_everything(tmp_path: Path) -> None:
    writer = LedgerWriter(open_store(f"sqlite:///{tmp_path}/l.db"), batch_size=7, interval_s=5)
    for i in range(100):
        writer.append(record("acme", "f", DAY1 + i, 0.001))
    assert writer.flush_sync(10)
    assert writer.store.usage([])[0]["requests"] == 100
    writer.close()


def test_writer_keeps_rows_when_the_store_fails(tmp_path: Path) -> None:
    class Flaky:
        url = "flaky"

        def __init__(self) -> None:
            self.fail, self.rows = 2, []  # type: ignore[var-annotated]

        def append(self, records: list[UsageRecord]) -> None:
            if self.fail:
                self.fail -= 1
                raise OSError("disk unplugged")
            self.rows.extend(records)

        def close(self) -> None:
            pass

        def ids(self, ids: list[str]) -> set[str]:
            return set()

    flaky = Flaky()
    writer = LedgerWriter(flaky, batch_size=10, interval_s=0.01)  # type: ignore[arg-type]
    for i in range(25):
        writer.append(record("acme", "f", DAY1 + i, 0.001))
    assert writer.flush_sync(10)
    writer.close()
    assert len(flaky.rows) == 25


def test_unsupported_url_is_explained() -> None:
    with pytest.raises(InputError, match="accepted: sqlite:///PATH or postgresql://"):
        open_store("mysql://x")


def test_money_sums_exactly_over_many_small_rows(store: Store) -> None:
    # 10,000 calls of 7 tokens at $0.075/M: 525 nano-dollars each, exact in integers
    store.append([record("acme", None, DAY1, 7 * 0.075 / 1e6) for _ in range(10_000)])
    (total,) = store.usage([])
    assert total["cost_nanos"] == 5_250_000


V1_COLUMNS = (
    "id TEXT PRIMARY KEY, request_id TEXT, ts DOUBLE PRECISION NOT NULL, tenant TEXT, "
    "endpoint TEXT, requested TEXT, deployment TEXT, status TEXT, http_status INTEGER, "
    "stream BOOLEAN, feature TEXT, cohort TEXT, end_user TEXT, route_reason TEXT, "
    "prompt_tokens BIGINT, cached_tokens BIGINT, completion_tokens BIGINT, "
    "reasoning_tokens BIGINT, tokens_estimated BOOLEAN, ttft_ms DOUBLE PRECISION, "
    "latency_ms DOUBLE PRECISION, cost_input DOUBLE PRECISION, "
    "cost_cached_input DOUBLE PRECISION, cost_output DOUBLE PRECISION, "
    "cost_reasoning DOUBLE PRECISION, cost_usd DOUBLE PRECISION, saving_usd DOUBLE PRECISION, "
    "price_origin TEXT, error TEXT, day TEXT"
)
V1_ROW = (
    "INSERT INTO usage VALUES ('r1', 'q1', 1793534400.0, 'acme', 'chat/completions', 'm', 'd', "
    "'ok', 200, FALSE, 'chat', NULL, NULL, NULL, 1000, 0, 500, 0, FALSE, NULL, 12.0, "
    "0.00025, 0.0, 0.001, 0.0, 0.00125, 0.0, 'list price: test', NULL, '2026-11-01')"
)


def test_a_ledger_written_before_versioning_is_migrated(tmp_path: Path) -> None:
    """A ledger as the previous release wrote it (float costs, no schema_version) opens,
    keeps its rows with exact integer costs, and takes new rows."""
    import sqlite3

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE usage ({V1_COLUMNS})")
    conn.execute(V1_ROW)
    conn.commit()
    conn.close()
    store = open_store(f"sqlite:///{path}")
    (old,) = store.records()
    assert (old.cost_input_nanos, old.cost_output_nanos, old.cost_nanos) == (
        250_000,
        1_000_000,
        1_250_000,
    )
    store.append([record("acme", "chat", DAY2, 0.5)])
    assert store.usage(["tenant"])[0]["cost_nanos"] == 501_250_000
    assert store._scalar("SELECT version FROM schema_version") == SCHEMA_VERSION  # type: ignore[attr-defined]
    store.close()
    again = open_store(f"sqlite:///{path}")  # opening again migrates nothing
    assert len(again.records()) == 2
    again.close()


def test_a_postgres_ledger_before_versioning_is_migrated() -> None:
    import psycopg

    name = f"unitcost_test_{uuid.uuid4().hex[:10]}"
    admin = os.environ.get(
        "UNITCOST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE usage ({V1_COLUMNS})")  # type: ignore[arg-type]
            conn.execute(V1_ROW)  # type: ignore[arg-type]
        store = open_store(url)
        (old,) = store.records()
        assert old.cost_nanos == 1_250_000 and old.price_origin == "list price: test"
        store.append([record("acme", "chat", DAY2, 0.5)])
        assert store.usage([])[0]["cost_nanos"] == 501_250_000
        store.close()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name}")  # type: ignore[arg-type]


def test_a_ledger_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    from unitcost.errors import LedgerError

    store = open_store(f"sqlite:///{tmp_path}/new.db")
    store._scalar(f"UPDATE schema_version SET version = {SCHEMA_VERSION + 1}")  # type: ignore[attr-defined]
    store.close()
    with pytest.raises(LedgerError, match="newer than this unitcost"):
        open_store(f"sqlite:///{tmp_path}/new.db")


def test_records_of_a_period(store: Store) -> None:
    store.append([record("acme", None, DAY1, 0.01), record("acme", None, DAY2, 0.02)])
    assert [r.day for r in store.records(since="2026-11-02")] == ["2026-11-02"]
    assert [r.day for r in store.records(until="2026-11-01")] == ["2026-11-01"]
    assert len(store.records(since="2026-11-01", until="2026-11-02")) == 2
