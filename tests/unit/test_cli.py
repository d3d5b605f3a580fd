"""The command line as a user meets it: real processes, exit codes, one-line errors."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Commands that write a default output (governance.md, a plot) write it here, not in the
# checkout; the directory is removed when the test process exits.
_SCRATCH_DIR = tempfile.TemporaryDirectory(prefix="unitcost-cli-")
SCRATCH = _SCRATCH_DIR.name


def python(script: str) -> subprocess.CompletedProcess[str]:
    """A Python snippet in a fresh interpreter: logging starts unconfigured, as in the CLI."""
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=SCRATCH
    )


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unitcost", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": ""},
        cwd=SCRATCH,
    )


def test_estimate_seed_example_as_json() -> None:
    proc = run("estimate", "--example", "seed-article", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert round(data["deployments"]["overheads-add"]["usd_per_1k_tokens"], 4) == 0.1094
    assert round(data["deployments"]["overheads-compound"]["usd_per_1k_tokens"], 4) == 0.1111
    assert "22×" in data["deployments"]["overheads-add"]["energy_check"]


def test_estimate_from_flags_self_hosted() -> None:
    proc = run(
        "estimate",
        "--accelerator",
        "H100-SXM",
        "--model",
        "llama-3.1-8b",
        "--precision",
        "fp8",
        "--lease-usd-per-hour",
        "2.5",
        "--utilisation",
        "0.5",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)["deployments"]["estimate"]
    assert d["usd_per_accelerator_hour"]["lines"][0] == {
        "name": "lease",
        "value": 2.5,
        "source": "input lease_usd_per_hour",
    }
    assert d["usd_per_1k_output"] > d["usd_per_1k_input"] > 0


def test_seed_flags_and_bad_overhead() -> None:
    proc = run(
        "estimate",
        "--tco-usd-per-hour",
        "10",
        "--tokens-per-s",
        "33",
        "--overhead",
        "energy=0.2",
        "--overhead",
        "net=0.1",
        "--composition",
        "compound",
        "--json",
    )
    assert (
        round(json.loads(proc.stdout)["deployments"]["estimate"]["usd_per_1k_tokens"], 4) == 0.1111
    )
    bad = run("estimate", "--tco-usd-per-hour", "10", "--tokens-per-s", "33", "--overhead", "x")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: --overhead: 'x' is not NAME=NUMBER (e.g. energy=0.2)"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("name: x\ndeployments: {a: [1, 2\n", "not valid YAML at line"),
        (
            "name: x\ndeployments:\n  a: {self_hosted: {accelerator: H1000, model: llama-3.1-8b}}\n",
            "deployments.a.self_hosted.accelerator: unknown accelerator 'H1000'; the catalog knows:",
        ),
        (
            "name: x\ndeployments:\n  a: {list_price: {input_usd_per_m: -2, output_usd_per_m: 1}}\n",
            "input_usd_per_m: -2 is out of bounds; accepted: a number ≥ 0",
        ),
        (
            "name: x\ndeployments:\n  a: {list_price: {input_usd_per_m: 1}}\n",
            "a.list_price.output_usd_per_m: Field required",
        ),
        (
            "name: x\ndeployments:\n  a: {list_price: {input_usd_per_m: {low: 5, high: 1},"
            " output_usd_per_m: 1}}\n",
            "range has low > high (low=5, high=1)",
        ),
    ],
)
def test_bad_scenarios_exit_2_with_one_line(tmp_path: Path, content: str, expected: str) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(content)
    for command in (["estimate", "--scenario", str(f)], ["scenario", str(f)]):
        proc = run(*command)
        assert proc.returncode == 2
        assert expected in proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_scenario_writes_percentiles_plot_and_html(tmp_path: Path) -> None:
    png, html = tmp_path / "s.png", tmp_path / "s.html"
    proc = run(
        "scenario",
        str(ROOT / "examples" / "feature-pnl.yaml"),
        "--samples",
        "2000",
        "--json",
        "--plot",
        str(png),
        "--html",
        str(html),
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    p = data["percentiles"]["total.gross_margin"]
    assert p["p5"] < p["p50"] < p["p95"] <= 1
    assert data["tornado"]["output"] == "total.gross_margin"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in html.read_text()


def test_an_undefined_figure_is_null_in_json_never_nan(tmp_path: Path) -> None:
    """No users, no revenue: the margin is undefined. `NaN` is not JSON (strict parsers
    refuse the whole answer); it was printed as is."""
    text = (ROOT / "examples" / "feature-pnl.yaml").read_text()
    scenario = tmp_path / "users0.yaml"
    scenario.write_text(text.replace("users: 40000", "users: 0"))
    proc = run("scenario", str(scenario), "--samples", "500", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert data["percentiles"]["total.gross_margin"]["p50"] is None


def test_unknown_example_lists_the_known_ones() -> None:
    proc = run("estimate", "--example", "nope")
    assert proc.returncode == 2
    assert "accepted: api-vs-self-hosted, feature-pnl" in proc.stderr


def test_a_long_note_wraps_under_its_label(capsys: pytest.CaptureFixture[str]) -> None:
    from unitcost.cli._console import out, say

    width = out.width
    out.width = 40
    try:
        say("  note: " + "word " * 20 + "/tmp/a/path/that/is/longer/than/forty/columns", hang=8)
    finally:
        out.width = width
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 2 and lines[0].startswith("  note: word")
    assert all(x.startswith(" " * 8) and x[8] != " " for x in lines[1:])  # hung, not flush
    assert "/tmp/a/path/that/is/longer/than/forty/columns" in lines[-1]  # a path never splits


def test_usage_wide_shows_every_column_past_the_terminal(tmp_path: Path) -> None:
    from unitcost.ledger.record import UsageRecord, new_id
    from unitcost.ledger.store import SQLiteStore

    tenant = "acme-corporation-european-division-production"
    ledger = tmp_path / "l.db"
    store = SQLiteStore(str(ledger))
    store.append(
        [
            UsageRecord(
                id=new_id(), request_id=new_id(), ts=1.8e9, tenant=tenant,
                endpoint="chat/completions", requested="m", deployment="m", status="ok",
                http_status=200, stream=False, prompt_tokens=123_456, completion_tokens=7,
            )
        ]
    )  # fmt: skip
    store.close()
    proc = subprocess.run(
        [sys.executable, "-m", "unitcost", "usage", "--wide", "--ledger", f"sqlite:///{ledger}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "80", "PATH": ""},  # a terminal of 80 columns
    )
    assert proc.returncode == 0, proc.stderr
    head = next(line for line in proc.stdout.splitlines() if "requests" in line)
    assert "reasoning tokens" in head and "estimated" in head
    assert tenant in proc.stdout and "123,456" in proc.stdout  # nothing squeezed


def test_log_warnings_are_labelled_and_fit_80_columns() -> None:
    """Start-up warnings (a portfolio's advice, a price list's age) reach the terminal as
    `warning: …` folded at 80 columns; Python's fallback printed them bare, 109 wide."""
    script = (
        "import logging; from unitcost.cli._console import log_to_console; log_to_console(); "
        "logging.getLogger('unitcost.gateway').warning('classes.private: %d viable option; "
        "keep at least two (an outage or a price change then has somewhere to go)', 1); "
        "logging.getLogger('unitcost.gateway').info('not shown')"
    )
    proc = python(script)
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("warning: classes.private: 1 viable option; keep"), lines
    assert len(lines) == 2 and all(len(line) <= 80 for line in lines), lines
    assert lines[1].startswith("    ") and "not shown" not in proc.stderr


