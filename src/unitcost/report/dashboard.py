"""The live dashboard: one self-contained page and its JSON, as a pure-ASGI app.

    app = dashboard_app("sqlite:///unitcost-ledger.db", inputs=inputs_from_settings(settings),
                        authorize=lambda headers: is_admin(headers))
    # GET /dashboard              the page (no data in it; inline SVG charts, no CDN)
    # GET /dashboard/api/summary  ?since=YYYY-MM-DD&until=YYYY-MM-DD  the views as JSON

The views are the ledger report's tables (spend by feature, tenant, cohort and deployment
per day, $/1M per week, model mix, outcomes, cache savings, budgets), folded from a
`LiveCube` that reads only what the ledger appended since the last refresh. The page asks
for the admin key once (or takes it from `#key=...`, which never reaches the server) and
sends it as a bearer token; `authorize(headers)` decides on every API call.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from unitcost.errors import AuthError, InputError, MethodNotAllowed, NotFoundError, UnitcostError
from unitcost.ledger.queries import Cell, Period
from unitcost.report import analysis as a
from unitcost.report import finance as f
from unitcost.report.dashboard_page import PAGE
from unitcost.report.inputs import ReportInputs
from unitcost.report.live import LiveCube
from unitcost.report.model import Table

__all__ = ["DIMENSIONS", "Dashboard", "dashboard_app", "dashboard_data"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DIMENSIONS = ("feature", "tenant", "deployment", "cohort")


def _json_value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return f"{v:f}"
    return v


def _table_json(t: Table) -> dict[str, Any]:
    return {
        "key": t.key,
        "title": t.title,
        "note": t.note,
        "columns": [{"name": c.name, "kind": c.kind} for c in t.columns],
        "cells": [[t.cell(i, j) for j in range(len(t.columns))] for i in range(len(t.rows))],
        "values": [[_json_value(v) for v in row] for row in t.rows],
    }


def dashboard_data(
    cells: list[Cell], period: Period, inputs: ReportInputs | None = None
) -> dict[str, Any]:
    """Every view of the page, computed like the report's tables (the same functions)."""
    cells = [
        c
        for c in cells
        if (period.since is None or c.day >= period.since)
        and (period.until is None or c.day <= period.until)
        and (period.tenant is None or c.tenant == period.tenant)
    ]
    first, last = a.day_span(cells)
    days = _every_day(first, last) if first and last else []
    tables = [a.summary(cells, first, last)]
    tables += [a.spend_totals(cells, d) for d in DIMENSIONS]
    tables += [a.spend_by(cells, d) for d in DIMENSIONS]
    tables += [a.weekly_rates(cells), a.model_mix(cells), a.status_table(cells),
               f.cache_savings(cells)]  # fmt: skip
    if inputs and inputs.budgets_usd and last:
        daily: dict[tuple[str, str], int] = {}
        for c in cells:
            daily[(c.tenant, c.day)] = daily.get((c.tenant, c.day), 0) + c.cost_nanos
        tables.append(f.burn_down(daily, inputs.budgets_usd, last))
    total = sum(c.cost_nanos for c in cells)
    return {
        "first": first,
        "last": last,
        "days": days,
        "rows": sum(c.requests for c in cells),
        "cost_usd": f"{Decimal(total).scaleb(-9):f}",
        "dimensions": list(DIMENSIONS),
        "tables": {t.key: _table_json(t) for t in tables},
    }


def _every_day(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first).toordinal(), date.fromisoformat(last).toordinal()
    return [date.fromordinal(n).isoformat() for n in range(start, end + 1)]


def _query(scope: Scope) -> Period:
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    allowed = {"since", "until", "tenant"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise InputError(f"{unknown[0]}: unknown parameter; accepted: since, until, tenant")
    one = {k: v[-1] for k, v in params.items() if v and v[-1]}
    return Period(one.get("since"), one.get("until"), one.get("tenant"))


async def _send(send: Send, status: int, body: bytes, ctype: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype), (b"cache-control", b"no-store"),
                            (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _refuse(send: Send, exc: UnitcostError) -> None:
    """An error in the gateway's OpenAI shape: {"error": {message, type, param, code}}."""
    await _send(send, exc.status_code, json.dumps(exc.to_openai()).encode(), b"application/json")


class Dashboard:
    """The ASGI app `dashboard_app` returns; `close()` at shutdown releases the reader."""

    def __init__(
        self,
        live: LiveCube,
        inputs: ReportInputs | None,
        authorize: Callable[[Mapping[str, str]], bool] | None,
        prefix: str,
    ) -> None:
        self.live, self.inputs, self.authorize, self.prefix = live, inputs, authorize, prefix
        self._lock = threading.Lock()
        self._answers: dict[tuple[int, Period], bytes] = {}
        self._page = PAGE.encode()

    def summary(self, period: Period) -> bytes:
        cells = self.live.cells()
        with self._lock:
            key = (self.live.generation, period)
            if key not in self._answers:
                self._answers.clear()  # one generation at a time: the cache never grows
                data = dashboard_data(cells, period, self.inputs)
                self._answers[key] = json.dumps(data).encode()
            return self._answers[key]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        prefix = self.prefix
        path = scope["path"].rstrip("/") or "/"
        json_type = b"application/json"
        if scope["method"] not in ("GET", "HEAD"):
            message = f"method {scope['method']} is not allowed on {path}; accepted: GET, HEAD"
            return await _refuse(send, MethodNotAllowed(message))
        if path == prefix:
            return await _send(send, 200, self._page, b"text/html; charset=utf-8")
        if path != f"{prefix}/api/summary":
            message = f"no route {path}; accepted: {prefix}, {prefix}/api/summary"
            return await _refuse(send, NotFoundError(message, code="not_found"))
        raw = scope.get("headers", [])
        if sum(1 for k, _ in raw if k.lower() == b"authorization") > 1:  # as the gateway does
            message = "authorization: the key came more than once; send one Authorization header"
            return await _refuse(send, InputError(message, param="authorization"))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}
        if self.authorize is not None and not self.authorize(headers):
            message = "the dashboard's data needs the admin key as a bearer token"
            return await _refuse(send, AuthError(message))
        try:
            body = await asyncio.to_thread(self.summary, _query(scope))
        except UnitcostError as exc:
            return await _refuse(send, exc)
        await _send(send, 200, body, json_type)

    def warm(self) -> threading.Thread:
        """Build the cube in a background thread (call at start-up), so the first page load
        does not wait for a full read of a big ledger."""
        t = threading.Thread(target=self.live.cells, name="unitcost-dashboard-warm", daemon=True)
        t.start()
        return t

    def close(self) -> None:
        self.live.close()


def dashboard_app(
    ledger: str | LiveCube,
    *,
    inputs: ReportInputs | None = None,
    authorize: Callable[[Mapping[str, str]], bool] | None = None,
    prefix: str = "/dashboard",
) -> Dashboard:
    """The page at `prefix` and its JSON under `prefix`/api/; every API call passes
    `authorize(headers)` (lower-case names) or gets a 401 in OpenAI's error shape."""
    live = ledger if isinstance(ledger, LiveCube) else LiveCube(ledger)
    return Dashboard(live, inputs, authorize, prefix)
