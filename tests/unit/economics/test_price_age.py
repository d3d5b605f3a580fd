"""How old each deployment's price is, and `unitcost prices check` as a user meets it."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from unitcost.catalog.prices import SHIPPED
from unitcost.economics.price_age import price_ages
from unitcost.economics.spec import DeploymentSpec

TODAY = dt.date(2026, 12, 1)


def spec(raw: dict[str, object]) -> DeploymentSpec:
    return DeploymentSpec.model_validate(raw)


def test_ages_and_verdicts(tmp_path: Path) -> None:
    rows = price_ages(
        [
            (
                "fresh",
                "openai",
                spec(
                    {
                        "list_price": {
                            "input_usd_per_m": 1,
                            "output_usd_per_m": 2,
                            "as_of": "2026-11-20",
                        }
                    }
                ),
                {},
            ),
            (
                "old",
                "openai",
                spec(
                    {
                        "list_price": {
                            "input_usd_per_m": 1,
                            "output_usd_per_m": 2,
                            "as_of": "2026-06-01",
                        }
                    }
                ),
                {},
            ),
            (
                "undated",
                "openai",
                spec({"list_price": {"input_usd_per_m": 1, "output_usd_per_m": 2}}),
                {},
            ),
            (
                "map",
                "anthropic",
                spec(
                    {
                        "price_map": {
                            "path": str(SHIPPED),
                            "model": "claude-haiku-4-5",
                            "as_of": "2026-11-30",
                        }
                    }
                ),
                {},
            ),
            (
                "gone",
                "anthropic",
                spec({"price_map": {"path": str(tmp_path / "x.json"), "model": "m"}}),
                {},
            ),
            ("none", "ollama", None, {}),
            ("derived", "openai", spec({"seed": {"tco_usd_per_hour": 1, "tokens_per_s": 30}}), {}),
        ],
        TODAY,
        max_age_days=30,
    )
    got = {r.deployment: (r.status, r.age_days) for r in rows}
    assert got == {
        "fresh": ("ok", 11),
        "old": ("stale", 183),
        "undated": ("undated", None),
        "map": ("ok", 1),
        "gone": ("missing", None),
        "none": ("missing", None),
        "derived": ("derived", None),
    }
    assert [r.deployment for r in rows if r.problem] == ["old", "undated", "gone", "none"]
    assert "does not exist" in next(r.origin for r in rows if r.deployment == "gone")


def test_cli_lists_problems_and_exits_1(tmp_path: Path) -> None:
    prices = tmp_path / "model_prices_and_context_window.json"
    shutil.copy(SHIPPED, prices)
    stamp = dt.datetime(2026, 9, 1, tzinfo=dt.UTC).timestamp()
    os.utime(prices, (stamp, stamp))
    config = tmp_path / "gw.yaml"
    price_map = {"price_map": {"path": str(prices), "model": "claude-sonnet-4-5"}}
    config.write_text(
        yaml.safe_dump(
            {
                "deployments": [
                    {
                        "name": "claude",
                        "backend": "anthropic",
                        "options": {"url": "http://127.0.0.1:9", "model": "c"},
                        "price": price_map,
                    },
                ]
            }
        )
    )
    args = [
        sys.executable,
        "-m",
        "unitcost",
        "prices",
        "check",
        "--config",
        str(config),
        "--today",
        "2026-12-01",
    ]
    env = {"COLUMNS": "80", "PATH": ""}
    fresh = subprocess.run(
        [*args, "--max-age-days", "120", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert fresh.returncode == 0, fresh.stderr
    (row,) = json.loads(fresh.stdout)
    assert (row["kind"], row["as_of"], row["age_days"], row["status"]) == (
        "price map",
        "2026-09-01",
        91,
        "ok",
    )
    assert row["origin"].startswith("price map: litellm (as of 2026-09-01), claude-sonnet-4-5")
    stale = subprocess.run(
        [*args, "--max-age-days", "30"], capture_output=True, text=True, env=env, timeout=120
    )
    assert stale.returncode == 1
    assert "stale" in stale.stdout and "1 of 1 deployments need a price update" in stale.stderr
    assert max(len(line) for line in stale.stdout.splitlines()) <= 80
    bad = subprocess.run(
        [*args, "--today", "yesterday"], capture_output=True, text=True, env=env, timeout=120
    )
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "error: --today: 'yesterday' is not a date; accepted: YYYY-MM-DD"
    )
