"""Files and numbers a user can get wrong, on every command that reads them: exit 2, one line
naming the input, never a traceback."""

import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_cli import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SELF_HOSTED = ("estimate", "--accelerator", "H100-SXM", "--model", "llama-3.1-8b")
SELF_HOSTED += ("--precision", "fp8", "--lease-usd-per-hour")


def fails_cleanly(*args: str) -> str:
    proc = run(*args)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["estimate", "--scenario"], "scenario file: '{p}' is not UTF-8 text"),
        (["plan"], "plan file: '{p}' is not UTF-8 text"),
        (["usage", "--config"], "--config: '{p}' is not UTF-8 text"),
        (["route-eval", "--weak", "W", "--strong", "S", "--data"], "--data: '{p}' is not UTF-8"),
    ],
)
def test_a_file_that_is_not_utf8_is_named(
    tmp_path: Path, command: list[str], expected: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert expected.format(p=path) in fails_cleanly(*command, str(path))


def test_a_directory_where_a_file_goes_is_named(tmp_path: Path) -> None:
    assert "is a directory" in fails_cleanly("estimate", "--scenario", str(tmp_path))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_figure_must_be_finite(value: str) -> None:
    line = fails_cleanly(*SELF_HOSTED, value)
    assert line.startswith("error: --lease-usd-per-hour: ") and "finite" in line


def test_zero_utilisation_is_refused_not_divided_by() -> None:
    line = fails_cleanly(*SELF_HOSTED, "2.49", "--utilisation", "0")
    assert line.startswith("error: --utilisation: ") and "(0, 1]" in line


@pytest.mark.parametrize("flag", ["--mfu", "--bandwidth-efficiency"])
def test_a_zero_efficiency_is_refused_not_divided_by(flag: str) -> None:
    """Both divide an ideal throughput: 0 was accepted and ended in ZeroDivisionError."""
    line = fails_cleanly(*SELF_HOSTED, "2.49", flag, "0")
    assert line.startswith(f"error: {flag}: 0 is out of bounds") and "(0, 1]" in line


def test_a_batch_under_one_sequence_is_refused() -> None:
    line = fails_cleanly(*SELF_HOSTED, "2.49", "--batch-size", "0.5")
    assert line.startswith("error: --batch-size: 0.5 is out of bounds; accepted: a number ≥ 1")


def test_a_route_between_a_model_and_itself_is_refused(tmp_path: Path) -> None:
    outcomes = tmp_path / "o.csv"
    outcomes.write_text("prompt,W\nhi,1\n")
    line = fails_cleanly("route-eval", "--data", str(outcomes), "--weak", "W", "--strong", "W")
    assert line == "error: --strong: 'W' is also --weak; a route needs two models"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--example", "seed-article", "--accelerator", "H100-SXM"], "error: --accelerator: "),
        (["--scenario", str(EXAMPLES / "feature-pnl.yaml"), "--input-tokens", "5"], "--input-"),
        (["--accelerator", "H100-SXM", "--input-usd-per-m", "1"], "give one method's flags"),
        (["--tco-usd-per-hour", "2", "--tokens-per-s", "9", "--stack", "vllm"], "--stack prices"),
        (["--accelerator", "H100-SXM", "--composition", "add"], "--composition the seed method"),
        (["--tco-usd-per-hour", "2"], "error: --tokens-per-s: missing; --tco-usd-per-hour and"),
        (["--input-usd-per-m", "1"], "error: --output-usd-per-m: missing; --input-usd-per-m"),
    ],
)
def test_estimate_refuses_flags_it_would_ignore(extra: list[str], expected: str) -> None:
    assert expected in fails_cleanly("estimate", *extra)


def test_owning_and_renting_at_once_is_refused_in_flags_and_files(tmp_path: Path) -> None:
    line = fails_cleanly(*SELF_HOSTED, "2.49", "--purchase-usd", "30000")
    assert "give --purchase-usd (to own) or --lease-usd-per-hour (to rent), not both" in line
    scenario = tmp_path / "both.yaml"
    scenario.write_text(
        "name: both\nworkload: {input_tokens: 100, output_tokens: 10}\ndeployments:\n"
        "  a: {self_hosted: {accelerator: H100-SXM, model: llama-3.1-8b,\n"
        "      purchase_usd: 30000, lease_usd_per_hour: 2.49}}\n"
    )
    line = fails_cleanly("estimate", "--scenario", str(scenario))
    assert "self_hosted: give purchase_usd (to own) or lease_usd_per_hour" in line


def test_a_stack_without_calibration_points_is_said() -> None:
    def said(*extra: str) -> str:
        proc = run(*SELF_HOSTED, "2.49", *extra)
        assert proc.returncode == 0, proc.stderr
        return " ".join((proc.stdout + proc.stderr).split())

    assert "stack 'tgi' has no calibration points (measured stacks: " in said("--stack", "tgi")
    assert "no calibration points" not in said("--stack", "trtllm")
    assert "no calibration points" not in said("--stack", "other")  # a label points carry


