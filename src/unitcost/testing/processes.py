"""Real processes for fault tests and benchmarks: `unitcost serve`, a fake upstream, a Redis.

    with redis_server() as (url, restart), fake_upstream_process(delay_s=0.1) as upstream:
        gw = GatewayProcess(config, tmp_dir, workers=2).start(); ...; gw.kill(); gw.start()

Instruments, like the rest of `unitcost.testing`: a Redis of their own on a free port, never
the machine's shared one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from unitcost.wire.http1 import free_port

#: the fake upstream's command line (not `-m`: the package imports the module first)
FAKE_UPSTREAM = [sys.executable, "-c", "from unitcost.testing.fake_upstream import main; main()"]


def wait_for(url: str, proc: subprocess.Popen[Any] | None = None, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextmanager
def fake_upstream_process(delay_s: float = 0.0) -> Iterator[str]:
    """The fake upstream in its own process, so the gateway's CPU is its own."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "unitcost.testing.fake_upstream",
            "--port",
            str(port),
            "--delay",
            str(delay_s),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.time() + 20
        while True:  # answers 404 on GET: reachable is enough
            try:
                httpx.get(url + "/models", timeout=0.5)
                break
            except httpx.HTTPError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        proc.kill()
        proc.wait()


class GatewayProcess:
    """`unitcost serve` in a subprocess, started, killed and restarted by a test."""

    def __init__(self, config: dict[str, Any], directory: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.path = directory / "gateway.yaml"
        self.path.write_text(yaml.safe_dump(config))
        self.workers = workers
        self.log = (directory / "gateway.log").open("ab")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> GatewayProcess:
        command = [
            sys.executable,
            "-m",
            "unitcost",
            "serve",
            "--config",
            str(self.path),
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        self.proc = subprocess.Popen(
            command, stdout=self.log, stderr=self.log, start_new_session=True
        )
        wait_for(self.url + "/healthz", self.proc)
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group: the supervisor and every worker."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


@contextmanager
def redis_server() -> Iterator[tuple[str, Any]]:
    """A Redis of the test's own on a free port (never the machine's shared one), with a
    function that restarts it empty."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    state: dict[str, subprocess.Popen[bytes]] = {}

    def start() -> None:
        state["proc"] = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.time() + 10
        import socket

        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def restart() -> None:
        state["proc"].kill()
        state["proc"].wait()
        start()

    start()
    try:
        yield f"redis://127.0.0.1:{port}/0", restart
    finally:
        state["proc"].kill()
        state["proc"].wait()


#: the key `replica_config` gives its tenant, and what one call costs at its price card
REPLICA_KEY = "sk-acme-replicas"
CALL_USD = 0.002  # 10 completion tokens at $200/M (the fake upstream's answer)


def replica_config(
    upstream: str, ledger: str, redis: str | None = None, **tenant: Any
) -> dict[str, Any]:
    """A gateway config for fault runs: one tenant (`REPLICA_KEY`), one fake deployment whose
    call costs exactly `CALL_USD`, limits in Redis when given. The guard's classifier is off:
    these runs are about ledgers and limits, and it has its own benchmark."""
    values: dict[str, Any] = {
        "ledger": {"url": ledger, "interval_s": 0.01},
        "guard": {"default": {"injection": {"policy": "off"}}},
        "tenants": [{"name": "acme", "keys": [REPLICA_KEY], **tenant}],
        "deployments": [
            {
                "name": "fake",
                "backend": "openai",
                "options": {"url": upstream, "model": "fake-model"},
                "price": {
                    "list_price": {
                        "input_usd_per_m": 0.0,
                        "output_usd_per_m": 200.0,
                        "source": "test card",
                    }
                },
            }
        ],
    }
    if redis is not None:
        values["limits"] = {
            "backend": "redis",
            "redis_url": redis,
            "key_prefix": f"t{uuid.uuid4().hex[:8]}:",
        }
    return values


class ClientLoad:
    """Clients sending requests with their own ids until stopped (a third streams, by
    default); the ids that got a whole 2xx answer are what the ledger must hold."""

    def __init__(self, url: str, clients: int = 6, stream_every: int = 3) -> None:
        self.url, self.stream_every = url, stream_every
        self.succeeded: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(clients)]

    def _run(self, i: int) -> None:
        n = 0
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                n += 1
                rid = f"c{i}-{n}-{uuid.uuid4().hex[:8]}"
                stream = n % self.stream_every == 0
                body = {
                    "model": "fake",
                    "messages": [{"role": "user", "content": "hi"}],
                    "stream": stream,
                    "max_tokens": 10,
                }
                headers = {"authorization": f"Bearer {REPLICA_KEY}", "x-request-id": rid}
                try:
                    with client.stream(
                        "POST", f"{self.url}/v1/chat/completions", json=body, headers=headers
                    ) as reply:
                        data = b"".join(reply.iter_bytes())
                    if reply.status_code == 200 and (not stream or data.endswith(b"[DONE]\n\n")):
                        self.succeeded.append(rid)
                except httpx.HTTPError:
                    time.sleep(0.01)  # the gateway is down: try again

    def __enter__(self) -> ClientLoad:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()
