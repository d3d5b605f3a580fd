"""Demand buckets from traffic: requests/s by input and output length, from ledger rows.

    >>> rows = [(0.0, 600, 200), (10.0, 800, 300), (20.0, 5000, 100)]
    >>> [(b.input_tokens, b.output_tokens, round(b.requests_per_s, 4))
    ...  for b in buckets_from_traffic(rows, period_s=60.0)]
    [(700.0, 250.0, 0.0333), (5000.0, 100.0, 0.0167)]

Each row is (timestamp, prompt tokens, completion tokens) of one answered call. Rows fall in
the bucket of their input and output length edges; a bucket's lengths are the means of its
rows and its rate is its row count over the period. Reading a ledger is the caller's job
(`unitcost plan --ledger`), so economics stays free of storage.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from unitcost.economics.capacity import Bucket
from unitcost.errors import InputError

__all__ = ["INPUT_EDGES", "OUTPUT_EDGES", "buckets_from_traffic"]

INPUT_EDGES = (256, 1024, 4096, 16384)
OUTPUT_EDGES = (128, 512, 2048)


def buckets_from_traffic(
    rows: Iterable[tuple[float, int, int]],
    *,
    period_s: float | None = None,
    input_edges: tuple[int, ...] = INPUT_EDGES,
    output_edges: tuple[int, ...] = OUTPUT_EDGES,
) -> list[Bucket]:
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    first, last = float("inf"), float("-inf")
    for ts, prompt, completion in rows:
        key = (bisect.bisect(input_edges, prompt), bisect.bisect(output_edges, completion))
        groups.setdefault(key, []).append((prompt, completion))
        first, last = min(first, ts), max(last, ts)
    if not groups:
        raise InputError("ledger: no answered calls in the period; accepted: a period with traffic")
    span = period_s if period_s is not None else max(last - first, 1.0)
    return [
        Bucket(
            input_tokens=sum(p for p, _ in calls) / len(calls),
            output_tokens=max(sum(c for _, c in calls) / len(calls), 1.0),
            requests_per_s=len(calls) / span,
        )
        for _key, calls in sorted(groups.items())
    ]
