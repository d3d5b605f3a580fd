"""Shared fixtures: real servers on loopback, started and stopped by the tests.

- `llama_server`: SmolLM2-135M-Instruct under llama.cpp's `llama-server` (a real model, two
  batched slots), the same `LocalModel` the demo runs; `unitcost engine install` builds it.
- `fake_upstream`: the fault-injection instrument (unitcost.testing.FakeUpstream).
- `run_gateway(settings)`: the gateway on uvicorn in a background thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from unitcost.engine import server as local_model
from unitcost.engine.cache import INSTALL_HINT
from unitcost.engine.server import LocalModel
from unitcost.gateway.app import Gateway
from unitcost.gateway.server import running
from unitcost.gateway.settings import GatewaySettings, load_settings
from unitcost.testing import FakeUpstream


def shared_data() -> Path | None:
    """The project's shared datasets: ../shared/data beside the checkout, or where the
    development machines keep it (a fresh clone for CI may live elsewhere)."""
    for candidate in (
        Path(__file__).resolve().parents[2] / "shared" / "data",
        Path("/work/shared/data"),
    ):
        if candidate.is_dir():
            return candidate
    return None


TENANT_KEYS = {"acme": "sk-acme-test", "globex": "sk-globex-test"}
ADMIN_KEY = "sk-admin-test"


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def start_llama_server() -> LocalModel:
    """The real engine; a missing one fails (never skips) the tests that need it."""
    if not local_model.available():
        pytest.fail(f"the local engine is not installed; run: {INSTALL_HINT}", pytrace=False)
    return LocalModel.start(parallel=2)


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LocalModel]:
    with start_llama_server() as server:
        yield server


class LoopThread:
    """An event loop in a thread, for in-process servers the tests talk to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _fake_upstream() -> Iterator[FakeUpstream]:
    loop = LoopThread()
    upstream = loop.run(FakeUpstream().start())
    yield upstream
    loop.run(upstream.close())
    loop.stop()


@pytest.fixture
def fake_upstream() -> Iterator[FakeUpstream]:
    yield from _fake_upstream()


@pytest.fixture
def second_upstream() -> Iterator[FakeUpstream]:
    """Another fake upstream, for routes that fall back from one to the other."""
    yield from _fake_upstream()


@dataclass
class RunningGateway:
    url: str
    app: Gateway
    settings: GatewaySettings

    def client(self, key: str | None = TENANT_KEYS["acme"], **kwargs: Any) -> Any:
        import openai

        return openai.OpenAI(
            base_url=self.url + "/v1", api_key=key or "none", max_retries=0, **kwargs
        )

    def flush(self) -> None:
        assert self.app.ledger is not None
        assert self.app.ledger.flush_sync(10)

    def records(self, expect: int = 1, timeout: float = 10.0, **kwargs: Any) -> list[Any]:
        """Ledger rows, waiting up to `timeout` for `expect` of them: a stream's row is
        appended once the gateway has finished with it, just after the client's last byte."""
        assert self.app.ledger is not None
        deadline = time.time() + timeout
        while True:
            self.flush()
            rows = self.app.ledger.store.records(**kwargs)
            if len(rows) >= expect or time.time() > deadline:
                return rows
            time.sleep(0.02)


def gateway_settings(
    tmp_path: Path, deployments: list[dict[str, Any]], **extra: Any
) -> GatewaySettings:
    values: dict[str, Any] = {
        "ledger": {"url": f"sqlite:///{tmp_path}/ledger.db", "interval_s": 0.01},
        "admin_key": ADMIN_KEY,
        "port": 0,  # a free port: never collide with a gateway already running here
        "tenants": [{"name": name, "keys": [key]} for name, key in TENANT_KEYS.items()],
        "deployments": deployments,
        **extra,
    }
    return load_settings(None, **values)


@contextlib.contextmanager
def serving(settings: GatewaySettings) -> Iterator[RunningGateway]:
    with running(settings) as gateway:
        yield RunningGateway(gateway.url, gateway.app, settings)


@pytest.fixture
def run_gateway(tmp_path: Path) -> Iterator[Callable[..., RunningGateway]]:
    stack = contextlib.ExitStack()

    def start(deployments: list[dict[str, Any]], **extra: Any) -> RunningGateway:
        return stack.enter_context(serving(gateway_settings(tmp_path, deployments, **extra)))

    with stack:
        yield start


def fake_deployment(upstream: FakeUpstream, name: str = "fake", **options: Any) -> dict[str, Any]:
    return {
        "name": name,
        "backend": "openai",
        "options": {"url": upstream.url, "model": "fake-model", **options},
        "price": {
            "list_price": {"input_usd_per_m": 1.0, "output_usd_per_m": 2.0, "source": "test card"}
        },
    }


def llama_deployment(server: LocalModel, name: str = "smollm2", **options: Any) -> dict[str, Any]:
    return {
        "name": name,
        "backend": "openai",
        "options": {"url": server.url, "model": "smollm2", **options},
        "price": {"seed": {"tco_usd_per_hour": 0.0816, "tokens_per_s": 40}},
        "tokenizer": f"gguf:{server.gguf}",
    }


os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
