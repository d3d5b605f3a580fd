"""FinOps exports: FOCUS 1.3-shaped cost rows, and the raw ledger rows as Parquet.

    reader = open_reader("sqlite:///unitcost-ledger.db")
    export_focus(reader, Period("2026-03-01", "2026-03-31"), Path("focus.parquet"))
    export_rows(reader, Period(), Path("ledger.parquet"))   # then --ledger parquet:///ledger.parquet

One FOCUS row per day × tenant × feature × cohort × deployment × token kind (input, cached
input, cache write, output, reasoning), ConsumedUnit `Tokens`. Costs are the ledger's own
cost lines, summed as integer nano-dollars and written as exact decimals (CSV) or
decimal128(38, 9) (Parquet), so the export adds up to the ledger to the nano-dollar.
Cache hits and rejections cost nothing upstream and are left out.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from unitcost.errors import InputError
from unitcost.ledger.queries import Period, Reader, cube
from unitcost.report.model import usd

__all__ = ["FOCUS_COLUMNS", "TOKEN_KINDS", "export_focus", "export_rows", "focus_rows"]

#: FOCUS columns written, in order; `x_` columns are this exporter's own (spec-allowed)
FOCUS_COLUMNS = (
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
    "x_TokenKind",
    "x_RequestedModel",
)
_MONEY = {"BilledCost", "EffectiveCost", "ListCost", "ContractedCost"}
_PRICE = {"ListUnitPrice", "ContractedUnitPrice"}
_QUANTITY = {"ConsumedQuantity", "PricingQuantity"}
#: FOCUS DateTime columns: ISO 8601 text in CSV, UTC timestamps in Parquet
_DATETIME = {"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"}

#: token kind → (SKU meter, its tokens, its cost line) from a cube cell
TOKEN_KINDS = {
    "input": ("Input Tokens", "cost_input_nanos"),
    "cached_input": ("Cached Input Tokens", "cost_cached_input_nanos"),
    "cache_write": ("Cache Write Tokens", "cost_cache_write_nanos"),
    "output": ("Output Tokens", "cost_output_nanos"),
    "reasoning": ("Reasoning Tokens", "cost_reasoning_nanos"),
}
_ISSUER = "unitcost gateway (internal chargeback)"


def _iso(d: date) -> str:
    return f"{d.isoformat()}T00:00:00Z"


def _month(d: date) -> tuple[date, date]:
    first = d.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt


def _tokens(cell: Any) -> dict[str, int]:
    fresh = cell.prompt_tokens - cell.cached_tokens - cell.cache_write_tokens
    return {
        "input": max(fresh, 0),
        "cached_input": cell.cached_tokens,
        "cache_write": cell.cache_write_tokens,
        "output": cell.completion_tokens - cell.reasoning_tokens,
        "reasoning": cell.reasoning_tokens,
    }


def focus_rows(reader: Reader, period: Period) -> Iterator[dict[str, Any]]:
    """FOCUS rows (dicts keyed by FOCUS_COLUMNS); money as exact Decimal dollars."""
    merged: dict[tuple[Any, ...], dict[str, int]] = {}
    for c in cube(reader, period):
        if c.status in ("cache_hit", "rejected"):
            continue
        key = (c.day, c.tenant, c.feature, c.cohort, c.deployment, c.requested)
        sums = merged.setdefault(
            key, {k: 0 for k in TOKEN_KINDS} | {f"${k}": 0 for k in TOKEN_KINDS}
        )
        for kind, n in _tokens(c).items():
            sums[kind] += n
            sums[f"${kind}"] += getattr(c, TOKEN_KINDS[kind][1])
    for (day, tenant, feature, cohort, deployment, requested), sums in sorted(
        merged.items(), key=lambda kv: tuple(str(x) for x in kv[0])
    ):
        d = date.fromisoformat(day)
        month_start, month_end = _month(d)
        tags = {
            k: v
            for k, v in (
                ("tenant", tenant),
                ("feature", feature),
                ("cohort", cohort),
                ("requested", requested),
            )
            if v is not None
        }
        for kind, (meter, _) in TOKEN_KINDS.items():
            quantity, nanos = sums[kind], sums[f"${kind}"]
            if not quantity and not nanos:
                continue
            cost = usd(nanos)
            unit_price = (cost / quantity).quantize(Decimal("1e-15")) if quantity else None
            yield {
                "BilledCost": cost,
                "BillingAccountId": "unitcost",
                "BillingAccountName": "unitcost gateway",
                "BillingCurrency": "USD",
                "BillingPeriodEnd": _iso(month_end),
                "BillingPeriodStart": _iso(month_start),
                "ChargeCategory": "Usage",
                "ChargeClass": None,
                "ChargeDescription": f"{meter} on {deployment or '(none)'}",
                "ChargeFrequency": "Usage-Based",
                "ChargePeriodEnd": _iso(d + timedelta(days=1)),
                "ChargePeriodStart": _iso(d),
                "ConsumedQuantity": quantity,
                "ConsumedUnit": "Tokens",
                "ContractedCost": cost,
                "ContractedUnitPrice": unit_price,
                "EffectiveCost": cost,
                "HostProviderName": _ISSUER,
                "InvoiceIssuerName": _ISSUER,
                "ListCost": cost,
                "ListUnitPrice": unit_price,
                "PricingCategory": "Standard",
                "PricingQuantity": quantity,
                "PricingUnit": "Tokens",
                "ProviderName": _ISSUER,
                "PublisherName": _ISSUER,
                "RegionId": None,
                "RegionName": None,
                "ResourceId": deployment,
                "ResourceName": deployment,
                "ResourceType": "LLM deployment",
                "ServiceCategory": "AI and Machine Learning",
                "ServiceName": "LLM inference",
                "ServiceProviderName": _ISSUER,
                "ServiceSubcategory": "Generative AI",
                "SkuId": f"{deployment}/{kind}",
                "SkuMeter": meter,
                "SkuPriceId": f"{deployment}/{kind}",
                "SubAccountId": tenant,
                "SubAccountName": tenant,
                "Tags": json.dumps(tags, sort_keys=True),
                "x_TokenKind": kind,
                "x_RequestedModel": requested,
            }


def _csv_value(name: str, v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, Decimal):
        return f"{v:f}"
    return str(v)


def _arrow() -> Any:
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        raise InputError(
            "--out: Parquet needs pyarrow (pip install 'unitcost[report]'); or name a .csv"
        ) from None
    return pa, pq


def export_focus(reader: Reader, period: Period, path: Path) -> int:
    """Write FOCUS rows to `path` (.csv or .parquet); returns how many rows."""
    rows = list(focus_rows(reader, period))
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(FOCUS_COLUMNS)
            for r in rows:
                w.writerow(_csv_value(k, r[k]) for k in FOCUS_COLUMNS)
        return len(rows)
    pa, pq = _arrow()

    def kind(name: str) -> Any:
        if name in _MONEY:
            return pa.decimal128(38, 9)
        if name in _PRICE:
            return pa.decimal128(38, 15)
        if name in _QUANTITY:
            return pa.int64()
        if name in _DATETIME:
            return pa.timestamp("ms", tz="UTC")  # Parquet has no seconds unit
        return pa.string()

    schema = pa.schema([(n, kind(n)) for n in FOCUS_COLUMNS])
    for r in rows:
        for name in _DATETIME:
            r[name] = datetime.fromisoformat(r[name])
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path)
    return len(rows)


_INT = ("_tokens", "_nanos", "_micros")


def export_rows(reader: Reader, period: Period, path: Path, batch: int = 200_000) -> int:
    """Every ledger column of the period's rows, as Parquet (or CSV), in time order: the
    columnar copy `--ledger parquet:///PATH` reads with DuckDB."""
    from unitcost.ledger.record import COLUMNS

    where, args = period.where("%s" if reader.dialect == "postgresql" else "?")
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            for chunk in _chunks(reader, where, args, batch):
                w.writerows(chunk)
                n += len(chunk)
        return n
    pa, pq = _arrow()

    def kind(c: str) -> Any:
        if c.endswith(_INT) or c == "http_status":
            return pa.int64()
        if c in ("stream", "tokens_estimated"):
            return pa.bool_()
        if c in ("ts", "ttft_ms", "latency_ms", "upstream_ms", "guard_ms"):
            return pa.float64()
        return pa.string()

    schema = pa.schema([(c, kind(c)) for c in COLUMNS])
    with pq.ParquetWriter(path, schema) as out:
        for chunk in _chunks(reader, where, args, batch):
            cols = list(zip(*chunk, strict=True))
            arrays = [
                pa.array([None if v is None else bool(v) for v in col], pa.bool_())
                if f.type == pa.bool_()
                else pa.array(col, f.type)
                for col, f in zip(cols, schema, strict=True)
            ]
            out.write_table(pa.Table.from_arrays(arrays, schema=schema))
            n += len(chunk)
    return n


def _chunks(
    reader: Reader, where: str, args: list[Any], batch: int
) -> Iterator[list[tuple[Any, ...]]]:
    from unitcost.ledger.record import COLUMNS

    cols = ", ".join(COLUMNS)
    if reader.dialect != "sqlite":
        rows = reader.run(f"SELECT {cols} FROM usage{where} ORDER BY ts, id", args)
        for start in range(0, len(rows), batch):
            yield rows[start : start + batch]
        return
    # SQLite: keyset pagination on the rowid (append order), no sort and no open cursor
    last = 0
    while True:
        page = f"rowid > {int(last)}"
        cond = f"{where} AND {page}" if where else f" WHERE {page}"
        got = reader.run(
            f"SELECT rowid, {cols} FROM usage{cond} ORDER BY rowid LIMIT {int(batch)}", args
        )
        if not got:
            return
        last = got[-1][0]
        yield [r[1:] for r in got]
