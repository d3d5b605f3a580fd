"""`unitcost ...`: the command line. Thin: parse, call the library, render.

Bad input exits with code 2 and one line on stderr naming the field; never a traceback.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress

from unitcost.economics.scenario import evaluate, monte_carlo, tornado
from unitcost.economics.spec import Scenario, load_scenario, parse_scenario
from unitcost.errors import InputError, UnitcostError

__all__ = ["app", "main"]

app = typer.Typer(
    help="What every AI token really costs, and the machinery that makes it cost less.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)


def example_path(name: str) -> Path:
    examples = resources.files("unitcost") / "examples"
    known = sorted(
        p.name.removesuffix(".yaml") for p in examples.iterdir() if p.name.endswith(".yaml")
    )
    if name not in known:
        raise InputError(f"--example: unknown {name!r}; accepted: {', '.join(known)}")
    return Path(str(examples / f"{name}.yaml"))


def _scenario_from_flags(flags: dict[str, Any]) -> Scenario:
    """Build a one-deployment scenario from `estimate`'s flags."""
    workload = {
        "input_tokens": flags.pop("input_tokens"),
        "output_tokens": flags.pop("output_tokens"),
    }
    given = {k: v for k, v in flags.items() if v is not None}
    overheads = given.pop("overhead", None)
    if "tco_usd_per_hour" in given or "tokens_per_s" in given:
        seed: dict[str, Any] = {
            "tco_usd_per_hour": given.get("tco_usd_per_hour"),
            "tokens_per_s": given.get("tokens_per_s"),
            "composition": given.get("composition", "add"),
            "overheads": _pairs("--overhead", overheads or []),
        }
        deployment: dict[str, Any] = {"seed": seed}
    elif "input_usd_per_m" in given or "output_usd_per_m" in given:
        deployment = {
            "list_price": {k: given.get(k) for k in ("input_usd_per_m", "output_usd_per_m")}
        }
    elif "accelerator" in given or "model" in given:
        given.pop("composition", None)
        if "input_tokens_per_s" in given or "output_tokens_per_s" in given:
            given["throughput"] = {
                "input_tokens_per_s": given.pop("input_tokens_per_s", None),
                "output_tokens_per_s": given.pop("output_tokens_per_s", None),
            }
        deployment = {"self_hosted": given}
    else:
        raise InputError(
            "estimate: give --scenario FILE, --example NAME, --accelerator and --model "
            "(self-hosted), --tco-usd-per-hour and --tokens-per-s (seed method), "
            "or --input-usd-per-m and --output-usd-per-m (list price)"
        )
    return parse_scenario(
        {"name": "estimate", "workload": workload, "deployments": {"estimate": deployment}},
        origin="flags",
    )