def test_an_error_in_a_catalog_file_is_not_blamed_on_a_flag(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    catalog = tmp_path / "mine.yaml"
    catalog.write_text("accelerators:\n  - {name: X1, vendor: nvidia, tdp_watts: 700}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "unitcost", *SELF_HOSTED, "2.49"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "UNITCOST_CATALOG": str(catalog)},
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: {catalog}.accelerators.0."), proc.stderr


@pytest.mark.parametrize("command", ["portfolio", "governance"])
def test_a_misspelt_backend_is_refused_by_every_command(tmp_path: Path, command: str) -> None:
    config = tmp_path / "gw.yaml"
    config.write_text(
        "deployments:\n  - {name: a, backend: opnai, options: {url: 'http://x/v1'}}\n"
    )
    line = fails_cleanly(command, "--config", str(config))
    assert "deployments[a].backend: unknown backend; accepted: anthropic, local" in line
    assert line.endswith("(got 'opnai')")


def test_a_negative_seed_is_refused() -> None:
    proc = run("scenario", str(EXAMPLES / "feature-pnl.yaml"), "--seed", "-1")
    assert proc.returncode == 2 and "--seed" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("target", ["{d}", "/proc/unitcost-test/x.png"])
def test_an_unwritable_output_is_one_line(tmp_path: Path, target: str) -> None:
    out = target.format(d=tmp_path)
    line = fails_cleanly("scenario", str(EXAMPLES / "feature-pnl.yaml"), "--plot", out)
    assert line.startswith(f"error: {out}: ") and "; accepted: a" in line


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("c.csv", "prompt,W,S,cost:S\nq1,1,0,abc\nq2,0,1,0.1\n", "column 'cost:S': 'abc' is not"),
        ("n.csv", "prompt,W,S\nq1,nan,0\nq2,0,1\n", "column 'W': 'nan' is not a score"),
        ("q.csv", 'prompt,W,S\n"q1,1,0\nq2,0,1\n', "q.csv: column 'W': a row has no value"),
        ("b.jsonl", '{"prompt": "a", "W": 1, "S": 0}\n{"prompt"\n', "b.jsonl line 2 is not JSON"),
        ("l.jsonl", "[1, 2]\n", "l.jsonl line 1 is a list"),
    ],
)
def test_bad_outcome_files_name_the_cell(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    args = ("route-eval", "--data", str(path), "--weak", "W", "--strong", "S", "--split", "random")
    assert expected in fails_cleanly(*args)


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--power-cap-mw", "-1"),
        ("--power-cap-mw", "nan"),
        ("--power-cap-mw", "inf"),
        ("--usd-per-mwh", "-5"),
        ("--pue", "nan"),
        ("--max-load", "0"),
    ],
)
def test_plan_flags_are_checked_like_the_file(flag: str, value: str) -> None:
    plan = str(EXAMPLES / "plans" / "llama-70b-fleet.yaml")
    line = fails_cleanly("plan", plan, flag, value)
    assert line.startswith(f"error: {flag}: {value} is out of bounds; accepted: a finite number")


@pytest.mark.parametrize("value", ["-5", "nan"])
def test_governance_max_age_must_be_a_finite_age(value: str) -> None:
    config = str(EXAMPLES / "gateway" / "portfolio-classes.yaml")
    assert "--max-age-days" in fails_cleanly(
        "governance", "--config", config, "--max-age-days", value
    )


@pytest.mark.parametrize("item", ["llama-8b=0", "llama-8b=-2", "llama-8b=abc", "llama-8b"])
def test_report_replicas_are_deployment_equals_a_count(tmp_path: Path, item: str) -> None:
    line = fails_cleanly("report", "--ledger", f"sqlite:///{tmp_path}/l.db", "--replicas", item)
    assert line.startswith("error: --replicas: ") and "N ≥ 1" in line


def test_a_catalog_entry_reads_as_figures_not_python() -> None:
    proc = run("catalog", "H100-SXM")
    assert proc.returncode == 0, proc.stderr
    assert "None" not in proc.stdout and "{'" not in proc.stdout
    assert "(none)" in proc.stdout  # int4_tops: Hopper lists no INT4 rate
    assert "low: $25,000.00" in proc.stdout


def test_a_facility_preset_shows_its_figures_and_sources() -> None:
    """A preset names rows of the facility tables; only the row names were shown."""
    from unitcost.catalog import load_catalog

    proc = run("catalog", "hyperscale-us")
    assert proc.returncode == 0, proc.stderr
    pue = load_catalog().figure("pue", "hyperscale")
    assert f"{pue.value:g} (hyperscale; {pue.source[:20]}" in proc.stdout
    assert "/kWh (us-industrial;" in proc.stdout and "gCO2/kWh (us;" in proc.stdout


