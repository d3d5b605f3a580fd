"""What this CPU can run: its instruction-set flags, read from /proc/cpuinfo.

    flags = cpu_flags()                       # {"avx2", "fma", "f16c", ...}
    missing_features(["avx2", "fma"])         # [] on any x86-64 CPU since ~2013
    describe_cpu()                            # "AMD EPYC (2 CPUs; AVX-512, no AMX)"

The engine is built for a fixed baseline (see `build.FEATURES`); a CPU without one of those
features cannot run it, and the error that says so names the missing ones.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

__all__ = ["cpu_flags", "cpu_model", "describe_cpu", "missing_features"]

CPUINFO = Path("/proc/cpuinfo")


def _field(name: str) -> str:
    try:
        text = CPUINFO.read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == name:
            return value.strip()
    return ""


@cache
def cpu_flags() -> frozenset[str]:
    """The flags of the first CPU (x86 `flags`, ARM `Features`); empty if unreadable."""
    return frozenset((_field("flags") or _field("Features")).split())


def cpu_model() -> str:
    return _field("model name") or os.uname().machine


def missing_features(required: list[str]) -> list[str]:
    """The features in `required` this CPU lacks (none when /proc/cpuinfo is unreadable:
    then nothing can be said, and the engine's own exit status has to speak)."""
    flags = cpu_flags()
    return [f for f in required if flags and f not in flags]


def describe_cpu() -> str:
    flags = cpu_flags()
    wide = "AVX-512" if "avx512f" in flags else "no AVX-512"
    amx = "AMX" if "amx_tile" in flags else "no AMX"
    return f"{cpu_model()} ({os.cpu_count()} CPUs; {wide}, {amx})"
