"""The ledger report against totals computed by hand from the seven rows in ledger_fixture."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from unitcost.errors import InputError
from unitcost.ledger import queries as q
from unitcost.report.inputs import Fleet, ReportInputs, load_revenue_csv
from unitcost.report.ledger_report import build_ledger_report, write_ledger_report
from unitcost.report.model import Table

from .ledger_fixture import CARDS, TOTAL_NANOS, make_ledger


@pytest.fixture()
def reader(tmp_path: Path) -> q.Reader:
    r = q.open_reader(make_ledger(tmp_path))
    yield r  # type: ignore[misc]
    r.close()


def _table(report: object, key: str) -> Table:
    return next(t for t in report.tables() if t.key == key)  # type: ignore[attr-defined]


def _row(t: Table, first: object) -> list[object]:
    return next(r for r in t.rows if r[0] == first)


def test_cube_sums_every_cost_line_exactly(reader: q.Reader) -> None:
    cells = q.cube(reader)
    assert sum(c.cost_nanos for c in cells) == TOTAL_NANOS
    assert sum(c.requests for c in cells) == 7
    assert sum(c.saving_nanos for c in cells) == 3_000_000
    assert q.bounds(reader) == ("2026-03-02", "2026-03-10", 7)
    assert sum(c.requests for c in q.cube(reader, q.Period("2026-03-09"))) == 3


def test_spend_by_feature_and_weekly_rates(reader: q.Reader) -> None:
    report = build_ledger_report(reader, inputs=ReportInputs(cards=CARDS))
    by_feature = _table(report, "spend_by_feature")
    assert _row(by_feature, "chat")[3] == Decimal("0.06282")
    assert _row(by_feature, "search")[3] == Decimal("0.017")
    assert _row(by_feature, None)[3] == Decimal(0)  # the rejected row has no feature
    assert by_feature.cell(by_feature.rows.index(_row(by_feature, None)), 0) == "(none)"

    weekly = _table(report, "rates_per_week")
    w1, w2 = weekly.rows
    assert w1[:3] == ["2026-03-02", 3500, 1600]
    # input 25,820,000 nanos / 3,500 tokens; output 46,000,000 / 1,600; all 71,820,000 / 5,100
    assert w1[3] == Decimal("7.377142857")
    assert w1[4] == Decimal("28.75")
    assert w1[5] == Decimal("14.082352941")
    assert w2[3:6] == [Decimal(1), Decimal(4), Decimal("1.6")]
    assert w2[6] == pytest.approx(1.6 / 14.082352941 - 1, rel=1e-9)
    assert weekly.cell(1, 6) == "-88.6%"


def test_routing_and_cache_savings(reader: q.Reader) -> None:
    report = build_ledger_report(reader, inputs=ReportInputs(cards=CARDS))
    route = _row(_table(report, "routing_savings"), "auto")
    # auto's paid rows r1, r2, r5, r7: 7,000 in (200 cached), 2,500 out; actual 70,820,000.
    # On big: 7,000 × 10,000 + 2,500 × 40,000 = 170,000,000 nanos.
    assert route[1:6] == [4, Decimal("0.07082"), "big", Decimal("0.17"), Decimal("0.09918")]
    assert route[6] == pytest.approx(99_180_000 / 170_000_000)
    cache = _row(_table(report, "cache_savings"), "small")
    assert cache[1] == 1 and cache[3] == Decimal("0.003")


def test_outcomes_top_spenders_and_costliest(reader: q.Reader) -> None:
    report = build_ledger_report(reader)
    outcomes = _table(report, "outcomes")
    assert {r[0]: r[1] for r in outcomes.rows} == {
        "ok": 4,
        "cache_hit": 1,
        "upstream_error": 1,
        "rejected": 1,
    }
    failures = _table(report, "failures")
    assert ["rejected", 429, "rate limit: 600 requests per minute", 1, Decimal(0)] in failures.rows
    users = _table(report, "top_end_user")
    assert [r[0] for r in users.rows[:2]] == ["u2", "u3"]
    assert users.rows[1][3] == Decimal("0.017")  # r3 + r7
    costly = _table(report, "costliest_requests")
    assert costly.rows[0][1] == "req-r2" and costly.rows[0][8] == Decimal("0.06")


def test_end_users_in_one_scan(reader: q.Reader) -> None:
    users = q.end_users(reader, limit=3)
    # chat: u1 (r1, r5), u2 (r2); search: u3 (r3, r7); r4 and r6 carry no end user
    assert users.distinct == {"*": 3, "chat": 2, "search": 1}
    # u2 $0.060 (r2); u3 $0.017 (r3 + r7); u1 $0.00282 (r1; r5 failed at $0)
    assert [(s.name, s.requests, s.cost_nanos) for s in users.top] == [
        ("u2", 1, 60_000_000),
        ("u3", 2, 17_000_000),
        ("u1", 2, 2_820_000),
    ]
    assert users.top == q.top_spenders(reader, "end_user", limit=3)


def test_budget_burn_down_forecast_and_run_out(reader: q.Reader) -> None:
    budgets = {"acme": Decimal("0.10"), "globex": Decimal("0.01")}
    report = build_ledger_report(reader, inputs=ReportInputs(budgets_usd=budgets))
    burn = _table(report, "budget_burn_down")
    acme = _row(burn, "acme")
    # 62,820,000 nanos in 10 days of March's 31: forecast 62,820,000 × 31 ÷ 10
    assert acme[2] == Decimal("0.06282") and acme[4] == Decimal("0.194742")
    assert acme[3] == pytest.approx(0.6282)
    # the budget (100,000,000) is reached on day ceil(10 × 100,000,000 / 62,820,000) = 16
    assert acme[6] == "2026-03-16"
    assert _row(burn, "globex")[6] == "spent"  # 17,000,000 > 10,000,000


def test_fleet_reconciliation_arithmetic(reader: q.Reader) -> None:
    fleet = Fleet(
        "big",
        replicas=2,
        accelerators=4,
        usd_per_accelerator_hour=Decimal("2.5"),
        prefill_tokens_per_s=1000.0,
        decode_tokens_per_s=100.0,
        origin="test",
    )
    report = build_ledger_report(
        reader, q.Period("2026-03-02", "2026-03-10"), ReportInputs(fleets={"big": fleet})
    )
    row = _row(_table(report, "fleet_reconciliation"), "big")
    # 9 days = 216 h; 2 replicas × 4 accelerators × $2.50 × 216 h = $4,320
    assert row[2] == 432.0 and row[3] == Decimal("4320")
    # big served r2 + r3: 2,500 in ÷ 1,000/s + 1,100 out ÷ 100/s = 13.5 s = 0.00375 h
    assert row[4] == pytest.approx(0.00375)
    assert row[5] == pytest.approx(0.00375 / 432)
    # idle = $4,320 − 0.00375 h × $10/replica-hour; attributed = r2 + r3 = $0.069
    assert row[6] == Decimal("4319.9625")
    assert row[7] == Decimal("0.069") and row[8] == Decimal("4319.931")


def test_pnl_with_revenue_csv(reader: q.Reader, tmp_path: Path) -> None:
    path = tmp_path / "revenue.csv"
    path.write_text("feature,revenue_usd\nchat,1.00\nsearch,$0.50\n", encoding="utf-8")
    report = build_ledger_report(reader, revenue=load_revenue_csv(path))
    chat = _row(_table(report, "feature_pnl"), "chat")
    assert chat[1] == Decimal("1.00") and chat[3] == Decimal("0.06282")
    assert chat[4] == pytest.approx(1 - 0.06282)
    bad = tmp_path / "bad.csv"
    bad.write_text("feature,revenue_usd\nchat,lots\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2: revenue_usd 'lots'"):
        load_revenue_csv(bad)


def test_repricing_on_each_card(reader: q.Reader) -> None:
    report = build_ledger_report(reader, inputs=ReportInputs(cards=CARDS))
    t = _table(report, "repricing")
    # paid traffic r1 r2 r3 r5 r7: 7,500 in (200 cached), 2,600 out (50 reasoning)
    small = _row(t, "small")
    # 7,300 × 1,000 + 200 × 100 + 2,550 × 4,000 + 50 × 4,000 = 17,720,000
    assert small[3] == Decimal("0.01772")
    big = _row(t, "big")
    assert big[3] == Decimal("0.179")  # 7,500 × 10,000 + 2,600 × 40,000


def test_write_report_files(tmp_path: Path) -> None:
    url = make_ledger(tmp_path)
    html = write_ledger_report(url, tmp_path / "out", ReportInputs(cards=CARDS))
    text = html.read_text(encoding="utf-8")
    assert "src='data:image/png;base64," in text and "http" not in text.split("<body>")[1][:0]
    assert "<script" not in text and "https://" not in text
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {
        "index.html",
        "spend_over_time.png",
        "rates_per_week.png",
        "model_mix.png",
        "spend_by_feature.csv",
        "routing_savings.csv",
        "scorecard.csv",
    } <= names
    with (tmp_path / "out" / "spend_by_feature.csv").open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == [
        "feature",
        "requests",
        "tokens",
        "cost",
        "share of cost (fraction)",
        "$/request",
    ]
    assert rows[1][:4] == ["chat", "3", "4500", "0.062820000"]
    assert "e-" not in (tmp_path / "out" / "rates_per_week.csv").read_text()
    # no gateway config, so no budgets: the report says how to get their burn-down
    assert "No budgets known" in text and "--config gateway.yaml" in text


def test_bad_period_is_one_line() -> None:
    with pytest.raises(InputError, match="since: '2026-13-01' is not a date"):
        q.Period("2026-13-01")


def test_loose_dates_are_refused() -> None:
    # days compare as text in SQL: 2026-3-1 would silently select nothing
    with pytest.raises(InputError, match="since: '2026-3-1' is not a date; accepted: YYYY-MM-DD"):
        q.Period("2026-3-1")


def test_empty_period_writes_a_report_without_charts(tmp_path: Path) -> None:
    url = make_ledger(tmp_path)
    html = write_ledger_report(url, tmp_path / "out", since="2027-01-01")
    assert "no rows in this period" in html.read_text(encoding="utf-8")
    assert not list((tmp_path / "out").glob("*.png"))


def test_scorecard_names_the_costliest_feature_by_total_and_a_single_week_as_a_level(
    reader: q.Reader,
) -> None:
    report = build_ledger_report(reader)
    card = {r[0]: r[1] for r in _table(report, "scorecard").rows}
    chat = _row(_table(report, "spend_by_feature"), "chat")
    # chat $0.06282 of $0.07982 in all (search $0.017): 79%
    assert card["costliest feature, in total"].startswith("chat: $0.0628 (79% of spend), $")
    assert f"${Decimal('0.06282') / chat[1]:.6f}/request" in card["costliest feature, in total"]
    assert "→" in card["$/1M tokens, first week → last"]  # two weeks: a trend

    one_week = build_ledger_report(reader, q.Period("2026-03-09"))
    card = {r[0]: r[1] for r in _table(one_week, "scorecard").rows}
    assert "$/1M tokens, first week → last" not in card
    assert card["$/1M tokens (one week: no trend yet)"] == "$1.6000"
