"""schemathesis against the gateway's own OpenAPI document: no input produces a 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ADMIN_KEY, TENANT_KEYS, fake_deployment


def test_no_fuzzed_request_gets_a_server_error(run_gateway, fake_upstream, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway([fake_deployment(fake_upstream)])
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli is not None, "schemathesis is part of the test extra"
    for key in (TENANT_KEYS["acme"], ADMIN_KEY):
        done = subprocess.run(
            [
                cli,
                "run",
                f"{gw.url}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "60",
                "--generation-deterministic",
                "-H",
                f"Authorization: Bearer {key}",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
