"""/dashboard in a real headless browser (Debian's chromium, driven by playwright, nothing
downloaded): the page loads with no console error and its charts show the ledger's numbers.

CI needs the browser: `apt-get install -y chromium` (the test says so when it is missing).
Screenshots land in the test's tmp_path.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.unit.report.ledger_fixture import TOTAL_NANOS, make_ledger
from unitcost.report.dashboard import dashboard_app
from unitcost.report.inputs import ReportInputs

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ADMIN = "sk-admin-dashboard-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def dashboard(tmp_path: Path) -> Iterator[str]:
    def authorize(headers: Mapping[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {ADMIN}"

    app = dashboard_app(
        make_ledger(tmp_path),
        authorize=authorize,
        inputs=ReportInputs(budgets_usd={"acme": Decimal("0.10")}),
    )
    app.warm().join(30)  # the gateway warms it at start-up
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "dashboard server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        app.close()


def test_api_needs_the_admin_key_and_checks_dates(dashboard: str) -> None:
    assert httpx.get(f"{dashboard}/dashboard/api/summary").status_code == 401
    bad = httpx.get(
        f"{dashboard}/dashboard/api/summary?since=2026-02-30",
        headers={"authorization": f"Bearer {ADMIN}"},
    )
    assert bad.status_code == 400 and "since" in bad.json()["error"]["message"]
    ok = httpx.get(
        f"{dashboard}/dashboard/api/summary", headers={"authorization": f"Bearer {ADMIN}"}
    ).json()
    assert Decimal(ok["cost_usd"]) == Decimal(TOTAL_NANOS).scaleb(-9)
    page = httpx.get(f"{dashboard}/dashboard").text
    assert "<script" in page and "http://" not in page and "https://" not in page


def _values(page: Any, selector: str) -> list[tuple[str, float]]:
    return [
        (e.get_attribute("data-series"), float(e.get_attribute("data-value")))
        for e in page.query_selector_all(selector)
    ]


def test_dashboard_renders_the_ledgers_numbers(dashboard: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("the dashboard test needs Debian's chromium: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{dashboard}/dashboard#key={ADMIN}")
            page.wait_for_selector("body[data-loaded='1']", timeout=20_000)
            assert "key=" not in page.url  # the key left the address bar

            spend = _values(page, "rect.spend")
            assert sum(v for _, v in spend) == pytest.approx(TOTAL_NANOS / 1e9, rel=1e-9)
            assert {s for s, _ in spend} == {"chat", "search"}  # (none) cost nothing
            mix = dict(_values(page, "rect.mix"))
            assert mix == pytest.approx({"big": 0.069, "small": 0.01082})
            blended = [v for s, v in _values(page, "circle.rate") if s == "$/1M blended"]
            assert blended == pytest.approx([14.082352941, 1.6])
            assert page.inner_text("[data-figure='cost']") == "$0.0798"
            assert "2026-03-16" in page.inner_text("#t-budget_burn_down")  # acme runs out
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

            page.click("button[data-dim='tenant']")
            tenants = {s for s, _ in _values(page, "rect.spend")}
            assert tenants == {"acme", "globex"}
            page.fill("#since", "2026-03-09")
            page.dispatch_event("#since", "change")
            page.wait_for_function(
                "document.querySelectorAll('circle.rate').length === 3", timeout=10_000
            )
            assert sum(v for _, v in _values(page, "rect.spend")) == pytest.approx(0.008)
            page.screenshot(path=str(tmp_path / "dashboard-since.png"), full_page=True)
        finally:
            browser.close()
    assert not problems, problems
