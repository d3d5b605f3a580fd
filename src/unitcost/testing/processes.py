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
import time
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
