"""`unitcost route-eval`: train and judge a router on per-query outcomes, or judge a saved one.

unitcost route-eval --data ../shared/data/routellm-mmlu --weak W --strong S --repeats 4
unitcost route-eval --data outcomes.csv --weak W --strong S --router router.json
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from unitcost.cli._console import app, err, out, say_json
from unitcost.errors import InputError

__all__ = ["route_eval_cmd"]


def _num(value: float, fmt: str, suffix: str = "") -> str:
    return "n/a" if not math.isfinite(value) else f"{value:{fmt}}{suffix}"


def _quality(value: float, unit: str) -> str:
    return f"{value:.1f}%" if unit == "%" else f"{value:.2f} points"


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
    router: Annotated[
        Path | None, typer.Option(help="score this saved router on all of --data; no training")
    ] = None,
    test_fraction: Annotated[float, typer.Option(help="share of groups held out")] = 0.25,
    split: Annotated[str, typer.Option(help="group (unseen subjects) or random")] = "group",
    seed: Annotated[int, typer.Option(min=0)] = 0,
    num_results: Annotated[int, typer.Option(min=2, help="threshold bins, as RouteLLM")] = 10,
    plot: Annotated[Path | None, typer.Option(help="quality vs strong-call share, PNG")] = None,
    save_router: Annotated[Path | None, typer.Option(help="write the trained router here")] = None,
    repeats: Annotated[int, typer.Option(min=1, help="also report APGR over N splits")] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Judge a router on prompts it was not trained on: APGR, CPT, dollars saved."""
    from unitcost.routing.datasets import load_outcomes
    from unitcost.routing.evaluate import route_eval
    from unitcost.routing.learned import LearnedRouter, default_featurizer

    if weak == strong:
        raise InputError(f"--strong: {strong!r} is also --weak; a route needs two models")
    outcomes = load_outcomes(data)
    for note in outcomes.notes:
        err.print(f"note: {outcomes.name}: {note}", highlight=False, markup=False)
    saved = LearnedRouter.load(router) if router else None
    with err.status(f"reading {len(outcomes)} prompts ..."):
        features = default_featurizer()(outcomes.prompts)

    def once(k: int) -> Any:
        return route_eval(
            outcomes,
            weak,
            strong,
            test_fraction=test_fraction,
            seed=seed + k,
            split=split,
            num_results=num_results,
            router=saved,
            features=features,
        )

    result = once(0)
    if save_router:
        result.router.save(save_router)
    if plot:
        from unitcost.routing.plots import write_route_plot

        write_route_plot(result, plot)
    if as_json:
        say_json(result.to_dict())  # a metric without a weak→strong gap is null
        return
    _print(result, split)
    if repeats > 1 and saved is None:
        runs = [result] + [once(k) for k in range(1, repeats)]
        for name in ("random", "length", "learned"):
            values = [r.metrics[name]["APGR"] for r in runs]
            finite = [v for v in values if math.isfinite(v)]
            if not finite:
                out.print(f"APGR of {name}: no split had a weak→strong gap", markup=False)
                continue
            out.print(
                f"APGR of {name} over {len(finite)} of {repeats} splits (seeds {seed}.."
                f"{seed + repeats - 1}): mean {sum(finite) / len(finite):.3f}, "
                f"min {min(finite):.3f}, max {max(finite):.3f}",
                highlight=False,
                markup=False,
            )


def _print(result: Any, split: str) -> None:
    from rich.table import Table

    if result.saved_router:
        held_out = f"{result.n_test} prompts scored by a saved router (no training)"
    elif split == "group":
        held_out = (
            f"{result.n_train} training prompts, {result.n_test} test prompts in "
            f"{len(result.test_groups)} unseen groups"
        )
    else:
        held_out = f"{result.n_train} training, {result.n_test} test prompts (random split)"
    out.print(
        f"{result.dataset}: {held_out}; on the test prompts weak {result.weak} "
        f"{_quality(result.weak_acc, result.unit)}, strong {result.strong} "
        f"{_quality(result.strong_acc, result.unit)}",
        highlight=False,
        markup=False,
    )
    table = Table(title="router quality on held-out prompts (RouteLLM's metrics)")
    for col in ("router", "APGR", "90% interval", "CPT(50%)", "CPT(80%)"):
        table.add_column(col, justify="left" if col == "router" else "right")
    for name, m in result.metrics.items():
        band = result.bands.get(name)
        interval = "" if band is None else f"{_num(band.low, '.3f')} to {_num(band.high, '.3f')}"
        table.add_row(
            name,
            _num(m["APGR"], ".3f"),
            interval,
            _num(m["CPT(50%)"], ".1f", "%"),
            _num(m["CPT(80%)"], ".1f", "%"),
        )
    out.print(table)
    diff = result.bands.get("learned - length")
    if diff is not None:
        out.print(
            f"learned − length APGR: {_num(diff.value, '+.3f')} (90% interval "
            f"{_num(diff.low, '+.3f')} to {_num(diff.high, '+.3f')})",
            highlight=False,
            markup=False,
        )
    s = result.saving
    if "saving_pct" in s:
        band = s["saving_band"]
        out.print(
            f"threshold for 95% of {result.strong}'s quality, chosen on {s['threshold_from']}: "
            f"{s['strong_pct']:.1f}% strong calls keep {s['relative_quality']:.1%} of its "
            f"quality here; ${s['cost_router']:.4f} vs ${s['cost_all_strong']:.4f} "
            f"always-strong: {_num(s['saving_pct'], '.1f', '%')} saved (90% interval "
            f"{_num(band['low'], '.1f')}–{_num(band['high'], '.1f', '%')}; costs: "
            f"{s['cost_source']})",
            highlight=False,
            markup=False,
        )
    else:
        out.print(f"saving: {s['note']}", highlight=False, markup=False)
