"""Terminal tables that fit 80 columns: abbreviated headers with a legend, folded text,
and the columns that still do not fit named behind `--wide`.

    out.print(fit_table("usage", [("requests", "req"), ("cost", None)], [["3", "$1.20"]]))
    out.print(usage_table(store.usage(["tenant"]), ["tenant"], "usage"))
    usd_column([0.00048, 23.95])      # ['$0.0005', '$23.9500']: one precision per column
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["WIDTH", "fit_table", "plural", "usage_table", "usd_column", "wrap_note"]

#: what every human table fits unless the user asks for --wide
WIDTH = 80
#: the narrowest a text column folds to before columns move behind --wide
FOLD = 16
#: the longest word (a tenant's or deployment's name) kept whole
NAME = 24
#: the widest a text column grows with --wide (a source line folds past it)
WIDE_TEXT = 60


def plural(n: int, noun: str) -> str:
    """`1 route`, `2 routes`, `1,200 rows`: a count and its noun, agreeing."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def wrap_note(text: str, width: int = WIDTH, indent: int = 4) -> str:
    """`text` wrapped at `width` columns, the lines after the first indented `indent`, so a
    note reads as one block under its label; words, paths and flags are never split."""
    return textwrap.fill(
        text,
        width,
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def fit_table(
    title: str,
    header: Sequence[tuple[str, str | None]],
    rows: Sequence[Sequence[str]],
    *,
    wide: bool = False,
    width: int = WIDTH,
    left: int = 1,
) -> RenderableType:
    """A table of already formatted cells that fits `width` columns: headers that do not
    fit are abbreviated (`header` pairs a name with its short form) and explained in a
    legend; columns that still do not fit move behind `--wide` and a note says which.
    The first `left` columns are left-aligned, the rest (numbers) right-aligned."""
    names = [h for h, _ in header]
    cells = [list(r) for r in rows]

    def widths(heads: Sequence[str], k: int) -> list[int]:
        # Numbers keep their width. Text columns (the first `left`) give way, widest first,
        # folding at spaces down to FOLD characters; a word up to NAME characters long (a
        # tenant's or deployment's name) is never split, a longer one folds like a phrase.
        texts = [(heads[i], *(r[i] for r in cells)) for i in range(k)]
        ws = [max(len(x) for x in column) for column in texts]
        floor = {}
        for i in range(min(left, k)):
            word = max(len(w) for x in texts[i] for w in (x.split() or [""]))
            floor[i] = min(ws[i], max(FOLD, word) if word <= NAME else FOLD)
        while sum(ws) + 3 * k + 1 > width:  # padding and a separator (3) each
            give = [i for i in floor if ws[i] > floor[i]]
            if not give:
                break
            ws[max(give, key=lambda i: ws[i])] -= 1
        return ws

    def build(heads: Sequence[str], k: int) -> Table:
        t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for i, w in enumerate(widths(heads, k)):
            is_text = i < left
            t.add_column(
                heads[i],
                justify="left" if is_text else "right",
                no_wrap=not is_text,
                overflow="fold",
                min_width=None if is_text else w,
                max_width=(WIDE_TEXT if wide else w) if is_text else None,
            )
        for r in cells:
            t.add_row(*r[:k])
        return t

    def need(heads: Sequence[str], k: int) -> int:
        return sum(widths(heads, k)) + 3 * k + 1

    heads = list(names)
    legend: list[str] = []
    if not wide and need(heads, len(heads)) > width:
        for i, (name, short) in enumerate(header):
            if short and short != name:
                heads[i] = short
                legend.append(f"{short} = {name}")
    keep = len(heads)
    if not wide:
        while keep > 1 and need(heads, keep) > width:
            keep -= 1
    t = build(heads, keep)
    parts: list[RenderableType] = [t]
    used = [x for x in legend if x.split(" = ")[0] in heads[:keep]]
    notes = ["  " + "; ".join(used)] if used else []
    if keep < len(heads):
        notes.append(
            f"  {plural(len(heads) - keep, 'more column')} with --wide: " + ", ".join(names[keep:])
        )
    for note in notes:  # wrapped under their first word, not back at the margin
        parts.append(Text(wrap_note(note, width), style="dim"))
    return Group(*parts)


def usd_column(values: Sequence[float]) -> list[str]:
    """Dollars at one precision for a whole column, never scientific: cents once any figure
    reaches $100, else four places, or as many as the smallest non-zero figure needs."""
    from decimal import Decimal

    from unitcost.report.model import fmt_usd

    finite = [abs(v) for v in values if v == v]
    if any(v >= 100 for v in finite):
        places = 2
    else:
        small = min((v for v in finite if v > 0), default=1.0)
        places = 4
        while places < 9 and small < 10 ** -(places - 2):
            places += 1  # three significant digits for the smallest figure
    return [fmt_usd(Decimal(repr(v)), places) if v == v else "n/a" for v in values]


def _usd_column(nanos: Sequence[int]) -> list[str]:
    """One precision for a whole column: cents once any figure reaches $100, else 1/100 ¢."""
    from unitcost.report.model import fmt_usd, usd

    places = 2 if any(abs(n) >= 100_000_000_000 for n in nanos) else 4
    return [fmt_usd(usd(n), places) for n in nanos]


def usage_table(
    rows: Sequence[dict[str, object]],
    group_by: Sequence[str],
    title: str,
    *,
    wide: bool = False,
    per: int = 1_000_000,
) -> RenderableType:
    """`unitcost usage`'s table: the grouping columns, then calls, tokens and money, and a
    total row under two or more groups, fitted to 80 columns (`wide` adds cached, reasoning,
    rejected and estimated counts)."""

    def num(row: dict[str, object], key: str) -> int:
        v = row.get(key)
        return int(v) if isinstance(v, int | float) else 0

    def nanos(row: dict[str, object], key: str) -> int:
        if f"{key}_nanos" in row:
            return num(row, f"{key}_nanos")
        v = row.get(f"{key}_usd")
        return round(float(v) * 1e9) if isinstance(v, int | float) else 0  # a v1 store

    unit = "$/1M" if per == 1_000_000 else "$/1K"
    header: list[tuple[str, str | None]] = [(g, None) for g in group_by]
    # most telling first: what does not fit moves behind --wide from the right
    header += [("requests", "req"), ("cost", None), (f"{unit} tokens", unit),
               ("errors", "err"), ("prompt tokens", "in tok"),
               ("completion tokens", "out tok"), ("saved by cache", "saved")]  # fmt: skip
    if wide:
        header += [("cached tokens", None), ("reasoning tokens", None), ("rejected", None),
                   ("estimated", None)]  # fmt: skip
    rows = list(rows)
    counts = ("requests", "errors", "prompt_tokens", "completion_tokens", "cached_tokens",
              "reasoning_tokens", "rejected", "estimated")  # fmt: skip
    total: dict[str, object] | None = None
    if group_by and len(rows) > 1:  # a bottom line, summed exactly like the rows above it
        total = {k: sum(num(r, k) for r in rows) for k in counts}
        total["cost_nanos"] = sum(nanos(r, "cost") for r in rows)
        total["saving_nanos"] = sum(nanos(r, "saving") for r in rows)
        rows.append(total)
    costs = [nanos(r, "cost") for r in rows]
    savings = [nanos(r, "saving") for r in rows]
    cost_text, saving_text = _usd_column(costs), _usd_column(savings)
    cells = []
    for i, r in enumerate(rows):
        tokens = num(r, "prompt_tokens") + num(r, "completion_tokens")
        # $/token for display only; the sums above stay exact
        rate = f"${costs[i] / 1e9 / tokens * per:,.4f}" if tokens else "–"
        if r is total:
            line = ["total", *[""] * (len(group_by) - 1)]
        else:
            line = [("(none)" if r.get(g) in (None, "") else str(r.get(g))) for g in group_by]
        line += [f"{num(r, 'requests'):,}", cost_text[i], rate, f"{num(r, 'errors'):,}",
                 f"{num(r, 'prompt_tokens'):,}", f"{num(r, 'completion_tokens'):,}",
                 saving_text[i]]  # fmt: skip
        if wide:
            line += [f"{num(r, k):,}" for k in ("cached_tokens", "reasoning_tokens", "rejected",
                                                 "estimated")]  # fmt: skip
        cells.append(line)
    return fit_table(title, header, cells, wide=wide, left=len(group_by))
