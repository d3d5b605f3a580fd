"""`unitcost estimate | scenario | catalog | calibration`: the cost model from the command line."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress

from unitcost.cli._console import app, err, out, say, say_json, show
from unitcost.economics.scenario import evaluate, monte_carlo, tornado
from unitcost.economics.spec import Scenario, load_scenario, parse_scenario
from unitcost.errors import InputError

__all__ = ["example_path"]


def example_path(name: str) -> Path:
    examples = resources.files("unitcost") / "examples"
    known = sorted(
        p.name.removesuffix(".yaml") for p in examples.iterdir() if p.name.endswith(".yaml")
    )
    if name not in known:
        raise InputError(f"--example: unknown {name!r}; accepted: {', '.join(known)}")
    return Path(str(examples / f"{name}.yaml"))


#: `estimate`'s flags by the way they price the deployment; the rest are self-hosted ones
_SEED_FLAGS = ("tco_usd_per_hour", "tokens_per_s", "overhead", "composition")
_LIST_FLAGS = ("input_usd_per_m", "output_usd_per_m")
_WORKLOAD_DEFAULTS = {"input_tokens": 1000.0, "output_tokens": 250.0}
#: flags that mean nothing alone
_PAIRS = (
    ("tco_usd_per_hour", "tokens_per_s"),
    ("input_usd_per_m", "output_usd_per_m"),
    ("input_tokens_per_s", "output_tokens_per_s"),
)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _method(name: str) -> str:
    if name in _SEED_FLAGS:
        return "the seed method"
    return "a list price" if name in _LIST_FLAGS else "a self-hosted deployment"


def _check_flags(given: dict[str, Any], scenario: Path | None, example: str | None) -> None:
    """Refuse flags that would be ignored: a file beside deployment flags, two methods."""
    if (scenario or example) and given:
        source = "--scenario" if scenario else "--example"
        raise InputError(
            f"{_flag(next(iter(given)))}: {source} sets the workload and deployments itself; "
            f"give {source} alone, or flags alone"
        )
    first: dict[str, str] = {}
    for name in given:
        if name not in _WORKLOAD_DEFAULTS:
            first.setdefault(_method(name), name)
    if len(first) > 1:
        (a, one), (b, other) = list(first.items())[:2]
        raise InputError(f"{_flag(one)} prices {a} and {_flag(other)} {b}; give one method's flags")


def _as_flags(exc: InputError, names: set[str]) -> InputError:
    """The spec's error in the flags' own words: `--utilisation: ...`, not a field path."""
    where, sep, what = exc.message.partition(": ")
    if not sep or not where.startswith(("flags.", "deployments.estimate.")):
        return exc  # a flag's own message, or another input's (a catalog file)
    path = [p for p in where.split(".") if p in names or p == "overheads"]
    flag = _flag("overhead" if path and path[-1] == "overheads" else path[-1]) if path else ""
    for name in names:  # field names in the text; one-word names may be prose ("model")
        if "_" in name:
            what = re.sub(rf"(?<![-\w]){name}\b", _flag(name), what)
    return InputError(f"{flag or 'estimate'}: {what}", param=flag or None)


def _scenario_from_flags(flags: dict[str, Any]) -> Scenario:
    """Build a one-deployment scenario from `estimate`'s flags."""
    given = {k: v for k, v in flags.items() if v is not None}
    workload = {k: given.pop(k, v) for k, v in _WORKLOAD_DEFAULTS.items()}
    overheads = given.pop("overhead", None)
    for pair in _PAIRS:
        if sum(name in given for name in pair) == 1:
            missing = next(name for name in pair if name not in given)
            raise InputError(
                f"{_flag(missing)}: missing; {' and '.join(map(_flag, pair))} go together"
            )
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


