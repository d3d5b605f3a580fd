"""`unitcost portfolio` reads what the gateway recorded for each class: the demo portfolio
(real recorded answers) driven by class, then the CLI as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from unitcost.catalog.replay import load_replay_set
from unitcost.routing.portfolio import demo_classes

ROOT = Path(__file__).resolve().parents[2]
REPLAY = ["gpt-5-mini", "claude-haiku-4.5", "gpt-5.2-high", "gemini-3.1-pro-preview"]


def test_portfolio_shows_price_latency_and_share_per_class(
    run_gateway: Any, tmp_path: Path
) -> None:
    deployments = [{"name": m, "backend": "replay", "options": {"model": m}} for m in REPLAY]
    gateway = run_gateway(deployments, classes=demo_classes(local=False), port=0)
    data = load_replay_set()
    prompts = [q["prompt"] for q in list(data.questions.values())[:6]]
    client = gateway.client()
    for p in prompts:
        client.chat.completions.create(model="everyday", messages=[{"role": "user", "content": p}])
    for p in prompts[:2]:
        client.chat.completions.create(
            model="x",
            messages=[{"role": "user", "content": p}],
            extra_headers={"x-unitcost-class": "hard-reasoning"},
        )
    gateway.flush()
    config = tmp_path / "gw.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "ledger": {"url": gateway.settings.ledger.url},
                "deployments": deployments,
                "classes": demo_classes(local=False),
            }
        )
    )
    env = {"COLUMNS": "80", "PATH": ""}
    as_json = subprocess.run(
        [sys.executable, "-m", "unitcost", "portfolio", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    by = {(r["class"], r["option"]): r for r in report["options"]}
    everyday = by[("everyday", "gpt-5-mini")]
    assert (everyday["calls"], everyday["share"]) == (6, 1.0)  # the first option met the SLO
    assert everyday["latency_p95_ms"] is not None and everyday["input_usd_per_m"] == 0.25
    assert by[("everyday", "claude-haiku-4.5")]["calls"] == 0
    assert by[("hard-reasoning", "gemini-3.1-pro-preview")]["calls"] == 2
    assert "gpt-5-mini" in by[("everyday", "gpt-5-mini")]["price_origin"]
    assert any("hard-reasoning: no open-weight option" in w for w in report["warnings"])
    table = subprocess.run(
        [sys.executable, "-m", "unitcost", "portfolio", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any("gpt-5-mini" in line and "100.0%" in line for line in lines)


EXAMPLE = ROOT / "src/unitcost/examples/gateway/portfolio-classes.yaml"


def _portfolio(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unitcost", "portfolio", "--config", str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        env={"COLUMNS": "80", "PATH": ""},
        timeout=120,
        cwd=cwd,
    )


def test_the_example_portfolio_loads_with_its_warnings() -> None:
    proc = _portfolio("--ledger", "sqlite:///nonexistent.db")
    assert proc.returncode == 0, proc.stderr
    assert "warning: classes.hard-reasoning: no open-weight option" in proc.stdout
    assert "warning: classes.private: 1 viable option" in proc.stdout


def test_a_missing_ledger_from_the_config_is_not_blamed_on_a_flag(tmp_path: Path) -> None:
    """The ledger url came from the config, not from `--ledger`: the note says so."""
    proc = _portfolio(cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (
        proc.stdout.startswith("the config's ledger: sqlite:///") and "--ledger" not in proc.stdout
    )