def test_a_root_handler_added_later_does_not_print_warnings_twice() -> None:
    """onnxruntime's quantizer logs through the root logger, which configures a root handler
    mid-run; the embedder keeps its advice quiet, and unitcost's warnings still print once."""
    script = (
        "import logging; from unitcost.cli._console import log_to_console; log_to_console(); "
        "from unitcost.routing.embeddings import _root_log_quiet\n"
        "with _root_log_quiet(): logging.warning('consider pre-processing')\n"
        "assert not logging.getLogger().handlers\n"
        "logging.warning('a later root line')\n"
        "logging.getLogger('unitcost.gateway').warning('once')"
    )
    proc = python(script)
    assert proc.returncode == 0, proc.stderr
    assert "pre-processing" not in proc.stderr
    assert proc.stderr.count("once") == 1 and "warning: once" in proc.stderr, proc.stderr


def test_a_defaulted_utilisation_is_said() -> None:
    """Utilisation moves every $/token figure; at its default it was said only in --json."""
    base = ("estimate", "--accelerator", "H100-SXM", "--model", "llama-3.1-8b")
    said = run(*base)
    assert said.returncode == 0, said.stderr
    assert "utilisation 50% of paid hours serving traffic (the default" in said.stdout
    given = run(*base, "--utilisation", "0.7")
    assert given.returncode == 0 and "(the default" not in given.stdout
