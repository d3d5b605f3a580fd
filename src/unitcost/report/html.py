"""Self-contained HTML reports: tables and inline PNG charts, no external assets."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["Section", "page", "table"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}
caption{text-align:left;font-weight:600;margin-bottom:.3rem}
img{max-width:100%}
.note{color:#555;font-size:.85rem}
"""

Section = tuple[str, str]  # (heading, html body)


def table(caption: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><caption>{escape(caption)}</caption><tr>{head}</tr>{body}</table>"


def page(title: str, sections: Sequence[Section], note: str = "") -> str:
    parts = [f"<h2>{escape(h)}</h2>{body}" for h, body in sections]
    foot = f'<p class="note">{escape(note)}</p>' if note else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{''.join(parts)}{foot}"
        "</body></html>"
    )