def _truth(flag: str, value: str | None) -> bool | None:
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise InputError(f"{flag}: {value!r} is not a truth value; accepted: true or false")


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
    wide: Annotated[bool, typer.Option("--wide", help="every column, past 80")] = False,
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
    batch_size: Annotated[
        float | None, typer.Option(help="default: the most throughput that fits memory")
    ] = None,
    tpot_slo_ms: Annotated[float | None, typer.Option(help="caps the chosen batch")] = None,
    stack: Annotated[
        str | None, typer.Option(help="serving software for calibrated efficiencies: trtllm, vllm")
    ] = None,
    lease_includes_power: Annotated[
        str | None, typer.Option(help="true (default) or false: add energy to a lease")
    ] = None,
    electricity_usd_per_mwh: Annotated[float | None, typer.Option(help="e.g. a PPA price")] = None,
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
    input_tokens: Annotated[
        float | None, typer.Option(help="workload: tokens in per request (default 1000)")
    ] = None,
    output_tokens: Annotated[
        float | None, typer.Option(help="workload: tokens out per request (default 250)")
    ] = None,
) -> None:
    """Unit cost of one or more deployments: $/1K input and output tokens, $/request, P&L."""
    flags = {
        k: v for k, v in locals().items() if k not in ("scenario", "example", "as_json", "wide")
    }
    flags["lease_includes_power"] = _truth("--lease-includes-power", lease_includes_power)
    _check_flags({k: v for k, v in flags.items() if v is not None}, scenario, example)
    if scenario or example:
        result = evaluate(_load(scenario, example))
    else:
        try:
            result = evaluate(_scenario_from_flags(flags))
        except InputError as exc:
            raise _as_flags(exc, set(flags)) from None
    if as_json:
        say_json(result.to_dict())
        return
    from unitcost.report.tables import estimate_view

    show(estimate_view(result, wide=wide), wide)
    for name, d in result.deployments.items():
        for note in d.notes:  # the chosen batch, energy on a lease, the efficiencies used
            say(f"{name}: {note}", hang=4)


@app.command("scenario")
def scenario_cmd(
    file: Annotated[Path, typer.Argument(help="scenario YAML; any number may be a range")],
    samples: Annotated[int | None, typer.Option(min=1, help="Monte-Carlo draws")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="random seed")] = None,
    output: Annotated[str | None, typer.Option(help="output for the tornado chart")] = None,
    plot: Annotated[Path | None, typer.Option(help="write a PNG here")] = None,
    html: Annotated[Path | None, typer.Option(help="write an HTML report here")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="every column, past 80")] = False,
) -> None:
    """Monte-Carlo percentiles (P5/P50/P95) of every output and a tornado of the inputs."""
    spec = load_scenario(file)
    n = samples or spec.monte_carlo.samples
    with Progress(console=err, transient=True, disable=as_json or n < 500_000) as progress:
        task = progress.add_task("sampling", total=n)
        mc = monte_carlo(spec, samples=n, seed=seed, progress=lambda k: progress.advance(task, k))
    name, base, bars = tornado(spec, output)
    if as_json:
        say_json(
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
    else:
        from unitcost.report.tables import percentile_table, tornado_table

        show(percentile_table(mc, wide=wide), wide)
        show(tornado_table(name, base, bars, wide=wide), wide)
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

    from unitcost.catalog import Facility, cite, load_catalog

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
    preset = isinstance(entry, Facility)
    for key, value in entry.model_dump().items():
        if preset:  # a preset names rows of the facility tables: show their figures
            figure = cat.figure(key, value)
            unit = _FACILITY_UNITS.get(key, "")
            shown = f"${figure.value:g}{unit}" if "usd" in key else f"{figure.value:g}{unit}"
            table.add_row(key, f"{shown} ({value}; {cite(figure.source, 80)})")
            continue
        table.add_row(key, _catalog_cell(value, money=key.endswith("_usd") or "_usd_" in key))
    out.print(table)


_FACILITY_UNITS = {"wue_l_per_kwh": " L/kWh", "electricity_usd_per_kwh": "/kWh",
                   "carbon_g_per_kwh": " gCO2/kWh"}  # fmt: skip


def _catalog_cell(value: Any, money: bool = False) -> str:
    """One catalog figure as a reader wants it: `(none)`, `$25,000.00`, a line per field."""
    if value is None or value == {} or value == []:
        return "(none)"
    if isinstance(value, dict):
        return "\n".join(
            f"{k}: {_catalog_cell(v, money and k in ('low', 'high', 'mid'))}"
            for k, v in value.items()
        )
    if isinstance(value, list):
        return ", ".join(_catalog_cell(v, money) for v in value)
    if isinstance(value, float):
        return f"${value:,.2f}" if money else f"{value:,g}"
    return str(value)


@app.command()
def calibration(
    as_json: Annotated[bool, typer.Option("--json", help="every point with its note")] = False,
) -> None:
    """Every published point behind the efficiencies, its residual and the held-out error.

    Each point's source, the model's figure beside it, and the error on held-out points."""
    from unitcost.economics.calibration import calibrate, previous_defaults_error
    from unitcost.report.calibration import calibration_dict, calibration_view

    report, baseline = calibrate(), previous_defaults_error()
    if as_json:
        say_json(calibration_dict(report, baseline))
        return
    out.print(calibration_view(report, baseline))
