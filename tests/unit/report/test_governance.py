"""The governance report reads controls from settings, maps them, and enforces --require."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from unitcost.errors import InputError
from unitcost.gateway.settings import load_settings
from unitcost.guard import GuardConfig
from unitcost.report.controls import CONTROLS, guard_values
from unitcost.report.frameworks import ITEMS, OWASP_LLM_2025
from unitcost.report.governance import governance_report, load_measurements


def settings(guard: dict[str, Any] | None, **over: Any) -> SimpleNamespace:
    tenants = [
        SimpleNamespace(
            name="acme",
            key_sha256=["ab"],
            keys=[],
            api_keys=[],
            budget_usd_per_month=500.0,
            requests_per_minute=600.0,
            max_request_usd=None,
        ),
        SimpleNamespace(
            name="lab",
            key_sha256=["cd"],
            keys=[],
            api_keys=[],
            budget_usd_per_month=None,
            requests_per_minute=None,
            max_request_usd=None,
        ),
    ]
    base = {
        "guard": GuardConfig.model_validate(guard) if guard is not None else None,
        "tenants": tenants,
        "admin_key": "x",
        "deployments": [SimpleNamespace(name="d")],
        "routes": [],
        "cache": SimpleNamespace(exact=True, semantic=SimpleNamespace(enabled=False)),
        "ledger": SimpleNamespace(url="sqlite:///x.db", journal=True, fsync=False),
        "metrics_key": None,
    }
    return SimpleNamespace(**{**base, **over})


def fresh(tmp_path: Path, **data: Any) -> Path:
    path = tmp_path / "guard.json"
    path.write_text(json.dumps({"generated": datetime.now(UTC).isoformat(), **data}))
    return path


def test_every_owasp_risk_nist_function_and_ncsc_area_is_in_the_map() -> None:
    assert list(OWASP_LLM_2025) == [f"LLM{i:02d}" for i in range(1, 11)]
    nist = {i.id.split("-")[0] for k, i in ITEMS.items() if k.startswith("NIST.")}
    assert nist == {"GOVERN", "MAP", "MEASURE", "MANAGE"}
    assert {i.id for k, i in ITEMS.items() if k.startswith("NCSC.")} == {
        "design",
        "development",
        "deployment",
        "operation",
    }
    for control in CONTROLS.values():
        assert set(control.covers) <= set(ITEMS), control.id


def test_guard_policies_are_read_in_every_scope(tmp_path: Path) -> None:
    s = settings({"tenants": {"lab": {"pii": {"redact_records": False}}}})
    assert guard_values(s, "pii.redact_records") == {"default": True, "tenant lab": False}
    report = governance_report(s, load_measurements(tmp_path / "none.json"))
    row = report.rows["guard.pii.redact_records"]
    assert not row.reading.on and "tenant lab: off" in row.reading.setting
    assert report.missing(["guard.pii.redact_records", "auth"]) == ["guard.pii.redact_records"]
    on = governance_report(settings({}), load_measurements(tmp_path / "none.json"))
    assert on.missing(["guard.pii.redact_records", "guard.canary", "guard.secrets"]) == []
    assert on.missing(["budgets", "rate_limits"]) == ["budgets", "rate_limits"]  # lab has none


def test_no_guard_section_means_guard_controls_are_off(tmp_path: Path) -> None:
    report = governance_report(settings(None), load_measurements(tmp_path / "none.json"))
    assert report.missing(["guard", "guard.injection"]) == ["guard", "guard.injection"]


def test_unknown_required_control_is_input_error(tmp_path: Path) -> None:
    report = governance_report(settings({}), load_measurements(tmp_path / "none.json"))
    with pytest.raises(InputError, match="unknown control nope"):
        report.missing(["nope"])


def test_measurements_missing_stale_and_fresh(tmp_path: Path) -> None:
    assert "missing" in load_measurements(tmp_path / "none.json").note
    old = fresh(tmp_path)
    data = json.loads(old.read_text())
    data["generated"] = (datetime.now(UTC) - timedelta(days=45)).isoformat()
    old.write_text(json.dumps(data))
    assert "stale: 45 days" in load_measurements(old, max_age_days=30).note
    path = fresh(
        tmp_path, pii={"card": {"recall": 0.995}}, injection={"bipia": {"tpr_at_1pct_fpr": 0.61}}
    )
    m = load_measurements(path)
    assert m.note == ""
    report = governance_report(settings({}), m)
    evidence = " ".join(report.rows["guard.pii.redact_records"].evidence)
    assert "PII recall card (presidio-pii): 0.995" in evidence
    assert "BIPIA test (indirect): 61.0%" in " ".join(report.rows["guard.injection"].evidence)


def test_markdown_and_html_name_each_item_control_and_retention(tmp_path: Path) -> None:
    report = governance_report(
        settings({}), load_measurements(tmp_path / "none.json"), config="gw.yaml"
    )
    md, html = report.markdown(), report.html()
    for text in (md, html):
        assert "LLM01 Prompt Injection" in text and "MANAGE-2.4" in text
        assert "guard.injection" in text and "six months" in text and "gw.yaml" in text
    assert "| LLM09 Misinformation |" in md
    assert "<table>" in html and "<script" not in html


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("admin_key: a\nmetrics_key: m\n", "needs the metrics key or the admin key"),
        # the README's `metrics_key: ${METRICS_KEY:-}` with METRICS_KEY unset: an empty key
        ("admin_key: a\nmetrics_key: ${UNITCOST_TEST_UNSET_KEY:-}\n", "needs the admin key"),
        ("", "refused to every caller"),
    ],
)
def test_metrics_reading_says_who_may_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: str, expected: str
) -> None:
    monkeypatch.delenv("UNITCOST_TEST_UNSET_KEY", raising=False)
    config = tmp_path / "gw.yaml"
    config.write_text(
        keys + "deployments: [{name: d, backend: openai, options: {url: http://x}}]\n"
    )
    reading = CONTROLS["metrics"].read(load_settings(config))
    assert expected in reading.setting and "open" not in reading.setting


def test_tenant_limits_read_as_money_and_rates() -> None:
    s = settings({})
    assert CONTROLS["budgets"].read(s).setting == "1 of 2 tenants (acme: $500.00/month)"
    assert CONTROLS["rate_limits"].read(s).setting == "1 of 2 tenants (acme: 600/min)"
    s.tenants[0].requests_per_minute = 1_000_000.0  # `:g` wrote 1e+06
    assert CONTROLS["rate_limits"].read(s).setting == "1 of 2 tenants (acme: 1,000,000/min)"
