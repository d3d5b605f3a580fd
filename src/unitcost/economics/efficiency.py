"""Efficiencies keyed by accelerator vendor, precision and serving stack, with fall-backs.

    >>> fit = Fit(mfu=((("NVIDIA", "fp8", "trtllm"), 0.38), (("NVIDIA", "16-bit", "trtllm"), 0.66)),
    ...           mbu=((("NVIDIA", "16-bit", "gpt-fast"), 0.70),), serving=(), training=(),
    ...           overlap=0.5, collective_latency_s=24e-6)
    >>> e = lookup(fit, "AMD", "fp8", "vllm")
    >>> e.mfu, e.mfu_from
    (0.38, 'fp8, 1 pt')

Each fitted point leaves one implied value under its key (vendor, precision class, stack).
A lookup takes the median of the values at the first level of this order that has any:

    1. vendor + precision + stack     4. vendor
    2. vendor + stack                 5. precision
    3. vendor + precision             6. every fitted point

bf16 and fp16 share the class "16-bit". Training MFU is keyed by accelerator, then vendor,
then every run. `unitcost calibration` prints the points behind each value.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "LEVELS",
    "Efficiency",
    "Fit",
    "Key",
    "Keyed",
    "keyed_median",
    "lookup",
    "precision_class",
    "training_mfu",
]

Key = tuple[str, str, str]  # vendor, precision class, stack
Keyed = tuple[tuple[Key, float], ...]


def precision_class(precision: str) -> str:
    return "16-bit" if precision in ("bf16", "fp16") else precision


@dataclass(frozen=True)
class Fit:
    """Implied values per fitted point, and the two global parameters."""

    mfu: Keyed
    mbu: Keyed
    serving: Keyed
    training: tuple[tuple[str, str, float], ...]  # accelerator, vendor, implied MFU
    overlap: float
    collective_latency_s: float

    @property
    def stacks(self) -> tuple[str, ...]:
        """The serving stacks some fitted point was measured on."""
        keys = [k for k, _ in (*self.mfu, *self.mbu, *self.serving)]
        return tuple(sorted({k[2] for k in keys} - {"any"}))


@dataclass(frozen=True)
class Efficiency:
    mfu: float
    mbu: float
    serving: float
    overlap: float
    collective_latency_s: float
    mfu_from: str
    mbu_from: str
    serving_from: str

    @property
    def source(self) -> str:
        return (
            f"calibrated (unitcost calibration): MFU {self.mfu:.3g} [{self.mfu_from}], "
            f"MBU {self.mbu:.3g} [{self.mbu_from}], serving {self.serving:.3g} "
            f"[{self.serving_from}], prefill overlap {self.overlap:.2g}, "
            f"{self.collective_latency_s * 1e6:.3g} µs per collective"
        )


LEVELS: tuple[tuple[str, Callable[[Key, Key], bool]], ...] = (
    ("vendor+precision+stack", lambda k, q: k == q),
    ("vendor+stack", lambda k, q: k[0] == q[0] and k[2] == q[2]),
    ("vendor+precision", lambda k, q: k[0] == q[0] and k[1] == q[1]),
    ("vendor", lambda k, q: k[0] == q[0]),
    ("precision", lambda k, q: k[1] == q[1]),
    ("all", lambda k, q: True),
)


def _describe(level: str, key: Key, n: int) -> str:
    parts = {
        "vendor+precision+stack": f"{key[0]} {key[1]} {key[2]}",
        "vendor+stack": f"{key[0]} {key[2]}",
        "vendor+precision": f"{key[0]} {key[1]}",
        "vendor": key[0],
        "precision": key[1],
        "all": "all points",
    }[level]
    return f"{parts}, {n} pt{'s' if n != 1 else ''}"


def keyed_median(values: Keyed, key: Key, default: float) -> tuple[float, str]:
    for level, match in LEVELS:
        found = [v for k, v in values if match(k, key)]
        if found:
            return statistics.median(found), _describe(level, key, len(found))
    return default, "default, no points"


def lookup(fit: Fit, vendor: str, precision: str, stack: str | None = None) -> Efficiency:
    key: Key = (vendor, precision_class(precision), stack or "any")
    mfu, mfu_from = keyed_median(fit.mfu, key, 0.5)
    mbu, mbu_from = keyed_median(fit.mbu, key, 0.6)
    serving, serving_from = keyed_median(fit.serving, key, 1.0)
    return Efficiency(
        mfu=mfu,
        mbu=mbu,
        serving=serving,
        overlap=fit.overlap,
        collective_latency_s=fit.collective_latency_s,
        mfu_from=mfu_from,
        mbu_from=mbu_from,
        serving_from=serving_from,
    )


def training_mfu(fit: Fit, accelerator: str, vendor: str) -> tuple[float, str]:
    """Training MFU implied by published GPU-hours: this accelerator, its vendor, or all."""
    for label, found in (
        (accelerator, [v for a, _, v in fit.training if a == accelerator]),
        (vendor, [v for _, w, v in fit.training if w == vendor]),
        ("all runs", [v for _, _, v in fit.training]),
    ):
        if found:
            n = len(found)
            return statistics.median(found), f"{label}, {n} run{'s' if n != 1 else ''}"
    return 0.4, "default, no runs"
