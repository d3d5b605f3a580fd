"""Does the demo's `auto` route beat the random mix of its two members?

    line = referee_line(traffic.scores, costs, "auto", weak, strong)   # after the traffic

A route that sends a share of calls to the strong model costs about what a random mix with
that share costs; what it must earn is quality above the straight line between its weak and
strong members at its own cost. `evals.frontier.beats_random_mix` answers that with a paired
bootstrap interval over the same questions, and the demo says plainly when it does not.
"""

from __future__ import annotations

from unitcost.evals.frontier import ItemOutcomes, beats_random_mix

__all__ = ["referee_line"]


def referee_line(
    scores: dict[tuple[str, str], float],
    costs: dict[tuple[str, str], float],
    route: str,
    weak: str,
    strong: str,
) -> str:
    """`scores` and `costs` by (deployment or route, question id)."""
    items = sorted({q for (name, q) in scores if name == route})
    items = [q for q in items if all((n, q) in scores and (n, q) in costs for n in (weak, strong))]
    if not items:
        return ""

    def outcomes(name: str) -> ItemOutcomes:
        return ItemOutcomes.of(
            [scores[(name, q)] for q in items], [costs.get((name, q), 0.0) for q in items]
        )

    mix = beats_random_mix(outcomes(weak), outcomes(strong), outcomes(route))
    return f"{route} {mix.verdict} ({weak}, {strong})"