def test_a_source_line_never_shows_scientific_notation() -> None:
    proc = run("estimate", "--scenario", str(EXAMPLES / "llama-70b-h100-fleet.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert "purchase_usd $" in proc.stdout and "e+0" not in proc.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--since", "2026-03-10", "--until", "2026-03-01"], "since: 2026-03-10 is after until"),
        (["--group-by", ","], "--group-by: ',' names no column; accepted: tenant, key_id"),
        ([], "l.db does not exist; accepted: a ledger the gateway wrote"),
    ],
)
def test_usage_checks_its_options_before_the_ledger(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    ledger = tmp_path / "never" / "l.db"
    assert expected in fails_cleanly("usage", "--ledger", f"sqlite:///{ledger}", *args)
    assert not ledger.parent.exists()


def test_an_empty_key_is_not_hashed() -> None:
    assert "KEY: empty" in fails_cleanly("hash-key", "")


def test_a_port_out_of_range_is_refused() -> None:
    proc = run("serve", "--config", "gateway.yaml", "--port", "99999")
    assert proc.returncode == 2 and "--port" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        ("H999:llama-3.1-8b", "unknown accelerator 'H999'; the catalog knows: "),
        ("H100-SXM:llama-3.1-8b:fp3", "Input should be 'bf16'"),
    ],
)
def test_a_bad_reprice_card_names_the_flag(tmp_path: Path, card: str, expected: str) -> None:
    import sqlite3

    ledger = tmp_path / "l.db"
    sqlite3.connect(ledger).execute("CREATE TABLE usage (day TEXT)").connection.commit()
    args = ("report", "--ledger", f"sqlite:///{ledger}", "--out", str(tmp_path / "r"))
    line = fails_cleanly(*args, "--reprice-on", card)
    assert line.startswith(f"error: --reprice-on: {card!r}: {expected}")


def test_replay_prompts_fit_the_width_and_name_the_datasets() -> None:
    proc = run("replay-prompts", "--dataset", "aime")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 60 and all(len(line) <= 200 for line in lines)  # run() sets COLUMNS=200
    assert any(line.endswith("…") for line in lines)
    assert "accepted: aime, gpqa" in fails_cleanly("replay-prompts", "--dataset", "mmlu")


def test_an_eval_out_that_cannot_be_made_fails_before_the_gateway_starts() -> None:
    out = "/proc/unitcost-test/ev"
    line = fails_cleanly("eval", "run", "replay", "--limit", "1", "--out", out)
    assert line.startswith("error: /proc/unitcost-test: ")  # the parent mkdir could not make


def test_a_parquet_ledger_that_is_not_one_gets_one_line(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "junk.parquet").write_text("not parquet")
    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "foreign.parquet")
    for name, why in (("junk", "too small to be a Parquet file"), ("foreign", "column")):
        url = f"parquet:///{tmp_path}/{name}.parquet"
        line = fails_cleanly("export", "--ledger", url, "--out", str(tmp_path / "x.csv"))
        assert line.startswith(f"error: --ledger: {url}: ") and why in line
        assert line.endswith("accepted: the Parquet files `unitcost export --format rows` writes")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["estimate", "--bogus"], "error: No such option: --bogus; see `"),
        (["scenario"], "error: Missing argument 'file'; see `"),
        (["bench", "http://127.0.0.1:9/v1"], "error: Missing option '--model'; see `"),
        (["scenario", str(EXAMPLES / "feature-pnl.yaml"), "--samples", "0"], "'--samples': "),
        (["estimate", "--accelerators", "two"], "error: Invalid value for '--accelerators': "),
        (["estimate", "--example"], "error: Option '--example' requires an argument; see `"),
    ],
)
def test_flags_typer_refuses_get_the_same_one_line(args: list[str], expected: str) -> None:
    proc = run(*args)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert expected in proc.stderr and "╭" not in proc.stderr
    assert proc.stderr.rstrip().endswith(f"unitcost {args[0]} --help`")


def test_help_and_exit_codes_pass_through() -> None:
    assert run("--help").returncode == 0 and "Commands" in run("--help").stdout
    bare = run()
    assert bare.returncode == 2 and "Commands" in bare.stdout  # no command: the help


def test_no_option_name_is_cut_in_any_help_at_80_columns() -> None:
    from typer.main import get_command
    from typer.testing import CliRunner

    from unitcost.cli import app

    root: Any = get_command(app)
    paths = [[name] for name in root.commands]
    paths += [
        [name, sub]
        for name, group in root.commands.items()
        for sub in getattr(group, "commands", {})
    ]
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80", "NO_COLOR": "1"})
        assert result.exit_code == 0, (path, result.output)
        assert max(len(line) for line in result.output.splitlines()) <= 80, path
        assert "…" not in result.output, (
            path,
            [ln for ln in result.output.splitlines() if "…" in ln],
        )


def test_a_plan_without_traffic_is_refused(tmp_path: Path) -> None:
    text = (EXAMPLES / "plans" / "llama-70b-fleet.yaml").read_text()
    plan = tmp_path / "idle.yaml"
    plan.write_text(re.sub(r"requests_per_s: [0-9.]+", "requests_per_s: 0", text))
    line = fails_cleanly("plan", str(plan))
    assert "demand: every bucket asks 0 requests/s" in line
