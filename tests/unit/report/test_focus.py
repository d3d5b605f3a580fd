"""FOCUS export: the spec's column names, one row per token kind, and exact sums."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from unitcost.ledger import queries as q
from unitcost.report.focus import FOCUS_COLUMNS, export_focus, export_rows

from .ledger_fixture import ROWS, TOTAL_NANOS, make_ledger

# FOCUS column IDs as the FinOps Foundation's specification spells them (1.0-1.3): the
# mandatory cost, period, account, charge, pricing, resource, service, SKU and tag columns
SPEC_NAMES = {
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "HostProviderName",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceProviderName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
}


def test_columns_are_the_specs_names_or_custom_x() -> None:
    own = [c for c in FOCUS_COLUMNS if c not in SPEC_NAMES]
    assert all(c.startswith("x_") for c in own), own
    assert set(FOCUS_COLUMNS) >= SPEC_NAMES


def test_csv_rows_per_token_kind_add_up_to_the_ledger(tmp_path: Path) -> None:
    reader = q.open_reader(make_ledger(tmp_path))
    try:
        n = export_focus(reader, q.Period(), tmp_path / "focus.csv")
    finally:
        reader.close()
    with (tmp_path / "focus.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == n
    assert list(rows[0]) == list(FOCUS_COLUMNS)
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal(TOTAL_NANOS).scaleb(-9)
    assert {r["ConsumedUnit"] for r in rows} == {"Tokens"}
    assert {r["ServiceCategory"] for r in rows} == {"AI and Machine Learning"}
    # r1 (small, 2026-03-02): 800 fresh input, 200 cached, 500 output → three rows
    r1 = [
        r
        for r in rows
        if r["ResourceId"] == "small" and r["ChargePeriodStart"] == "2026-03-02T00:00:00Z"
    ]
    assert {(r["x_TokenKind"], r["ConsumedQuantity"], r["BilledCost"]) for r in r1} == {
        ("input", "800", "0.000800000"),
        ("cached_input", "200", "0.000020000"),
        ("output", "500", "0.002000000"),
    }
    assert r1[0]["ChargePeriodEnd"] == "2026-03-03T00:00:00Z"
    assert r1[0]["BillingPeriodStart"] == "2026-03-01T00:00:00Z"
    assert json.loads(r1[0]["Tags"]) == {
        "tenant": "acme",
        "feature": "chat",
        "cohort": "free",
        "requested": "auto",
    }
    reasoning = [r for r in rows if r["x_TokenKind"] == "reasoning"]
    assert [(r["ResourceId"], r["ConsumedQuantity"]) for r in reasoning] == [("big", "50")]
    assert all("e" not in r["BilledCost"].lower() for r in rows)


def test_parquet_is_exact_decimal(tmp_path: Path) -> None:
    reader = q.open_reader(make_ledger(tmp_path))
    try:
        export_focus(reader, q.Period(), tmp_path / "focus.parquet")
        export_rows(reader, q.Period(), tmp_path / "rows.parquet", batch=3)
    finally:
        reader.close()
    table = pq.read_table(tmp_path / "focus.parquet")
    assert table.schema.names == list(FOCUS_COLUMNS)
    assert sum(table.column("BilledCost").to_pylist()) == Decimal(TOTAL_NANOS).scaleb(-9)
    # FOCUS DateTime columns are timestamps in Parquet, the UTC day a charge belongs to
    starts = table.column("ChargePeriodStart")
    assert str(starts.type) == "timestamp[ms, tz=UTC]"
    first = min(starts.to_pylist())
    assert (first.isoformat(), first.utcoffset()) == ("2026-03-02T00:00:00+00:00", timedelta(0))
    raw = pq.read_table(tmp_path / "rows.parquet")
    assert raw.num_rows == len(ROWS)
    assert sum(raw.column("cost_nanos").to_pylist()) == TOTAL_NANOS


def test_parquet_ledger_reads_the_same_as_sqlite(tmp_path: Path) -> None:
    url = make_ledger(tmp_path)
    sqlite = q.open_reader(url)
    try:
        export_rows(sqlite, q.Period(), tmp_path / "rows.parquet", batch=2)
        expected = sorted(q.cube(sqlite), key=repr)
        top = q.top_spenders(sqlite, "end_user")
    finally:
        sqlite.close()
    duck = q.open_reader(f"parquet:///{tmp_path / 'rows.parquet'}")
    try:
        assert sorted(q.cube(duck), key=repr) == expected
        assert q.top_spenders(duck, "end_user") == top
    finally:
        duck.close()