def _pairs(flag: str, items: list[str]) -> dict[str, float]:
    pairs: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            pairs[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise InputError(f"{flag}: {item!r} is not NAME=NUMBER (e.g. energy=0.2)")
    return pairs


def _load(scenario: Path | None, example: str | None) -> Scenario:
    if scenario and example:
        raise InputError("give --scenario or --example, not both")
    return load_scenario(example_path(example) if example else scenario)  # type: ignore[arg-type]


@app.command()
def estimate(
    scenario: Annotated[Path | None, typer.Option(help="scenario YAML file")] = None,
    example: Annotated[
        str | None, typer.Option(help="a bundled example, e.g. seed-article")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    accelerator: Annotated[
        str | None, typer.Option(help="catalog accelerator, e.g. H100-SXM")
    ] = None,
    accelerators: Annotated[int | None, typer.Option(help="accelerators per replica (TP)")] = None,
    model: Annotated[str | None, typer.Option(help="catalog model, e.g. llama-3.1-70b")] = None,
    precision: Annotated[str | None, typer.Option(help="bf16, fp16, fp8, int8 or int4")] = None,
    lease_usd_per_hour: Annotated[float | None, typer.Option(help="$/accelerator-hour")] = None,
    purchase_usd: Annotated[float | None, typer.Option(help="$ per accelerator")] = None,
    lifetime_years: Annotated[float | None, typer.Option()] = None,
    cost_of_capital: Annotated[float | None, typer.Option(help="annual rate, e.g. 0.08")] = None,
    host_opex_usd_per_hour: Annotated[float | None, typer.Option()] = None,
    networking_usd_per_hour: Annotated[float | None, typer.Option()] = None,
    serving_overhead: Annotated[float | None, typer.Option(help="share added on top")] = None,
    facility: Annotated[str | None, typer.Option(help="catalog facility preset")] = None,
    pue: Annotated[float | None, typer.Option()] = None,
    electricity_usd_per_kwh: Annotated[float | None, typer.Option()] = None,
    power_watts: Annotated[float | None, typer.Option(help="W per accelerator")] = None,
    average_load: Annotated[
        float | None, typer.Option(help="share of power drawn on average")
    ] = None,
    batch_size: Annotated[float | None, typer.Option()] = None,
    utilisation: Annotated[float | None, typer.Option(help="share of paid hours serving")] = None,
    mfu: Annotated[float | None, typer.Option(help="prefill model FLOPs utilisation")] = None,
    bandwidth_efficiency: Annotated[float | None, typer.Option(help="decode MBU")] = None,
    input_tokens_per_s: Annotated[float | None, typer.Option(help="measured prefill tok/s")] = None,
    output_tokens_per_s: Annotated[float | None, typer.Option(help="measured decode tok/s")] = None,
    tco_usd_per_hour: Annotated[float | None, typer.Option(help="seed method: TCO $/h")] = None,
    tokens_per_s: Annotated[float | None, typer.Option(help="seed method: tokens/s")] = None,
    overhead: Annotated[list[str] | None, typer.Option(help="seed method: NAME=SHARE")] = None,
    composition: Annotated[str | None, typer.Option(help="seed method: add or compound")] = None,
    input_usd_per_m: Annotated[float | None, typer.Option(help="list price $/1M input")] = None,
    output_usd_per_m: Annotated[float | None, typer.Option(help="list price $/1M output")] = None,
    input_tokens: Annotated[float, typer.Option(help="workload: tokens in per request")] = 1000,
    output_tokens: Annotated[float, typer.Option(help="workload: tokens out per request")] = 250,
) -> None:
    """Unit cost of one or more deployments: $/1K input and output tokens, $/request, P&L."""
    flags = {k: v for k, v in locals().items() if k not in ("scenario", "example", "as_json")}
    spec = _load(scenario, example) if (scenario or example) else _scenario_from_flags(flags)
    result = evaluate(spec)
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
        return
    from unitcost.report.tables import estimate_view

    out.print(estimate_view(result))


@app.command("scenario")
def scenario_cmd(
    file: Annotated[Path, typer.Argument(help="scenario YAML; any number may be a range")],
    samples: Annotated[int | None, typer.Option(min=1, help="Monte-Carlo draws")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    output: Annotated[str | None, typer.Option(help="output for the tornado chart")] = None,
    plot: Annotated[Path | None, typer.Option(help="write a PNG here")] = None,
    html: Annotated[Path | None, typer.Option(help="write an HTML report here")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Monte-Carlo percentiles (P5/P50/P95) of every output and a tornado of the inputs."""
    spec = load_scenario(file)
    n = samples or spec.monte_carlo.samples
    with Progress(console=err, transient=True, disable=as_json or n < 500_000) as progress:
        task = progress.add_task("sampling", total=n)
        mc = monte_carlo(spec, samples=n, seed=seed, progress=lambda k: progress.advance(task, k))
    name, base, bars = tornado(spec, output)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "scenario": spec.name,
                    "samples": mc.samples,
                    "seed": mc.seed,
                    "ranged_inputs": mc.inputs,
                    "percentiles": mc.percentiles(),
                    "tornado": {
                        "output": name,
                        "base": base,
                        "bars": [
                            {
                                "input": b.input,
                                "low": b.low,
                                "high": b.high,
                                "output_at_low": b.output_at_low,
                                "output_at_high": b.output_at_high,
                                "swing": b.swing,
                            }
                            for b in bars
                        ],
                    },
                }
            )
        )
    else:
        from unitcost.report.tables import percentile_table, tornado_table

        out.print(percentile_table(mc))
        out.print(tornado_table(name, base, bars))
    if plot or html:
        from unitcost.report.scenario import write_scenario_report

        for path in write_scenario_report(spec, mc, name, base, bars, png=plot, html=html):
            err.print(f"wrote {path}")


@app.command("catalog")
def catalog_cmd(
    name: Annotated[
        str | None, typer.Argument(help="an accelerator, model or facility preset")
    ] = None,
) -> None:
    """What the catalog knows, or one entry with every figure and its source."""
    from rich.table import Table

    from unitcost.catalog import load_catalog

    cat = load_catalog()
    if name is None:
        for title, names in (
            ("accelerators", cat.accelerators),
            ("models", cat.models),
            ("facility presets", cat.presets),
        ):
            out.print(f"[bold]{title}[/]: {', '.join(names)}")
        return
    entry: Any
    for find in (cat.accelerator, cat.model, cat.facility):
        try:
            entry = find(name)
            break
        except InputError:
            continue
    else:
        known = [*cat.accelerators, *cat.models, *cat.presets]
        raise InputError(f"catalog: unknown {name!r}; the catalog knows: {', '.join(known)}")
    table = Table(title=name, title_justify="left", show_header=False)
    for key, value in entry.model_dump().items():
        table.add_row(key, str(value))
    out.print(table)


@app.command()
def calibration() -> None:
    """The published measurements behind the roofline's default MFU and bandwidth efficiency."""
    from rich.table import Table

    from unitcost.economics.calibration import calibrate
    from unitcost.economics.roofline import DEFAULT_BANDWIDTH_EFFICIENCY, DEFAULT_MFU

    report = calibrate()
    for title, points in (
        (
            f"prefill MFU (default {DEFAULT_MFU:g}, median {report.median_mfu:.3f})",
            report.prefill_mfu,
        ),
        (
            f"decode bandwidth efficiency (default {DEFAULT_BANDWIDTH_EFFICIENCY:g}, median "
            f"{report.median_mbu:.3f})",
            report.decode_mbu,
        ),
        ("measured ÷ roofline serving throughput at the defaults", report.throughput_ratio),
    ):
        table = Table(title=title, title_justify="left")
        table.add_column("point")
        table.add_column("implied", justify="right")
        table.add_column("source", overflow="fold")
        for p in points:
            table.add_row(
                p.name, f"{p.value:.3f}", f"{p.detail + '; ' if p.detail else ''}{p.source}"
            )
        out.print(table)


@app.command()
def demo(
    ledger: Annotated[
        str | None, typer.Option(help="keep the ledger here (sqlite:///PATH)")
    ] = None,
    local: Annotated[bool, typer.Option(help="include SmolLM2 on llama.cpp if installed")] = True,
    local_questions: Annotated[int, typer.Option(min=1, help="questions for the local model")] = 3,
) -> None:
    """Run the gateway on its embedded default and print what each deployment cost."""
    from rich.table import Table

    from unitcost.demo import routing_summary, run_demo
    from unitcost.report.tables import money

    result = run_demo(
        ledger, local, local_questions, log=lambda m: err.print(m, highlight=False, markup=False)
    )
    table = Table(
        title="unitcost demo: per deployment, read back from the ledger", title_justify="left"
    )
    for col in (
        "deployment",
        "requests",
        "accuracy",
        "prompt tok",
        "completion tok",
        "of which reasoning",
        "cost",
        "$/1K tokens",
    ):
        table.add_column(col, justify="left" if col == "deployment" else "right")
    for s in result.deployments.values():
        table.add_row(
            s.name,
            str(s.requests),
            f"{s.accuracy:.1%}",
            f"{s.prompt_tokens:,}",
            f"{s.completion_tokens:,}",
            f"{s.reasoning_tokens:,}",
            money(s.cost_usd),
            money(s.usd_per_1k_tokens),
        )
    out.print(table)
    for s in result.deployments.values():
        out.print(f"  {s.name}: priced by {s.price_origin}", highlight=False, markup=False)
    summary = routing_summary(result)
    if summary:
        out.print(summary, highlight=False, markup=False)
    for note in result.notes:
        out.print(f"  note: {note}", highlight=False, markup=False)
    out.print(
        f"ledger: {result.ledger_url} ({result.ledger_rows} rows); "
        f"see it again with `unitcost usage --ledger {result.ledger_url}`",
        highlight=False,
        markup=False,
    )


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
    requests: Annotated[int | None, typer.Option(min=1, help="measured requests per level")] = None,
    duration: Annotated[float | None, typer.Option(min=0.1, help="seconds per level")] = None,
    warmup: Annotated[int, typer.Option(min=0, help="unmeasured requests before each level")] = 2,
    input_tokens: Annotated[int, typer.Option(help="synthetic prompt length (tokens)")] = 256,
    output_tokens: Annotated[int, typer.Option(help="max_tokens of each request")] = 128,
    dataset: Annotated[
        str | None, typer.Option(help="JSONL prompts, ShareGPT, or 'replay'")
    ] = None,
    tokenizer: Annotated[
        str | None, typer.Option(help="tiktoken:ENC, gguf:PATH or hf:PATH")
    ] = None,
    ignore_eos: Annotated[bool, typer.Option(help="ask the server to ignore EOS (vLLM)")] = False,
    api_key: Annotated[str | None, typer.Option(envvar="UNITCOST_BENCH_API_KEY")] = None,
    slo: Annotated[str | None, typer.Option(help="e.g. ttft_p95=500ms,itl_p95=50ms")] = None,
    hardware: Annotated[str | None, typer.Option(help="catalog accelerator, e.g. H100-SXM")] = None,
    gpus: Annotated[int, typer.Option(min=1, help="accelerators serving the endpoint")] = 1,
    catalog_model: Annotated[
        str | None, typer.Option(help="catalog model for the roofline")
    ] = None,
    precision: Annotated[
        str, typer.Option(help="for the roofline: bf16, fp8, int8, int4")
    ] = "bf16",
    lease_usd_per_hour: Annotated[float | None, typer.Option(help="$/accelerator-hour")] = None,
    usd_per_hour: Annotated[float | None, typer.Option(help="$/hour of the whole replica")] = None,
    pue: Annotated[float, typer.Option(min=1.0)] = 1.0,
    electricity_usd_per_kwh: Annotated[float, typer.Option(min=0.0)] = 0.0,
    utilisation: Annotated[float, typer.Option(help="share of paid hours at this load")] = 1.0,
    scenario: Annotated[
        str | None, typer.Option(help="price from a scenario's self_hosted TCO")
    ] = None,
    deployment: Annotated[str | None, typer.Option(help="which deployment of --scenario")] = None,
    out: Annotated[Path, typer.Option(help="folder for bench.json/.csv/.png/.html")] = Path(
        "bench-out"
    ),
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
    from unitcost.gateway.tokenizers import load_tokenizer

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
        out_dir=out,
    )
    import gc

    gc.collect()
    gc.freeze()  # keep set-up objects out of GC passes that would land inside a level
    with Progress(console=err, transient=True) as progress:
        tasks = {lv.label: progress.add_task(lv.label, total=requests or None) for lv in levels}
        report = asyncio.run(
            run_bench(cfg, on_result=lambda lv, r: progress.advance(tasks[lv.label]))
        )
    out.mkdir(parents=True, exist_ok=True)
    err.print(results_table(report.levels, targets, report.chosen))
    if any(s.tokens_estimated for s in report.levels):
        err.print(
            "* tokens counted with the tokenizer: the server sent no usage",
            highlight=False,
            markup=False,
        )
    if pricing is None:
        err.print(
            "not priced: give --hardware (and --lease-usd-per-hour), --usd-per-hour or "
            "--scenario to convert throughput into $/1K tokens",
            highlight=False,
            markup=False,
        )
    else:
        err.print(f"priced by: {pricing.source}", highlight=False, markup=False)
    for s in report.levels:
        if s.energy and not s.energy.get("measured"):
            err.print(f"energy: {s.energy['note']}", highlight=False, markup=False)
            break
    if targets:
        err.print(
            f"cheapest level meeting the SLO: {report.chosen or 'none'}",
            highlight=False,
            markup=False,
        )
    err.print(f"wrote {', '.join(str(p) for p in report.outputs)}", highlight=False, markup=False)
    failed = [s for s in report.levels if s.errors]
    if failed:
        err.print(
            f"error: {failed[0].errors} of {failed[0].requests} requests failed at "
            f"{failed[0].label}; results were still written",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(1)


@app.command("route-eval")
def route_eval_cmd(
    data: Annotated[
        str,
        typer.Option(
            help="RouteLLM MMLU folder, pricing-reversal folder, "
            "or a CSV/JSONL of per-query outcomes"
        ),
    ],
    weak: Annotated[str, typer.Option(help="the cheap model's column")],
    strong: Annotated[str, typer.Option(help="the strong model's column")],
    test_fraction: Annotated[float, typer.Option(help="share of groups held out")] = 0.25,
    split: Annotated[str, typer.Option(help="group (unseen subjects) or random")] = "group",
    seed: Annotated[int, typer.Option()] = 0,
    num_results: Annotated[int, typer.Option(help="threshold bins, as RouteLLM")] = 10,
    max_tokens: Annotated[int, typer.Option(help="word pieces embedded per prompt")] = 16,
    keep: Annotated[str, typer.Option(help="which end of a long prompt: head or tail")] = "tail",
    plot: Annotated[Path | None, typer.Option(help="quality vs strong-call share, PNG")] = None,
    save_router: Annotated[Path | None, typer.Option(help="write the trained router here")] = None,
    repeats: Annotated[int, typer.Option(min=1, help="also report APGR over N splits")] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Train a router on some subjects, judge it on unseen ones: APGR, CPT, dollars saved."""
    from rich.table import Table

    from unitcost.routing.datasets import load_outcomes
    from unitcost.routing.embeddings import Embedder
    from unitcost.routing.evaluate import route_eval

    outcomes = load_outcomes(data)
    with err.status(f"embedding {len(outcomes)} prompts (cached after the first run) ..."):
        result = route_eval(
            outcomes,
            weak,
            strong,
            test_fraction=test_fraction,
            seed=seed,
            split=split,
            num_results=num_results,
            embedder=Embedder(max_tokens=max_tokens, threads=2, keep=keep),
        )
    if save_router:
        result.router.save(save_router)
    if plot:
        from unitcost.routing.plots import write_route_plot

        write_route_plot(result, plot)
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
        return
    held_out = (
        f"{result.n_test} test prompts in {len(result.test_groups)} unseen groups"
        if split == "group"
        else f"{result.n_test} test prompts (random split)"
    )
    out.print(
        f"{result.dataset}: {result.n_train} training prompts, {held_out}; weak {result.weak} "
        f"{result.weak_acc:.1f}%, strong {result.strong} {result.strong_acc:.1f}% on the test set",
        highlight=False,
        markup=False,
    )
    table = Table(
        title="router quality on held-out prompts (RouteLLM's metrics)", title_justify="left"
    )
    for col in ("router", "APGR", "CPT(50%)", "CPT(80%)"):
        table.add_column(col, justify="left" if col == "router" else "right")
    for name, m in result.metrics.items():
        table.add_row(name, f"{m['APGR']:.3f}", f"{m['CPT(50%)']:.1f}%", f"{m['CPT(80%)']:.1f}%")
    out.print(table)
    if repeats > 1:
        import statistics

        runs = [result] + [
            route_eval(
                outcomes,
                weak,
                strong,
                test_fraction=test_fraction,
                seed=seed + k,
                split=split,
                num_results=num_results,
                embedder=Embedder(max_tokens=max_tokens, threads=2, keep=keep),
            )
            for k in range(1, repeats)
        ]
        for name in ("random", "learned"):
            values = [r.metrics[name]["APGR"] for r in runs]
            out.print(
                f"APGR of {name} over {repeats} splits (seeds {seed}..{seed + repeats - 1}): "
                f"mean {statistics.mean(values):.3f}, min {min(values):.3f}, "
                f"max {max(values):.3f}",
                highlight=False,
                markup=False,
            )
    s = result.saving
    if "saving_pct" in s:
        out.print(
            f"at 95% of {result.strong}'s quality ({s['target_accuracy']:.1f}%): "
            f"{s['strong_pct']:.1f}% strong calls, ${s['cost_router']:.4f} vs "
            f"${s['cost_all_strong']:.4f} always-strong: {s['saving_pct']:.1f}% saved "
            f"(costs: {s['cost_source']})",
            highlight=False,
            markup=False,
        )
    else:
        out.print(f"saving: {s['note']}", highlight=False, markup=False)


@app.command()
def serve(
    config: Annotated[Path, typer.Option(help="gateway YAML settings")],
    host: Annotated[str | None, typer.Option(help="overrides the file and UNITCOST_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="overrides the file and UNITCOST_PORT")] = None,
) -> None:
    """Run the OpenAI-compatible gateway (default 127.0.0.1:8000)."""
    from unitcost.gateway.server import serve as run
    from unitcost.gateway.settings import load_settings

    settings = load_settings(config)
    flags = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    run(settings.model_copy(update=flags))


@app.command()
def usage(
    config: Annotated[Path | None, typer.Option(help="gateway YAML (for its ledger url)")] = None,
    ledger: Annotated[str | None, typer.Option(help="sqlite:///PATH or postgresql://...")] = None,
    group_by: Annotated[
        str,
        typer.Option(
            help="comma-separated: tenant, feature, cohort, "
            "end_user, deployment, requested, endpoint, status, day"
        ),
    ] = "tenant,deployment",
    tenant: Annotated[str | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Usage and cost totals read from the ledger, grouped as asked."""
    from rich.table import Table

    from unitcost.ledger.store import open_store

    if ledger is None:
        if config is None:
            raise InputError("usage: give --ledger URL or --config gateway.yaml")
        from unitcost.gateway.settings import load_settings

        ledger = load_settings(config).ledger.url
    store = open_store(ledger)
    try:
        rows = store.usage([g for g in group_by.split(",") if g], tenant, since, until)
    finally:
        store.close()
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title=f"usage from {ledger}", title_justify="left")
    columns = list(rows[0]) if rows else []
    for col in columns:
        table.add_column(col, justify="left" if col in group_by.split(",") else "right")
    for row in rows:
        table.add_row(*(f"{v:.6f}" if isinstance(v, float) else str(v) for v in row.values()))
    out.print(table if rows else "the ledger has no rows for that selection")


@app.command("replay-prompts")
def replay_prompts(
    dataset: Annotated[str | None, typer.Option(help="gpqa or aime")] = None,
    full: Annotated[bool, typer.Option(help="print whole prompts as JSON lines")] = False,
) -> None:
    """The prompts the replay backend has recorded answers for."""
    from unitcost.gateway.upstreams.replay import load_replay_set

    data = load_replay_set()
    for qid, q in data.questions.items():
        if dataset and q["dataset"] != dataset:
            continue
        if full:
            print(json.dumps({"id": qid, "prompt": q["prompt"]}))
        else:
            question = q["prompt"].split("\n\n", 1)[-1]  # past the shared instructions
            print(f"{qid}  {' '.join(question.split())[:100]}")


@app.command("hash-key")
def hash_key_cmd(key: Annotated[str, typer.Argument(help="an API key to store hashed")]) -> None:
    """Print the SHA-256 the gateway config stores for an API key (tenants[].key_sha256)."""
    from unitcost.gateway.settings import hash_key

    print(hash_key(key))


def main() -> None:
    try:
        app()
    except UnitcostError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        sys.exit(2 if isinstance(exc, InputError) else 1)
