"""A report table as data, rendered three ways: CSV (exact), HTML, and a terminal table
that fits 80 columns.

    t = Table("spend_by_feature", "Spend by feature", [Column("feature"),
              Column("cost", "usd")], [["chat", usd(1_250_000_000)], [None, usd(0)]])
    t.cell(0, 1)           # '$1.25'
    t.cell(1, 0)           # '(none)'
    write_csv(t, path)     # cost written as 1.250000000: nano-dollars, exactly

Money is carried as `Decimal` dollars made from integer nano-dollars (`usd`), so nothing is
rounded until it is shown; shares are floats in [0, 1] shown as percentages.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "NONE",
    "Column",
    "Table",
    "fmt_usd",
    "html_table",
    "money",
    "pct",
    "rate_per_m",
    "usd",
    "write_csv",
]

NONE = "(none)"
#: "range": a figure written as text ("$1.00 – $2.00"), so a missing one is "–", not "(none)"
Kind = Literal["text", "int", "usd", "pct", "float", "day", "range"]
_NANO = Decimal("1e-9")


def usd(nanos: int) -> Decimal:
    """Integer nano-dollars as exact Decimal dollars."""
    return Decimal(int(nanos)).scaleb(-9)


def rate_per_m(nanos: int, tokens: int) -> Decimal | None:
    """$ per 1M tokens, to the nano-dollar; None when there were no tokens."""
    if tokens <= 0:
        return None
    # nano-dollars per token × 1e6 tokens ÷ 1e9 nano-dollars per dollar
    return (Decimal(int(nanos)) / Decimal(tokens) / 1000).quantize(_NANO)


def fmt_usd(value: Decimal | float | None, places: int = 2) -> str:
    """`$1,234.56`; `-$0.50`; fixed places, never scientific notation."""
    if value is None:
        return "–"
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    q = d.quantize(Decimal(1).scaleb(-places))
    text = f"{abs(q):,.{places}f}"
    return f"-${text}" if q < 0 else f"${text}"


def money(value: Decimal) -> str:
    """A sum of money shown on its own: cents from $1 up, 4 places below (so $0.0030 saved is
    not $0.00)."""
    return fmt_usd(value, 4 if abs(value) < 1 else 2)


def pct(value: float | None, places: int = 1) -> str:
    return "–" if value is None or value != value else f"{value * 100:.{places}f}%"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "text"
    places: int | None = None  # default: 2 for $ and numbers, 1 for percentages
    short: str | None = None  # the header in a narrow terminal; explained in the legend

    def format(self, value: Any) -> str:
        if value is None:
            return NONE if self.kind == "text" else "–"
        places = self.places if self.places is not None else (1 if self.kind == "pct" else 2)
        if self.kind == "usd":
            return fmt_usd(value, places)
        if self.kind == "pct":
            return pct(float(value), places)
        if self.kind == "int":
            return f"{int(value):,}"
        if self.kind == "float":
            return f"{float(value):,.{places}f}"
        return str(value)

    def raw(self, value: Any) -> str:
        """The CSV form: exact money, fractions for shares, empty for missing."""
        if value is None:
            return ""
        if self.kind == "usd":
            d = value if isinstance(value, Decimal) else Decimal(str(value))
            return f"{d.quantize(_NANO):f}"
        if self.kind == "pct":
            return f"{float(value):.6f}"
        return str(value)


@dataclass
class Table:
    key: str  # the CSV file's stem
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""

    def cell(self, row: int, col: int) -> str:
        return self.columns[col].format(self.rows[row][col])

    def column(self, name: str) -> list[Any]:
        i = [c.name for c in self.columns].index(name)
        return [r[i] for r in self.rows]


def write_csv(table: Table, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(_csv_header(c) for c in table.columns)
        for row in table.rows:
            w.writerow(c.raw(v) for c, v in zip(table.columns, row, strict=True))
    return path


def _csv_header(c: Column) -> str:
    return f"{c.name} (fraction)" if c.kind == "pct" else c.name


def html_table(table: Table, limit: int | None = None) -> str:
    head = "".join(f"<th>{escape(c.name)}</th>" for c in table.columns)
    rows: Sequence[list[Any]] = table.rows if limit is None else table.rows[:limit]
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='{'l' if c.kind in ('text', 'day') else 'r'}'>{escape(c.format(v))}</td>"
            for c, v in zip(table.columns, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    more = (
        f"<p class='note'>first {limit} of {len(table.rows)} rows; all in {table.key}.csv</p>"
        if limit is not None and len(table.rows) > limit
        else ""
    )
    note = f"<p class='note'>{escape(table.note)}</p>" if table.note else ""
    empty = "<p class='note'>no rows in this period</p>" if not table.rows else ""
    return (
        f"<table id='{escape(table.key)}'><caption>{escape(table.title)}</caption>"
        f"<tr>{head}</tr>{body}</table>{empty}{more}{note}"
    )
