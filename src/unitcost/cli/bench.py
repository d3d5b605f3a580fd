"""`unitcost bench`: load-test an OpenAI-compatible endpoint and price it at a latency SLO."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from unitcost.cli._console import app, check_number, err, say, show


@app.command()
def bench(
    url: Annotated[
        str, typer.Argument(help="an OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1")
    ],
    model: Annotated[str, typer.Option(help="the model name the server expects")],
    concurrency: Annotated[
        str | None, typer.Option(help="closed-loop levels, e.g. 1,2,4,8")
    ] = None,
    rate: Annotated[
        str | None, typer.Option(help="open-loop Poisson rates in req/s, e.g. 1,2,5")
    ] = None,
    requests: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="measured requests per level")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0.1, metavar="S", help="seconds per level")
    ] = None,
    warmup: Annotated[
        int, typer.Option(min=0, metavar="N", help="unmeasured requests before each level")
    ] = 2,
    timeout: Annotated[
        float,
        typer.Option(
            min=0.1, metavar="S", help="seconds a request may wait for its first or next token"
        ),
    ] = 60.0,
    input_tokens: Annotated[int, typer.Option(help="synthetic prompt length (tokens)")] = 256,
    output_tokens: Annotated[int, typer.Option(help="max_tokens of each request")] = 128,
    dataset: Annotated[
        str | None, typer.Option(help="JSONL prompts, ShareGPT, or 'replay'")
    ] = None,
    tokenizer: Annotated[
        str | None, typer.Option(help="tiktoken:ENC, gguf:PATH or hf:PATH")
    ] = None,
    ignore_eos: Annotated[
        bool, typer.Option("--ignore-eos", help="ask the server to ignore EOS (vLLM)")
    ] = False,
    api_key: Annotated[str | None, typer.Option(envvar="UNITCOST_BENCH_API_KEY")] = None,
    slo: Annotated[
        str | None, typer.Option(help="latency SLOs, comma-separated: ttft_p95=500ms, itl_p95=50ms")
    ] = None,
    hardware: Annotated[str | None, typer.Option(help="catalog accelerator, e.g. H100-SXM")] = None,
    gpus: Annotated[
        int, typer.Option(min=1, metavar="N", help="accelerators serving the endpoint")
    ] = 1,
    catalog_model: Annotated[
        str | None, typer.Option(help="catalog model for the roofline")
    ] = None,
    precision: Annotated[
        str, typer.Option(help="for the roofline: bf16, fp8, int8, int4")
    ] = "bf16",
    lease_usd_per_hour: Annotated[float | None, typer.Option(help="$/accelerator-hour")] = None,
    usd_per_hour: Annotated[float | None, typer.Option(help="$/hour of the whole replica")] = None,
    pue: Annotated[float, typer.Option(min=1.0, metavar="PUE")] = 1.0,
    electricity_usd_per_kwh: Annotated[float, typer.Option(min=0.0, metavar="USD")] = 0.0,
    utilisation: Annotated[float, typer.Option(help="share of paid hours at this load")] = 1.0,
    scenario: Annotated[
        str | None, typer.Option(help="price from a scenario's self_hosted TCO")
    ] = None,
    deployment: Annotated[str | None, typer.Option(help="which deployment of --scenario")] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="folder for bench.json, .csv, .png and .html")
    ] = Path("bench-out"),
    wide: Annotated[bool, typer.Option("--wide", help="every column, past 80")] = False,
) -> None:
    """Drive an endpoint through load levels; TTFT, ITL, tokens/s, and $/1K at a latency SLO."""
    import asyncio

    from rich.progress import Progress

    from unitcost.bench import BenchConfig, run_bench
    from unitcost.bench.costing import Pricing
    from unitcost.bench.metrics import parse_slo
    from unitcost.bench.prompts import from_jsonl, from_replay, synthetic
    from unitcost.bench.report import results_table
    from unitcost.bench.runner import parse_levels
    from unitcost.wire.tokens import load_tokenizer

    for flag, value in (
        ("--lease-usd-per-hour", lease_usd_per_hour),
        ("--usd-per-hour", usd_per_hour),
    ):
        check_number(flag, value, low=0.0)
    check_number("--utilisation", utilisation, low=0.0, high=1.0, strict=True)
    check_number("--timeout", timeout, low=0.0, strict=True)
    levels = parse_levels(concurrency, rate)
    targets = parse_slo(slo)
    if requests is None and duration is None:
        requests = 20
    tok = load_tokenizer(tokenizer) if tokenizer else None
    count = max(64, (requests or 64) + warmup)
    if dataset == "replay":
        prompts = from_replay(output_tokens)
    elif dataset:
        prompts = from_jsonl(dataset, output_tokens)
    else:
        prompts = synthetic(
            tok or load_tokenizer("tiktoken:o200k_base"), input_tokens, output_tokens, count
        )
    pricing = Pricing.from_flags(
        hardware=hardware,
        gpus=gpus,
        catalog_model=catalog_model,
        precision=precision,
        lease_usd_per_hour=lease_usd_per_hour,
        usd_per_hour=usd_per_hour,
        pue=pue,
        electricity_usd_per_kwh=electricity_usd_per_kwh,
        utilisation=utilisation,
        scenario=scenario,
        deployment=deployment,
    )
    cfg = BenchConfig(
        url=url,
        model=model,
        levels=levels,
        prompts=prompts,
        requests=requests,
        duration_s=duration,
        warmup=warmup,
        api_key=api_key,
        tokenizer=tok,
        ignore_eos=ignore_eos,
        slo=targets,
        pricing=pricing,
        out_dir=out_dir,
        timeout_s=timeout,
    )
    import gc

    gc.collect()
    gc.freeze()  # keep set-up objects out of GC passes that would land inside a level
    with Progress(console=err, transient=True) as progress:
        tasks = {lv.label: progress.add_task(lv.label, total=requests or None) for lv in levels}
        report = asyncio.run(
            run_bench(cfg, on_result=lambda lv, r: progress.advance(tasks[lv.label]))
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    # the results on stdout (a file or a pipe gets them); progress and failures on stderr
    show(results_table(report.levels, targets, report.chosen, wide=wide), wide)

    if any(s.tokens_estimated for s in report.levels):
        say("* tokens counted with the tokenizer: the server sent no usage")
    if pricing is None:
        say(
            "not priced: give --hardware (and --lease-usd-per-hour), --usd-per-hour or "
            "--scenario to convert throughput into $/1K tokens"
        )
    else:
        say(f"priced by: {pricing.source}")
    for s in report.levels:
        if s.energy and not s.energy.get("measured"):
            say(f"energy: {s.energy['note']}")
            break
    if targets:
        say(f"cheapest level meeting the SLO: {report.chosen or 'none'}")
    say(f"wrote {', '.join(str(p) for p in report.outputs)}")
    failed = [s for s in report.levels if s.errors]
    if failed:
        say(
            f"error: {failed[0].errors} of {failed[0].requests} requests failed at "
            f"{failed[0].label}; results were still written",
            stderr=True,
        )
        raise typer.Exit(1)
