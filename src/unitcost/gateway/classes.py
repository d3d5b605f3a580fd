"""Workload classes in the gateway: built from settings, fed by the ledger's rows.

    classes, warnings, board = open_classes(settings)   # at start-up; warnings are logged
    routes.update(classes)                              # a class plans like a route
    recorder.observers.append(observe_into(board))      # measured latency per option

A request names a class by the `x-unitcost-class` header or by `model`
(`class_named`); the class is recorded on every row of the request. The
classes themselves (plan, SLO, sensitivity, warnings) are in `unitcost.routing.classes`.
"""

from __future__ import annotations

from collections.abc import Callable

from unitcost.errors import InputError, NotFoundError
from unitcost.gateway.settings import GatewaySettings
from unitcost.ledger.record import RowStatus, UsageRecord
from unitcost.routing.classes import LatencyBoard, WorkloadClass, build_classes
from unitcost.routing.policies import Route

__all__ = ["class_named", "observe_into", "open_classes", "price_kind"]


def price_kind(price: object) -> str | None:
    """Which way a deployment is priced: list_price, price_map, self_hosted, seed or None."""
    for kind in ("list_price", "price_map", "self_hosted", "seed"):
        if getattr(price, kind, None) is not None:
            return kind
    return None


def open_classes(
    settings: GatewaySettings,
) -> tuple[dict[str, WorkloadClass], list[str], LatencyBoard]:
    configs = list(getattr(settings, "classes", []))
    deployments = {d.name: (d.backend, price_kind(d.price)) for d in settings.deployments}
    board = LatencyBoard(max((c.window for c in configs), default=200))
    try:
        classes, warnings = build_classes(configs, deployments, board)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return classes, warnings, board


def observe_into(board: LatencyBoard) -> Callable[[UsageRecord], None]:
    """A recorder observer: every answered upstream call's latency goes on the board."""

    def observe(row: UsageRecord) -> None:
        if row.status == RowStatus.OK:
            board.observe(row.deployment, row.latency_ms, row.ttft_ms)

    return observe


def class_named(
    requested: str, header: str | None, routes: dict[str, Route]
) -> WorkloadClass | None:
    """The class a request names: the `x-unitcost-class` header when present (it must name
    a class), else its `model` when that is a class."""
    if header is None:
        by_model = routes.get(requested)
        return by_model if isinstance(by_model, WorkloadClass) else None
    named = routes.get(header)
    if not isinstance(named, WorkloadClass):
        known = sorted(n for n, r in routes.items() if isinstance(r, WorkloadClass))
        raise NotFoundError(
            f"x-unitcost-class: {header!r} is not a workload class; accepted: "
            f"{', '.join(known) or '(none configured)'}",
            param="x-unitcost-class",
        )
    return named
