"""`unitcost demo` with the local engine: the local row when it runs, and one line (never a
traceback) and the rest of the demo when it crashes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.unit.engine import crashing_engine
from unitcost.engine.server import LocalModel


def demo(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "unitcost",
            "demo",
            "--local-questions",
            "2",
            "--ledger",
            f"sqlite:///{tmp_path}/ledger.db",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "1000", **env},  # the engine's line stays one line
    )


def test_demo_prints_the_local_row_priced_by_measured_throughput(
    llama_server: LocalModel, tmp_path: Path
) -> None:
    done = demo({}, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    row = next(line for line in done.stdout.splitlines() if "smollm2-local" in line)
    assert "2 " in row  # two questions answered
    assert "output tokens/s measured on this machine" in done.stderr
    assert "smollm2-local: priced by economics: seed method" in done.stdout


def test_a_crashing_engine_is_one_line_and_the_demo_goes_on(tmp_path: Path) -> None:
    home = tmp_path / "home"
    crashing_engine.install(home)
    done = demo({"UNITCOST_HOME": str(home), "UNITCOST_FAKE_ENGINE": "segv"}, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith("local engine:")]
    assert "died with SIGSEGV" in line and "fix:" in line and "log: " in line
    assert "smollm2-local" not in done.stdout.split("note:")[0]  # no local row in the table
    assert "gpt-5-mini" in done.stdout  # the replay portfolio was still measured
    assert "skipped: its engine failed" in done.stdout
