"""`unitcost route-eval`: train and judge a router on per-query outcomes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from unitcost.cli._console import app, err, out


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
