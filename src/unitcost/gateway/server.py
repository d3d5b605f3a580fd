"""Running the gateway on uvicorn (uvloop + httptools), the production ASGI server."""

from __future__ import annotations

import uvicorn

from unitcost.gateway.app import Gateway
from unitcost.gateway.settings import GatewaySettings

__all__ = ["serve", "server"]


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
        timeout_graceful_shutdown=10,
    )
    return uvicorn.Server(config)


def serve(settings: GatewaySettings) -> None:
    server(settings).run()
