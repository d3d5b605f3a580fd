"""The gateway as one ASGI app: a route table, lifespan, and errors in OpenAI's shape.

    app = Gateway(load_settings("gateway.yaml"))
    uvicorn.run(app, host="127.0.0.1", port=8000)

Pure ASGI (no framework on the hot path). Every route needs a key except those in
`PUBLIC_PATHS`, so a new route cannot skip authentication by accident. Start-up replays
the journals of gateway processes that died (their rows reach the ledger, their calls in
flight become `interrupted` rows), opens the backends, the ledger and the limits; shutdown
(SIGTERM included) flushes every pending row.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson
from pydantic import SecretStr

from unitcost.errors import (
    InputError,
    MethodNotAllowed,
    NotFoundError,
    PermissionDenied,
    UnitcostError,
)
from unitcost.gateway.anthropic_endpoint import MESSAGES_PATH, handle_messages
from unitcost.gateway.asgi import Receive, Scope, Send, send_error, send_json, send_response
from unitcost.gateway.auth import Keyring, Principal, key_header
from unitcost.gateway.cache import ResponseCache
from unitcost.gateway.classes import observe_into, open_classes
from unitcost.gateway.exchange import Exchange
from unitcost.gateway.limits import open_limits
from unitcost.gateway.metrics import GatewayMetrics
from unitcost.gateway.openapi import openapi_document
from unitcost.gateway.pipeline import Services, handle
from unitcost.gateway.portfolio import Portfolio
from unitcost.gateway.settings import GatewaySettings
from unitcost.gateway.stages.record import Recorder
from unitcost.guard import Guard
from unitcost.ledger.journal import Journal, recover
from unitcost.ledger.record import GROUPS, parse_groups
from unitcost.ledger.store import open_store
from unitcost.ledger.writer import LedgerWriter
from unitcost.report.dashboard import Dashboard, dashboard_app
from unitcost.report.fit import plural, wrap_note
from unitcost.report.inputs import inputs_from_settings
from unitcost.routing.policies import build_route
from unitcost.wire.openai import ENDPOINTS

__all__ = ["PUBLIC_PATHS", "Gateway"]

log = logging.getLogger("unitcost.gateway")

#: the only paths served without a key (the dashboard's page holds no data; its API checks
#: the admin key itself)
PUBLIC_PATHS = frozenset({"/healthz", "/openapi.json", "/dashboard"})
DASHBOARD = "/dashboard"

Handler = Callable[[Scope, Receive, Send, Principal | None], Awaitable[None]]


class Gateway:
    def __init__(self, settings: GatewaySettings, announce: bool = False) -> None:
        self.settings = settings
        self.announce = announce  # print a line at shutdown (`unitcost serve`)
        self.keyring = Keyring(settings)
        self.portfolio = Portfolio(settings)
        classes, self.class_warnings, self.latency = open_classes(settings)
        self.routes = {r.name: build_route(r) for r in settings.routes} | classes
        self.metrics = GatewayMetrics()
        self.services: Services | None = None
        self.dashboard: Dashboard | None = None
        self.ledger: LedgerWriter | None = None
        self.journal: Journal | None = None
        self.started_at = time.time()
        self.recovered = 0
        # (method, path) → handler; the model endpoints authenticate inside the pipeline
        self.table: dict[tuple[str, str], Handler] = {
            ("GET", "/healthz"): self._healthz,
            ("GET", "/openapi.json"): self._openapi,
            ("GET", "/metrics"): self._metrics,
            ("GET", "/v1/models"): self._models,
            ("GET", "/v1/usage"): self._usage,
        }

    async def startup(self) -> None:
        settings = self.settings
        store = open_store(settings.ledger.url)
        if settings.ledger.journal:
            directory = settings.ledger.journal_path()
            self.recovered = await asyncio.to_thread(recover, directory, store)
            self.journal = Journal.open(directory, fsync=settings.ledger.fsync)
        self.ledger = LedgerWriter(
            store,
            settings.ledger.batch_size,
            settings.ledger.interval_s,
            spill_dir=None if self.journal is not None else Path.cwd(),
        )
        await self.portfolio.start()
        limits = await open_limits(settings, store, self.ledger.flush)
        self.dashboard = dashboard_app(
            settings.ledger.url, inputs=inputs_from_settings(settings), authorize=self._is_admin
        )
        self.dashboard.warm()  # builds its view of the ledger in a background thread
        self.services = Services(
            settings,
            self.keyring,
            self.portfolio,
            self.routes,
            ResponseCache(
                settings.cache, verifier="shipped" if settings.cache.semantic.verify else None
            ),
            limits,
            Recorder(self.ledger, self.metrics, self.journal),
            open_guard(settings),
        )
        self.services.recorder.observers.append(observe_into(self.latency))
        for warning in self.class_warnings:
            log.warning(warning)
        if self.recovered and self.announce:
            print(
                wrap_note(
                    f"unitcost gateway: {plural(self.recovered, 'ledger row')} recovered from "
                    "the journal of a gateway that stopped without flushing"
                ),
                file=sys.stderr,
                flush=True,
            )
        if self.keyring.open:
            log.warning("no API keys configured: the gateway accepts anonymous requests")
        gc.collect()
        gc.freeze()  # start-up's objects never need collecting: shorter GC pauses later
        # A request allocates a few hundred containers, nearly all freed by reference count;
        # at CPython's default (a young collection every 700) the cyclic GC took ~5% of the
        # CPU under bench/gateway_overhead.py's load (seen with perf).
        gc.set_threshold(10_000, 10, 10)

    async def shutdown(self) -> bool:
        """Flush and close; True when every row reached the store."""
        stored = True
        if self.dashboard is not None:
            self.dashboard.close()
        if self.services is not None:
            await self.services.limits.close()
            await self.services.cache.close()
        if self.ledger is not None:
            stored = self.ledger.close()  # flushes every pending row
        if self.journal is not None:
            self.journal.close(stored=stored)
        await self.portfolio.close()
        if self.announce and self.ledger is not None:
            left = "" if stored else "; the rest stay in the journal for the next start-up"
            print(
                wrap_note(
                    f"unitcost gateway (pid {os.getpid()}) stopped: "
                    f"{plural(self.ledger.written, 'row')} written to the ledger{left}"
                ),
                file=sys.stderr,
                flush=True,
            )
        return stored

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            endpoint = ENDPOINTS.get(scope["path"])
            if endpoint is not None and scope["method"] == "POST":
                assert self.services is not None, "the lifespan start-up has not run"
                x = Exchange.begin(scope, receive, send, endpoint, self.settings.attribution)
                await handle(x, self.services)
                return
            if scope["path"] == MESSAGES_PATH and scope["method"] == "POST":  # same pipeline
                assert self.services is not None, "the lifespan start-up has not run"
                await handle_messages(
                    scope, receive, send, self.services, self.settings.attribution
                )
                return
            if scope["path"] == DASHBOARD or scope["path"].startswith(DASHBOARD + "/"):
                assert self.dashboard is not None, "the lifespan start-up has not run"
                await self.dashboard(scope, receive, send)
                return
            try:
                await self._route(scope, receive, send)
            except UnitcostError as exc:
                self.metrics.observe_rejection(None, exc.status_code, exc.code or exc.error_type)
                extra = [(k.encode(), v.encode()) for k, v in exc.headers.items()]
                await send_error(send, exc, extra)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        handler = self.table.get((method, path))
        if handler is None:
            known = sorted({p for _, p in self.table} | set(ENDPOINTS) | {MESSAGES_PATH, DASHBOARD})
            if path in known:
                allowed = sorted({m for m, p in self.table if p == path} or {"POST"})
                raise MethodNotAllowed(
                    f"method {method} is not allowed on {path}; accepted: {', '.join(allowed)}",
                    headers={"allow": ", ".join(allowed)},
                )
            raise NotFoundError(f"no route {path}; the gateway serves {', '.join(known)}")
        principal = None
        if path not in PUBLIC_PATHS:
            principal = self.keyring.authenticate(key_header(scope["headers"], b"authorization"))
        await handler(scope, receive, send, principal)

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

    async def _healthz(self, scope: Scope, receive: Receive, send: Send, _: Any) -> None:
        await send_json(
            send,
            200,
            {
                "status": "ok",
                "deployments": len(self.portfolio.deployments),
                "uptime_s": round(time.time() - self.started_at, 1),
            },
        )

    async def _openapi(self, scope: Scope, receive: Receive, send: Send, _: Any) -> None:
        await send_json(send, 200, openapi_document([*self.portfolio.names, *self.routes]))

    async def _metrics(
        self, scope: Scope, receive: Receive, send: Send, principal: Principal | None
    ) -> None:
        if principal is None or not (principal.admin or principal.metrics_only):
            raise PermissionDenied("/metrics needs the admin key or the metrics key")
        await send_response(
            send, 200, self.metrics.render(), b"text/plain; version=0.0.4; charset=utf-8"
        )

    def _is_admin(self, headers: Mapping[str, str]) -> bool:
        try:
            return self.keyring.authenticate(headers.get("authorization", "").encode()).admin
        except UnitcostError:
            return False

    def _reader(self, principal: Principal | None) -> Principal:
        if principal is None or principal.metrics_only:
            raise PermissionDenied("the metrics key may read /metrics only")
        return principal

    async def _models(
        self, scope: Scope, receive: Receive, send: Send, principal: Principal | None
    ) -> None:
        self._reader(principal)
        created = int(self.started_at)
        data = [
            {
                "id": name,
                "object": "model",
                "created": created,
                "owned_by": "unitcost",
                "unitcost": {
                    "backend": dep.upstream.kind,
                    "upstream_models": dep.upstream.models(),
                    "price": dep.card.to_dict(),
                    "max_output_tokens": dep.max_output_tokens,
                },
            }
            for name, dep in self.portfolio.deployments.items()
        ]
        data += [
            {
                "id": name,
                "object": "model",
                "created": created,
                "owned_by": "unitcost",
                "unitcost": {"route": route.config.policy, "deployments": route.config.members()},
            }
            for name, route in self.routes.items()
        ]
        await send_json(send, 200, {"object": "list", "data": data})

    async def _usage(
        self, scope: Scope, receive: Receive, send: Send, principal: Principal | None
    ) -> None:
        """Totals from the ledger; a tenant's key sees only its tenant, the admin key all."""
        reader = self._reader(principal)
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        unknown = sorted(set(query) - {"group_by", "tenant", "since", "until"})
        if unknown:
            raise InputError(
                f"{unknown[0]}: unknown parameter; accepted: group_by, tenant, since, until"
            )
        group_by = parse_groups(query.get("group_by", "tenant"))
        tenant = query.get("tenant")
        if not reader.admin:
            if tenant is not None and tenant != reader.tenant:
                raise PermissionDenied(
                    f"this key belongs to tenant {reader.tenant!r} and "
                    "cannot read another tenant's usage"
                )
            tenant = reader.tenant
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


def open_guard(settings: GatewaySettings) -> Guard | None:
    """The guard, with its classifier loading in the background (a policy that blocks on it
    loads it now, so a missing model fails at start-up rather than on a request)."""
    if not settings.guard.enabled:
        return None
    config = settings.guard
    if config.canary_secret is None:
        # Replicas of one config must plant the same canary, or a shared cache would never
        # hit across them: without a configured secret, derive one from the config itself.
        shared = orjson.dumps([d.model_dump(mode="json") for d in settings.deployments])
        secret = hashlib.sha256(shared + settings.ledger.url.encode()).hexdigest()
        config = config.model_copy(update={"canary_secret": SecretStr(secret)})
    guard = Guard(config)
    policies = guard.policies()
    if any(p.injection.policy == "block" for p in policies):
        guard.warm()
    elif any(p.injection.policy != "off" or p.pii.ner for p in policies):
        # load in the background: the first requests wait on the same lock, not a second load
        threading.Thread(target=guard.warm, name="unitcost-guard-warm", daemon=True).start()
    return guard
