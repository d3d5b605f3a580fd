"""`unitcost plan`, `calibration` and `estimate` as a user meets them: real processes."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from unitcost.ledger.record import UsageRecord
from unitcost.ledger.store import open_store

FLEET = Path(__file__).parents[3] / "src/unitcost/examples/plans/llama-70b-fleet.yaml"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unitcost", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "80", "PATH": ""},
    )


def fits_80(text: str) -> bool:
    return all(len(line) <= 80 for line in text.splitlines())


def test_plan_prints_the_mix_what_binds_and_fits_80_columns() -> None:
    proc = run("plan", str(FLEET))
    assert proc.returncode == 0, proc.stderr
    assert "least-cost mix: 9,800.0 req/s in 4 buckets" in proc.stdout
    assert "power-bound: the 9 MW cap" in proc.stdout
    assert "of the 415 TWh all data centres used in" in " ".join(proc.stdout.split())
    # each chosen kind says what it costs and from where (it was in --json only)
    assert "H200×1 fp8 trtllm priced at $32,000 bought, over 4 y at 8% cost" in proc.stdout
    assert fits_80(proc.stdout)


def test_an_infeasible_cap_exits_2_naming_the_power_cap() -> None:
    proc = run("plan", str(FLEET), "--power-cap-mw", "4")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: power_cap_mw: serving the demand needs at least ")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_a_bad_plan_file_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(
        "name: x\nmodel: llama-3.1-8b\ndemand: [{input_tokens: 100, output_tokens: 10, "
        "requests_per_s: 1}]\ncandidates: [{accelerator: H1000, lease_usd_per_hour: 1}]\n"
    )
    proc = run("plan", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: candidates[0].accelerator: unknown accelerator 'H1000'")
    # an unknown model is the plan's `model`, not its first candidate's fault
    bad.write_text(bad.read_text().replace("llama-3.1-8b", "gpt-9").replace("H1000", "H100-SXM"))
    proc = run("plan", str(bad))
    assert proc.returncode == 2 and proc.stderr.startswith("error: model: unknown model 'gpt-9'")


def test_the_demand_can_come_from_a_ledger_period(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'ledger.db'}")
    day = time.mktime(time.strptime("2026-03-02", "%Y-%m-%d")) - time.timezone
    rows = [
        UsageRecord(
            id=f"c{i}",
            request_id=f"r{i}",
            ts=day + i,
            tenant="t",
            endpoint="chat",
            requested="m",
            deployment="llama" if i % 4 else "api",
            status="ok",
            http_status=200,
            prompt_tokens=3000,
            completion_tokens=200,
        )
        for i in range(400)
    ]
    store.append(rows)
    store.close()
    proc = run(
        "plan",
        str(FLEET),
        "--ledger",
        f"sqlite:///{tmp_path / 'ledger.db'}",
        "--since",
        "2026-03-02",
        "--until",
        "2026-03-02",
        "--deployment",
        "llama",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {c["bucket"] for c in data["capacity"]} == {"3,000→200"}
    served = sum(sum(k["served_requests_per_s"].values()) for k in data["kinds"])
    assert abs(served - 300 / 86400) < 1e-9


def test_calibration_shows_every_point_its_residual_and_the_held_out_error() -> None:
    proc = run("calibration")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("held-out error: median ")
    for name in ("gpt-fast l2-70b 8xa100 bf16", "mlperf4.1 mi300x / h100 l2-70b", "mpt-7b"):
        assert name in proc.stdout
    assert fits_80(proc.stdout)
    data = json.loads(run("calibration", "--json").stdout)
    assert 0 < data["held_out_error"] < data["previous_defaults_held_out_error"]


def test_estimate_refuses_weights_that_cannot_fit_and_prints_the_chosen_batch() -> None:
    v3 = ["estimate", "--accelerators", "8", "--model", "deepseek-v3", "--precision", "fp8"]
    refused = run(*v3, "--accelerator", "H100-SXM")
    assert refused.returncode == 2
    assert (
        "weights alone need 671 GB at fp8" in refused.stderr and "16 × H100-SXM" in refused.stderr
    )
    ok = run(*v3, "--accelerator", "H200")
    assert ok.returncode == 0, ok.stderr
    assert "estimate: batch " in ok.stdout and "energy not added" in ok.stdout
    bad = run(*v3, "--accelerator", "H200", "--lease-includes-power", "maybe")
    assert bad.returncode == 2 and "--lease-includes-power: 'maybe'" in bad.stderr


def test_ledger_flags_need_a_ledger_that_exists(tmp_path: Path) -> None:
    """They were ignored without --ledger, and a missing SQLite file was created empty."""
    plan = str(FLEET)
    proc = run("plan", plan, "--until", "2026-01-01")
    assert proc.returncode == 2 and "choose ledger rows; give --ledger" in proc.stderr
    missing = tmp_path / "none.db"
    proc = run("plan", plan, "--ledger", f"sqlite:///{missing}", "--since", "2026-01-01",
               "--until", "2026-01-31")  # fmt: skip
    assert proc.returncode == 2 and "does not exist" in proc.stderr and not missing.exists()


def test_a_figure_too_wide_folds_and_is_never_cut() -> None:
    proc = run("plan", str(FLEET), "--usd-per-mwh", "1e12")
    assert proc.returncode == 0, proc.stderr
    mix = proc.stdout.split("power and footprint")[0]  # (source citations are cut on purpose)
    assert "…" not in mix and re.search(r"-\d{8,}", mix) and fits_80(proc.stdout)
