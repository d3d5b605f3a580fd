"""Running the gateway on uvicorn (uvloop + httptools), the production ASGI server.

serve(settings)                       # blocks; SIGTERM flushes the ledger and exits
with running(settings) as gateway:    # in a background thread (demo, tests)
    gateway.url                       # "http://127.0.0.1:PORT"
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn

from unitcost.errors import UnitcostError
from unitcost.gateway.app import Gateway
from unitcost.gateway.settings import GatewaySettings
from unitcost.wire.http1 import free_port

__all__ = ["RunningGateway", "free_port", "running", "serve", "server"]


def server(settings: GatewaySettings) -> uvicorn.Server:
    """A configured server; `run()` blocks until SIGINT/SIGTERM, then flushes the ledger."""
    config = uvicorn.Config(
        Gateway(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=False,  # nothing here reads the client address; skip the middleware
        timeout_graceful_shutdown=10,
    )
    return uvicorn.Server(config)


def serve(settings: GatewaySettings) -> None:
    server(settings).run()


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
