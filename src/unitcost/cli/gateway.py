"""`unitcost serve | usage | replay-prompts | hash-key`: the gateway and its ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from unitcost.cli._console import app, out, say, say_json, show
from unitcost.errors import InputError
from unitcost.ledger.record import GROUPS, parse_groups


@app.command()
def serve(
    config: Annotated[Path, typer.Option(help="gateway YAML settings")],
    host: Annotated[str | None, typer.Option(help="overrides the file and UNITCOST_HOST")] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="overrides the file and UNITCOST_PORT")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="processes on one port (limits in Redis)")
    ] = None,
) -> None:
    """Run the OpenAI-compatible gateway (default 127.0.0.1:8000)."""
    from unitcost.gateway.server import serve as run
    from unitcost.gateway.settings import load_settings

    settings = load_settings(config, **({"workers": workers} if workers else {}))
    flags = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    run(settings.model_copy(update=flags), config)


@app.command()
def usage(
    config: Annotated[Path | None, typer.Option(help="gateway YAML (for its ledger url)")] = None,
    ledger: Annotated[str | None, typer.Option(help="sqlite:///PATH or postgresql://...")] = None,
    group_by: Annotated[
        str,
        typer.Option(help="comma-separated: " + ", ".join(GROUPS)),
    ] = "tenant,deployment",
    tenant: Annotated[str | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="every column, past 80")] = False,
    per: Annotated[str, typer.Option(help="price per 1M or 1K tokens")] = "1M",
) -> None:
    """Usage and cost totals read from the ledger, grouped as asked."""
    from unitcost.ledger.queries import Period
    from unitcost.ledger.store import open_store
    from unitcost.report.tables import usage_table

    if per not in ("1M", "1K"):
        raise InputError(f"--per: {per!r}; accepted: 1M, 1K")
    groups = parse_groups(group_by)
    if not groups:
        raise InputError(f"--group-by: {group_by!r} names no column; accepted: {', '.join(GROUPS)}")
    Period(since, until)  # bad or reversed dates fail before the ledger is opened

    if ledger is None:
        if config is None:
            raise InputError("usage: give --ledger URL or --config gateway.yaml")
        from unitcost.gateway.settings import load_settings

        ledger = load_settings(config).ledger.url
    path = ledger.removeprefix("sqlite:///")
    if path != ledger and path != ":memory:" and not Path(path).is_file():
        # open_store would create it: the gateway's ledger must be, a query's must not be
        raise InputError(f"--ledger: {ledger} does not exist; accepted: a ledger the gateway wrote")
    store = open_store(ledger)
    try:
        rows = store.usage(groups, tenant, since, until)
    finally:
        store.close()
    if as_json:
        say_json(rows)
        return
    scale = 1_000_000 if per == "1M" else 1_000
    table = usage_table(rows, groups, f"usage from {ledger}", wide=wide, per=scale)
    if not rows:
        say("the ledger has no rows for that selection")
        return
    show(table, wide)


@app.command("replay-prompts")
def replay_prompts(
    dataset: Annotated[str | None, typer.Option(help="gpqa or aime")] = None,
    full: Annotated[bool, typer.Option("--full", help="print whole prompts as JSON lines")] = False,
) -> None:
    """The prompts the replay backend has recorded answers for."""
    from unitcost.catalog.replay import load_replay_set

    data = load_replay_set()
    known = sorted({q["dataset"] for q in data.questions.values()})
    if dataset is not None and dataset not in known:
        raise InputError(f"--dataset: unknown {dataset!r}; accepted: {', '.join(known)}")
    for qid, q in data.questions.items():
        if dataset and q["dataset"] != dataset:
            continue
        if full:
            print(json.dumps({"id": qid, "prompt": q["prompt"]}))
        else:
            question = q["prompt"].split("\n\n", 1)[-1]  # past the shared instructions
            room = max(out.width, 80) - len(qid) - 2  # one line per prompt at the width
            text = " ".join(question.split())
            print(f"{qid}  {text if len(text) <= room else text[: room - 1] + '…'}")


@app.command("hash-key")
def hash_key_cmd(key: Annotated[str, typer.Argument(help="an API key to store hashed")]) -> None:
    """Print the SHA-256 the gateway config stores for an API key (tenants[].key_sha256)."""
    from unitcost.gateway.settings import hash_key

    if not key.strip():
        raise InputError("KEY: empty; accepted: the API key a client sends, at least one character")
    print(hash_key(key))
