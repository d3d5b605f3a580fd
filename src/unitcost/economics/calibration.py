"""Fit the cost model's efficiencies on published measurements; check it on held-out ones.

    >>> report = calibrate()
    >>> 0.0 < report.held_out_error < 1.0
    True
    >>> efficiency("AMD", "fp8", "vllm").mbu_from
    'AMD fp8 vllm, 1 pt'

The points live in catalog/data/calibration.yaml with their documents. The fit runs in the
order that file describes (MBU, per-collective latency, MFU, chunked-prefill overlap and
serving efficiency, training MFU); every point with `held_out: true` stays out of it.
`calibrate()` then predicts every point with the efficiencies a user would get for its
vendor, precision and stack and reports the residuals: in-sample for fitted points,
out-of-sample for held-out ones. The held-out error is the median |predicted ÷ measured − 1|.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from functools import cache

import numpy as np
from pydantic import BaseModel, ConfigDict

from unitcost.catalog import Catalog, load_catalog, shipped_yaml
from unitcost.economics.efficiency import Efficiency, Fit, Keyed, lookup, training_mfu
from unitcost.economics.predict import (
    Point,
    implied_collective_latency,
    implied_mbu,
    implied_mfu,
    key_of,
    predict,
    ratio_of,
    serving_batch,
    serving_inputs,
    serving_output_rate,
    training_flops,
    workload_output_rate,
)
from unitcost.economics.roofline import DEFAULT_COLLECTIVE_LATENCY_S, roofline

__all__ = [
    "PREVIOUS_DEFAULTS",
    "Calibration",
    "Residual",
    "calibrate",
    "calibrated_stacks",
    "efficiency",
    "fit_points",
    "load_points",
    "previous_defaults_error",
    "training_efficiency",
    "workload_output_rate",
]

OVERLAP_GRID = tuple(i / 50 for i in range(51))
RATIO_INPUTS = (256.0, 1024.0)


class PointsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sources: dict[str, str]
    points: list[Point]


@dataclass(frozen=True)
class Residual:
    point: Point
    predicted: float
    detail: str

    @property
    def error(self) -> float:
        """predicted ÷ measured − 1"""
        return self.predicted / self.point.measured - 1.0


@dataclass(frozen=True)
class Calibration:
    fit: Fit
    residuals: list[Residual]
    sources: dict[str, str]

    def errors(self, held_out: bool, kind: str | None = None) -> list[float]:
        return [
            abs(r.error)
            for r in self.residuals
            if r.point.held_out == held_out and (kind is None or r.point.kind == kind)
        ]

    @property
    def held_out_error(self) -> float:
        return statistics.median(self.errors(True))

    @property
    def fit_error(self) -> float:
        return statistics.median(self.errors(False))


@cache
def load_points() -> PointsFile:
    data = PointsFile.model_validate(shipped_yaml("calibration.yaml"))
    for p in data.points:
        if p.source not in data.sources:
            raise ValueError(f"calibration.yaml: point {p.name!r} cites unknown {p.source!r}")
    return data


def _median(values: list[float], default: float) -> float:
    return statistics.median(values) if values else default


def _fit_phases(catalog: Catalog, points: list[Point]) -> tuple[Keyed, Keyed, float]:
    """MBU per key, the per-collective latency, then MFU per key (steps 1-4)."""
    decode = [p for p in points if p.kind in ("decode", "mbu", "latency")]
    mbu = [
        (key_of(catalog, p), implied_mbu(catalog, p, 0.0))
        for p in decode
        if p.kind == "mbu" or (p.kind == "decode" and p.accelerators == 1)
    ]
    keys = {k for k, _ in mbu}
    tp_points = [p for p in decode if p.kind == "decode" and p.accelerators > 1]
    latencies = [
        implied_collective_latency(catalog, p, _median([v for k, v in mbu if k == key], 0.6))
        for p in tp_points
        if (key := key_of(catalog, p)) in keys
    ]
    latency = _median(latencies, DEFAULT_COLLECTIVE_LATENCY_S)
    mbu += [
        (key_of(catalog, p), implied_mbu(catalog, p, latency))
        for p in decode
        if key_of(catalog, p) not in keys
        and ((p.kind == "latency" and (p.batch or 1) == 1) or p in tp_points)
    ]
    mfu = [
        (key_of(catalog, p), implied_mfu(catalog, p, latency))
        for p in points
        if p.kind == "prefill"
    ]
    return tuple(mfu), tuple(mbu), latency


def _rates(catalog: Catalog, p: Point, base: Fit, grid: np.ndarray) -> np.ndarray:
    """Output tokens/s at serving efficiency 1, for every overlap in `grid` at once."""
    eff = replace(lookup(base, *key_of(catalog, p)), serving=1.0)
    batch = serving_batch(catalog, p)
    overlap = grid if p.scheduling == "inflight" else np.zeros_like(grid)
    t = roofline(serving_inputs(catalog, p, eff, batch, overlap))
    pre, dec = np.asarray(t.prefill_tokens_per_s), np.asarray(t.decode_tokens_per_s)
    rate: np.ndarray = p.output_tokens / (p.input_tokens / pre + p.output_tokens / dec)
    return rate * p.replicas


def _fit_serving(catalog: Catalog, points: list[Point], base: Fit) -> tuple[float, Keyed]:
    """The overlap that best fits in-flight serving once each key's points are scaled by
    the median of measured ÷ predicted (step 5); the keyed scales at that overlap."""
    serving = [p for p in points if p.kind == "serving"]
    if not serving:
        return 0.0, ()
    grid = np.array(OVERLAP_GRID)
    keys = [key_of(catalog, p) for p in serving]
    ratios = np.array([p.measured / _rates(catalog, p, base, grid) for p in serving])
    scale = np.array([np.median(ratios[[k == key for k in keys]], axis=0) for key in keys])
    inflight = np.array([p.scheduling == "inflight" for p in serving])
    misfit = (
        np.abs(np.log(ratios / scale))[inflight]
        if inflight.any()
        else np.abs(np.log(ratios / scale))
    )
    best = int(np.argmin(np.median(misfit, axis=0)))
    return float(grid[best]), tuple(zip(keys, ratios[:, best].tolist(), strict=True))


def fit_points(catalog: Catalog, points: list[Point]) -> Fit:
    """Every parameter from the points given (pass only the ones to fit on)."""
    mfu, mbu, latency = _fit_phases(catalog, points)
    training = tuple(
        (
            p.accelerator,
            catalog.accelerator(p.accelerator).vendor,
            training_flops(p)
            / (catalog.accelerator(p.accelerator).bf16_tflops * 1e12 * p.measured * 3600.0),
        )
        for p in points
        if p.kind == "training"
    )
    base = Fit(mfu, mbu, (), training, 0.0, latency)
    overlap, serving = _fit_serving(catalog, points, base)
    return replace(base, overlap=overlap, serving=serving)


def _residual(catalog: Catalog, fit: Fit, p: Point) -> Residual:
    if p.kind == "ratio":
        assert p.over is not None
        rates = []
        for length in RATIO_INPUTS:
            a, b = (s.model_copy(update={"input_tokens": length}) for s in p.over)
            rates.append(
                (
                    serving_output_rate(catalog, a, lookup(fit, *key_of(catalog, a)))[0],
                    serving_output_rate(catalog, b, lookup(fit, *key_of(catalog, b)))[0],
                )
            )
        return Residual(p, *ratio_of(rates))
    if p.kind == "training":
        acc = catalog.accelerator(p.accelerator)
        mfu, _ = training_mfu(fit, acc.name, acc.vendor)
        return Residual(p, *predict(catalog, p, lookup(fit, acc.vendor, "bf16"), mfu))
    return Residual(p, *predict(catalog, p, lookup(fit, *key_of(catalog, p)), 0.0))


@cache
def _calibrate(catalog: Catalog) -> Calibration:
    data = load_points()
    fit = fit_points(catalog, [p for p in data.points if not p.held_out])
    return Calibration(fit, [_residual(catalog, fit, p) for p in data.points], data.sources)


def calibrate(catalog: Catalog | None = None) -> Calibration:
    return _calibrate(catalog or _default_catalog())


@cache
def _default_catalog() -> Catalog:
    return load_catalog()


#: the model before calibration by key: one MFU and MBU for everything, prefill and decode
#: strictly serial, bandwidth-only collectives, training MFU 0.4
PREVIOUS_DEFAULTS = Fit(
    mfu=((("*", "*", "*"), 0.5),),
    mbu=((("*", "*", "*"), 0.6),),
    serving=((("*", "*", "*"), 1.0),),
    training=(("*", "*", 0.4),),
    overlap=0.0,
    collective_latency_s=0.0,
)


def previous_defaults_error(catalog: Catalog | None = None) -> float:
    """Median |error| of the previous defaults on the same held-out points."""
    cat = catalog or _default_catalog()
    held = [p for p in load_points().points if p.held_out]
    return statistics.median(abs(_residual(cat, PREVIOUS_DEFAULTS, p).error) for p in held)


@cache
def efficiency(vendor: str, precision: str, stack: str | None = None) -> Efficiency:
    """The calibrated efficiencies for a deployment (see economics/efficiency.py)."""
    return lookup(calibrate().fit, vendor, precision, stack)


def calibrated_stacks() -> tuple[str, ...]:
    return calibrate().fit.stacks


def training_efficiency(accelerator: str, vendor: str) -> tuple[float, str]:
    return training_mfu(calibrate().fit, accelerator, vendor)
