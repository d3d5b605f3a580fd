"""`unitcost engine quantize Q4_0`: lower-bit variants of the shipped SmolLM2 GGUF, offline.

    variant = quantize("Q4_0")          # models/SmolLM2-135M-Instruct.Q4_0.gguf (+ .json)
    variant.bits_per_weight, variant.fallback_tensors

llama.cpp's own `llama-quantize --allow-requantize`, built from the same sources as the
engine, re-quantizes the shipped Q4_1 (there is no higher-precision original offline, so
every variant carries Q4_1's error plus its own; types above Q4_1 add none back). A
deployment names a variant by its type: `backend: local, options: {quant: Q4_0}`.

K-quants (Q2_K ... Q6_K) pack 256 weights per super-block; SmolLM2-135M's matrices have
576 columns, so most of its tensors cannot take them and llama.cpp falls back to Q4_0 for
those. The result records how many fell back and the real bits per weight, so a variant
named Q2_K that is mostly Q4_0 says so.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from unitcost.engine.build import ensure_model
from unitcost.engine.cache import model_path, require_engine
from unitcost.errors import InputError, UnitcostError

__all__ = ["QUANTS", "Variant", "quantize", "variants"]

#: the types llama-quantize makes without an importance matrix, lowest bits first
QUANTS = (
    "Q2_K",
    "Q3_K_S",
    "Q3_K_M",
    "Q3_K_L",
    "IQ4_NL",
    "Q4_0",
    "Q4_K_S",
    "Q4_K_M",
    "Q5_0",
    "Q5_1",
    "Q5_K_S",
    "Q5_K_M",
    "Q6_K",
    "Q8_0",
)
SHIPPED = "Q4_1"


@dataclass(frozen=True)
class Variant:
    quant: str
    path: str
    size_bytes: int
    bits_per_weight: float | None
    fallback_tensors: int
    tensors: int
    seconds: float
    made_from: str

    def summary(self) -> str:
        """One line (fits 80 columns): "Q3_K_S: 84.1 MiB, 5.14 bits/weight, 180/272 fell back"."""
        bpw = f"{self.bits_per_weight:.2f}" if self.bits_per_weight is not None else "(unknown)"
        line = f"{self.quant}: {self.size_bytes / 2**20:.1f} MiB, {bpw} bits/weight"
        if self.fallback_tensors:
            line += f", {self.fallback_tensors}/{self.tensors} tensors fell back to another type"
        return line


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def _parse(log: str) -> tuple[float | None, int, int]:
    bpw = re.search(r"quant size\s*=\s*[\d.]+ MiB \(([\d.]+) BPW\)", log)
    fell = re.search(r"(\d+) of (\d+) tensor\(s\) required fallback", log)
    tensors = re.findall(r"\[\s*\d+/\s*(\d+)\]", log)
    total = int(fell.group(2)) if fell else int(tensors[-1]) if tensors else 0
    return (float(bpw.group(1)) if bpw else None, int(fell.group(1)) if fell else 0, total)


def quantize(quant: str, *, force: bool = False, log: Callable[[str], None] = print) -> Variant:
    quant = quant.upper()
    if quant == SHIPPED:
        raise InputError(f"quant: {SHIPPED} is the shipped model; accepted: {', '.join(QUANTS)}")
    if quant not in QUANTS:
        raise InputError(f"quant: {quant!r} is not supported; accepted: {', '.join(QUANTS)}")
    target = model_path(quant)
    if target.is_file() and _sidecar(target).is_file() and not force:
        return Variant(**json.loads(_sidecar(target).read_text()))
    engine = require_engine()
    source = ensure_model(log=log)
    partial = target.with_name(target.name + ".partial")
    log(f"quantizing {source.name} to {quant} with {engine.quantize.name}")
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(engine.quantize),
            "--allow-requantize",
            str(source),
            str(partial),
            quant,
            str(os.cpu_count() or 1),
        ],
        capture_output=True,
        text=True,
    )
    output = done.stdout + done.stderr
    quant_log = target.with_suffix(".log")
    quant_log.write_text(output)
    if done.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise UnitcostError(
            f"llama-quantize failed for {quant} (exit {done.returncode}); log: {quant_log}"
        )
    partial.replace(target)
    bpw, fallback, tensors = _parse(output)
    variant = Variant(
        quant,
        str(target),
        target.stat().st_size,
        bpw,
        fallback,
        tensors,
        round(time.perf_counter() - started, 2),
        f"{source.name} (llama-quantize --allow-requantize)",
    )
    _sidecar(target).write_text(json.dumps(asdict(variant), indent=2) + "\n")
    return variant


def variants() -> list[Variant]:
    """The variants made so far, in QUANTS order."""
    found = []
    for quant in QUANTS:
        side = _sidecar(model_path(quant))
        if model_path(quant).is_file() and side.is_file():
            found.append(Variant(**json.loads(side.read_text())))
    return found
