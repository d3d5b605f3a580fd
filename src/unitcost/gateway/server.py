"""Running the gateway on uvicorn (uvloop + httptools), the production ASGI server.

serve(settings, config_path)          # blocks; SIGTERM flushes the ledger and exits
                                      # settings.workers > 1: that many processes, one port
with running(settings) as gateway:    # in a background thread (demo, tests)
    gateway.url                       # "http://127.0.0.1:PORT"
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from unitcost.errors import InputError, UnitcostError
from unitcost.gateway.app import Gateway
from unitcost.gateway.settings import GatewaySettings, load_settings
from unitcost.report.fit import plural, wrap_note
from unitcost.wire.http1 import free_port

__all__ = ["RunningGateway", "free_port", "running", "serve", "server", "worker_app"]


def _options(settings: GatewaySettings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "on",
        "log_level": settings.log_level,
        "access_log": False,
        "proxy_headers": False,  # nothing here reads the client address; skip the middleware
        "timeout_graceful_shutdown": 10,
    }


def server(settings: GatewaySettings, announce: bool = False) -> uvicorn.Server:
    """A configured server; `run()` blocks until SIGINT/SIGTERM, then flushes the ledger."""
    return uvicorn.Server(
        uvicorn.Config(Gateway(settings, announce=announce), **_options(settings))
    )


def startup_line(settings: GatewaySettings) -> str:
    """What is serving where, folded at 80 columns (it goes to a terminal or a log)."""
    routes = f", {plural(len(settings.routes), 'route')}" if settings.routes else ""
    return wrap_note(
        f"unitcost gateway on http://{settings.host}:{settings.port}: "
        f"{plural(len(settings.deployments), 'deployment')}{routes}, "
        f"ledger {_safe_url(settings.ledger.url)}, limits in {settings.limits.backend}, "
        f"{plural(settings.workers, 'worker')}"
    )


def _safe_url(url: str) -> str:
    """A ledger URL without its password."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def serve(settings: GatewaySettings, config_path: Path | None = None) -> None:
    print(startup_line(settings), file=sys.stderr, flush=True)
    if settings.workers == 1:
        server(settings, announce=True).run()
        return
    if config_path is None:
        raise InputError("workers: more than one worker needs --config (each worker reads it)")
    # Each worker is its own process with its own journal and ledger writer; budgets and
    # rate limits are shared through Redis (settings refuse `memory` with workers > 1).
    os.environ[_CONFIG_ENV] = str(config_path.resolve())
    os.environ[_OVERRIDES_ENV] = json.dumps(
        {"host": settings.host, "port": settings.port, "workers": settings.workers}
    )
    uvicorn.run(
        "unitcost.gateway.server:worker_app",
        factory=True,
        workers=settings.workers,
        **_options(settings),
    )


_CONFIG_ENV, _OVERRIDES_ENV = "UNITCOST_SERVE_CONFIG", "UNITCOST_SERVE_OVERRIDES"


def worker_app() -> Gateway:
    """One worker's app (uvicorn's factory): the same config, read again in this process."""
    overrides = json.loads(os.environ.get(_OVERRIDES_ENV, "{}"))
    settings = load_settings(os.environ[_CONFIG_ENV]).model_copy(update=overrides)
    return Gateway(settings, announce=True)


@dataclass
class RunningGateway:
    url: str
    app: Gateway


@contextlib.contextmanager
def running(settings: GatewaySettings, timeout: float = 60.0) -> Iterator[RunningGateway]:
    """The gateway on a free loopback port in a background thread, stopped on exit."""
    settings = settings.model_copy(
        update={"host": "127.0.0.1", "port": settings.port or free_port()}
    )
    srv = server(settings)
    thread = threading.Thread(target=srv.run, name="unitcost-gateway", daemon=True)
    thread.start()
    deadline = time.time() + timeout
    while not srv.started:
        if not thread.is_alive() or time.time() > deadline:
            raise UnitcostError("the gateway did not start; see the log above")
        time.sleep(0.02)
    app = srv.config.loaded_app
    while not isinstance(app, Gateway):  # uvicorn may wrap the app in middleware
        app = app.app
    try:
        yield RunningGateway(f"http://127.0.0.1:{settings.port}", app)
    finally:
        srv.should_exit = True
        thread.join(30)
