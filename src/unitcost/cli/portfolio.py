"""`unitcost portfolio`: each workload class with its options' price, latency and share.

unitcost portfolio --config gateway.yaml            # the ledger named in the config
unitcost portfolio --config gateway.yaml --ledger sqlite:///other.db --json
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from unitcost.cli._console import app, out, say, say_json
from unitcost.errors import UnitcostError

__all__ = ["portfolio"]


def _cards(settings: Any) -> dict[str, Any]:
    """Each deployment's price card, as the gateway would price it (replay: its recording)."""
    from unitcost.gateway.portfolio import price_card
    from unitcost.gateway.upstreams.registry import create_upstream

    cards: dict[str, Any] = {}
    for d in settings.deployments:
        if d.price is not None:
            cards[d.name] = price_card(d.name, d.price, d.price_workload)
            continue
        upstream = create_upstream(d.name, d.backend, d.options, f"deployments[{d.name}]")
        if d.backend == "replay":  # its price is in the recording; nothing is contacted
            asyncio.run(upstream.start())
        cards[d.name] = upstream.default_price()
    return cards


def _ms(value: float | None) -> str:
    return "(none)" if value is None else f"{value:,.0f}"


@app.command()
def portfolio(
    config: Annotated[Path, typer.Option(help="gateway YAML with a classes: section")],
    ledger: Annotated[str | None, typer.Option(help="default: the config's ledger url")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Workload classes: each option's price, measured latency (ledger) and share of traffic."""
    from rich.table import Table

    from unitcost.gateway.classes import open_classes
    from unitcost.gateway.settings import load_settings
    from unitcost.ledger.queries import open_reader
    from unitcost.routing.portfolio import class_stats

    settings = load_settings(config)
    classes, warnings, _ = open_classes(settings)
    if not classes:
        say(f"{config}: no classes: section; nothing to show")
        return
    cards = _cards(settings)
    url = ledger or settings.ledger.url
    try:
        reader = open_reader(url)
    except UnitcostError as exc:  # a fresh gateway has no ledger yet: show prices alone
        # the reader names `--ledger`; when the url came from the config, say so instead
        message = exc.message if ledger else exc.message.replace("--ledger", "the config's ledger")
        say(f"{message}: latency and share need traffic through the gateway", hang=4)
        stats = {}
    else:
        try:
            stats = class_stats(reader)
        finally:
            reader.close()
    report: list[dict[str, Any]] = []
    for name, cls in classes.items():
        spec = cls.spec
        for option in cls.config.deployments:
            card = cards.get(option)
            s = stats.get((name, option))
            report.append(
                {
                    "class": name,
                    "option": option,
                    "hosting": "self-hosted" if cls.hosting[option].self_hosted else "api",
                    "open_weight": cls.hosting[option].open_weight,
                    "allowed": option in cls.allowed,
                    "input_usd_per_m": None if card is None else card.input_usd_per_m,
                    "output_usd_per_m": None if card is None else card.output_usd_per_m,
                    "price_origin": None if card is None else card.origin,
                    "calls": s.calls if s else 0,
                    "failed": s.failed if s else 0,
                    "latency_p95_ms": s.latency_p95_ms if s else None,
                    "ttft_p95_ms": s.ttft_p95_ms if s else None,
                    "share": s.share if s else 0.0,
                    "slo": spec.latency_slo.model_dump(exclude_none=True),
                    "pii": spec.sensitivity.pii,
                    "throughput": spec.throughput,
                }
            )
    if as_json:
        say_json({"options": report, "warnings": warnings})
        return
    for name, cls in classes.items():
        spec = cls.spec
        slo = ", ".join(
            f"{k.removesuffix('_ms').replace('_', ' ')} ≤ {v:,.0f} ms"
            for k, v in spec.latency_slo.model_dump(exclude_none=True).items()
        )
        title = f"{name}: {spec.throughput}, SLO {slo or '(none)'}, pii {spec.sensitivity.pii}"
        table = Table(title=title, title_justify="left", width=80)
        for col, just in (
            ("option", "left"),
            ("host", "left"),
            ("in $/1M", "right"),
            ("out $/1M", "right"),
            ("calls", "right"),
            ("p95 ms", "right"),
            ("share", "right"),
        ):
            table.add_column(col, justify=just, overflow="ellipsis", no_wrap=True)  # type: ignore[arg-type]
        for r in (r for r in report if r["class"] == name):
            host = ("own" if r["hosting"] == "self-hosted" else "api") + (
                "" if r["allowed"] else " ✗"
            )
            price = (
                ("(none)", "(none)")
                if r["input_usd_per_m"] is None
                else (f"${r['input_usd_per_m']:.3f}", f"${r['output_usd_per_m']:.3f}")
            )
            table.add_row(
                r["option"],
                host,
                *price,
                f"{r['calls']:,}",
                _ms(r["latency_p95_ms"]),
                f"{r['share']:.1%}",
            )
        out.print(table)
    say("host: own = self-hosted, open weights; api = vendor's API; ✗ = excluded by pii", hang=6)
    for warning in warnings:
        say(f"warning: {warning}", hang=4)
