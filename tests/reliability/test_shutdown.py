"""SIGTERM flushes every pending ledger row before the gateway exits."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import LoopThread, wait_http
from unitcost.gateway.server import free_port
from unitcost.testing import FakeUpstream


def test_sigterm_flushes_pending_records(tmp_path: Path) -> None:
    loop = LoopThread()
    upstream = loop.run(FakeUpstream().start())
    port = free_port()
    config = tmp_path / "gateway.yaml"
    # A long flush interval and a huge batch: nothing is written until shutdown.
    config.write_text(f"""
port: {port}
ledger: {{url: "sqlite:///{tmp_path}/ledger.db", interval_s: 600, batch_size: 100000}}
tenants: [{{name: acme, keys: [k]}}]
deployments:
  - name: fake
    backend: openai
    options: {{url: "{upstream.url}", model: m}}
    price: {{list_price: {{input_usd_per_m: 1, output_usd_per_m: 1}}}}
""")
    proc = subprocess.Popen(
        [sys.executable, "-m", "unitcost", "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
        with httpx.Client(headers={"authorization": "Bearer k"}) as client:
            for _ in range(50):
                r = client.post(
                    f"http://127.0.0.1:{port}/v1/chat/completions",
                    json={"model": "fake", "messages": [{"role": "user", "content": "x"}]},
                )
                assert r.status_code == 200
        rows = sqlite3.connect(tmp_path / "ledger.db").execute("select count(*) from usage")
        assert rows.fetchone()[0] == 0  # still pending in memory
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal: exit status -15
        assert proc.wait(30) in (0, -signal.SIGTERM)
    finally:
        proc.kill()
        loop.run(upstream.close())
        loop.stop()
    count = sqlite3.connect(tmp_path / "ledger.db").execute("select count(*) from usage").fetchone()
    assert count[0] == 50
