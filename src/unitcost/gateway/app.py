"""The gateway as one ASGI app: routes, lifespan, and errors in OpenAI's shape.

    app = Gateway(load_settings("gateway.yaml"))
    uvicorn.run(app, host="127.0.0.1", port=8000)

Pure ASGI (no framework on the hot path): a dict from path to handler. Start-up opens the
backends and the ledger; shutdown (SIGTERM included) flushes every pending ledger row.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from unitcost.errors import InputError, NotFoundError, PermissionDenied, UnitcostError
from unitcost.gateway.asgi import Receive, Scope, Send, send_error, send_json, send_response
from unitcost.gateway.auth import Keyring
from unitcost.gateway.cache import ResponseCache
from unitcost.gateway.limits import Limits, month_start
from unitcost.gateway.metrics import GatewayMetrics
from unitcost.gateway.portfolio import Portfolio
from unitcost.gateway.proxy import ENDPOINTS, Proxy
from unitcost.gateway.settings import GatewaySettings
from unitcost.ledger.record import GROUPS
from unitcost.ledger.store import open_store
from unitcost.ledger.writer import LedgerWriter
from unitcost.routing.policies import build_route

__all__ = ["Gateway"]

log = logging.getLogger("unitcost.gateway")


class Gateway:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.keyring = Keyring(settings)
        self.portfolio = Portfolio(settings)
        self.routes = {r.name: build_route(r) for r in settings.routes}
        self.metrics = GatewayMetrics()
        self.cache: ResponseCache | None = None
        self.ledger: LedgerWriter | None = None
        self.proxy: Proxy | None = None
        self.started_at = time.time()

    async def startup(self) -> None:
        await self.portfolio.start()
        store = open_store(self.settings.ledger.url)
        self.ledger = LedgerWriter(
            store, self.settings.ledger.batch_size, self.settings.ledger.interval_s
        )
        self.cache = ResponseCache(self.settings.cache)
        # budgets resume from what the ledger says was spent this month
        spent = {}
        if any(t.budget_usd_per_month is not None for t in self.settings.tenants):
            rows = store.usage(["tenant"], since=month_start())
            spent = {r["tenant"]: r["cost_usd"] for r in rows}
        limits = Limits(self.settings, spent)
        self.proxy = Proxy(
            self.settings,
            self.portfolio,
            self.keyring,
            self.ledger,
            self.metrics,
            self.routes,
            self.cache,
            limits,
        )
        if self.keyring.open:
            log.warning("no API keys configured: the gateway accepts anonymous requests")
        gc.collect()
        gc.freeze()  # start-up's objects never need collecting: shorter GC pauses later

    async def shutdown(self) -> None:
        if self.ledger is not None:
            self.ledger.close()  # flushes every pending row
        if self.cache is not None:
            await self.cache.close()
        await self.portfolio.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            endpoint = ENDPOINTS.get(scope["path"])
            if endpoint is not None and scope["method"] == "POST":
                assert self.proxy is not None, "the lifespan start-up has not run"
                await self.proxy.handle(scope, receive, send, endpoint)
                return
            try:
                await self._other(scope, receive, send)
            except UnitcostError as exc:
                await send_error(send, exc)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except UnitcostError as exc:
                    await send({"type": "lifespan.startup.failed", "message": exc.message})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _other(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        if path == "/healthz":
            await send_json(
                send,
                200,
                {
                    "status": "ok",
                    "deployments": len(self.portfolio.deployments),
                    "uptime_s": round(time.time() - self.started_at, 1),
                },
            )
        elif path == "/metrics":
            await send_response(
                send, 200, self.metrics.render(), b"text/plain; version=0.0.4; charset=utf-8"
            )
        elif path == "/v1/models" and method == "GET":
            self._principal(scope)
            await send_json(send, 200, self._models())
        elif path == "/v1/usage" and method == "GET":
            await self._usage(scope, send)
        elif path in ENDPOINTS or path in ("/v1/models", "/v1/usage"):
            raise InputError(f"method {method} is not allowed on {path}")
        else:
            raise NotFoundError(
                f"no route {path}; the gateway serves /v1/chat/completions, "
                "/v1/completions, /v1/embeddings, /v1/models, /v1/usage, "
                "/healthz and /metrics"
            )

    def _principal(self, scope: Scope) -> Any:
        authorization = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        return self.keyring.authenticate(authorization)

    def _models(self) -> dict[str, Any]:
        data = [
            {
                "id": name,
                "object": "model",
                "created": int(self.started_at),
                "owned_by": "unitcost",
                "unitcost": {
                    "backend": dep.upstream.kind,
                    "upstream_models": dep.upstream.models(),
                    "price": dep.card.to_dict(),
                },
            }
            for name, dep in self.portfolio.deployments.items()
        ]
        data += [
            {
                "id": name,
                "object": "model",
                "created": int(self.started_at),
                "owned_by": "unitcost",
                "unitcost": {"route": route.config.policy, "deployments": route.config.members()},
            }
            for name, route in self.routes.items()
        ]
        return {"object": "list", "data": data}

    async def _usage(self, scope: Scope, send: Send) -> None:
        """Totals from the ledger; a tenant's key sees only its tenant, the admin key all."""
        principal = self._principal(scope)
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        unknown = sorted(set(query) - {"group_by", "tenant", "since", "until"})
        if unknown:
            raise InputError(
                f"{unknown[0]}: unknown parameter; accepted: group_by, tenant, since, until"
            )
        group_by = [g for g in query.get("group_by", "tenant").split(",") if g]
        tenant = query.get("tenant")
        if not principal.admin:
            if tenant is not None and tenant != principal.tenant:
                raise PermissionDenied(
                    f"this key belongs to tenant {principal.tenant!r} and "
                    "cannot read another tenant's usage"
                )
            tenant = principal.tenant
        assert self.ledger is not None
        await self.ledger.flush()
        rows = await asyncio.to_thread(
            self.ledger.store.usage, group_by, tenant, query.get("since"), query.get("until")
        )
        await send_json(
            send,
            200,
            {"object": "list", "group_by": group_by, "data": rows, "groups_accepted": list(GROUPS)},
        )
