"""`unitcost governance`: writes markdown and HTML; --require exits 1 when a control is off."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from unitcost.cli import app

CONFIG = """
admin_key: sk-admin-x
ledger: {url: "sqlite:///LEDGER"}
tenants:
  - {name: acme, keys: ["sk-acme-1"], requests_per_minute: 600, budget_usd_per_month: 500}
deployments:
  - {name: gpt-5-mini, backend: replay, options: {model: gpt-5-mini}}
"""


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    config = tmp_path / "gateway.yaml"
    config.write_text(CONFIG.replace("LEDGER", str(tmp_path / "l.db")))
    result = CliRunner().invoke(
        app,
        [
            "governance",
            "--config",
            str(config),
            "--out",
            str(tmp_path / "gov"),
            "--measurements",
            str(tmp_path / "none.json"),
            *args,
        ],
    )
    return result.exit_code, result.output


def test_writes_both_reports_and_says_measurements_are_missing(tmp_path: Path) -> None:
    code, output = run(tmp_path)
    assert code == 0, output
    assert "missing: run `python bench/guard.py`" in output
    md = (tmp_path / "gov.md").read_text()
    assert "LLM10 Unbounded Consumption" in md and "budgets" in md
    assert (tmp_path / "gov.html").read_text().startswith("<!doctype html>")
    assert all(len(line) <= 80 for line in output.splitlines())


def test_require_passes_when_on_and_fails_when_off(tmp_path: Path) -> None:
    assert run(tmp_path, "--require", "budgets,rate_limits,auth,ledger")[0] == 0
    code, output = run(tmp_path, "--require", "budgets,max_request_usd")
    assert code == 1 and "required controls off: max_request_usd" in output
