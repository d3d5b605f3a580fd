"""The catalog: accelerators, models and facility presets, each figure with its source.

    >>> from unitcost.catalog import load_catalog
    >>> cat = load_catalog()
    >>> cat.accelerator("h100").memory_bandwidth_gb_s
    3350.0

The shipped data lives in `catalog/data/*.yaml`. A user's own YAML file in the same shape
(`load_catalog("mine.yaml")`, or the `UNITCOST_CATALOG` environment variable) adds entries
and replaces shipped ones of the same name.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from unitcost.errors import CatalogLookupError, InputError, describe_validation_error
from unitcost.yamlfile import parse_mapping

__all__ = [
    "Accelerator",
    "Catalog",
    "Facility",
    "Figure",
    "ModelShape",
    "Precision",
    "PriceRange",
    "load_catalog",
    "shipped_yaml",
]

Precision = Literal["bf16", "fp16", "fp8", "int8", "int4"]

#: bytes one weight or cache element takes at each precision
BYTES_PER_ELEMENT: dict[str, float] = {
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
}


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceRange(_Row):
    low: float = Field(ge=0)
    high: float = Field(ge=0)
    as_of: str
    source: str

    @property
    def mid(self) -> float:
        return (self.low + self.high) / 2


class Accelerator(_Row):
    name: str
    aliases: list[str] = []
    vendor: str
    memory_gb: float = Field(gt=0)
    memory_bandwidth_gb_s: float = Field(gt=0)
    bf16_tflops: float = Field(gt=0)
    fp8_tflops: float | None = None
    int8_tops: float | None = None
    int4_tops: float | None = None
    tdp_watts: float | None = Field(default=None, gt=0)
    interconnect: str | None = None
    interconnect_gb_s: float | None = None
    source: str
    field_sources: dict[str, str] = {}
    purchase_usd: PriceRange | None = None
    rental_usd_per_hour: PriceRange | None = None
    notes: str | None = None

    def peak_tflops(self, precision: str) -> float:
        """Dense peak for the precision; a precision the chip lacks runs at its bf16 rate."""
        by_precision = {
            "bf16": self.bf16_tflops,
            "fp16": self.bf16_tflops,
            "fp8": self.fp8_tflops,
            "int8": self.int8_tops or self.fp8_tflops,
            "int4": self.int4_tops or self.int8_tops or self.fp8_tflops,
        }
        return by_precision.get(precision) or self.bf16_tflops

    def source_of(self, field: str) -> str:
        return f"catalog {self.name}.{field}, {cite(self.field_sources.get(field, self.source))}"


class ModelShape(_Row):
    name: str
    aliases: list[str] = []
    params_total_b: float = Field(gt=0)
    params_active_b: float = Field(gt=0)
    layers: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    attention_heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    vocab_size: int = Field(gt=0)
    context_tokens: int = Field(gt=0)
    experts: int | None = None
    experts_per_token: int | None = None
    kv_cache_elements_per_layer: int | None = None
    training_tokens_t: float | None = None
    source: str

    @property
    def kv_elements_per_token(self) -> int:
        """KV-cache elements one token keeps across all layers (MLA models override)."""
        per_layer = self.kv_cache_elements_per_layer or 2 * self.kv_heads * self.head_dim
        return self.layers * per_layer

    def source_of(self, field: str) -> str:
        return f"catalog {self.name}.{field}, {cite(self.source)}"


class Figure(_Row):
    value: float = Field(ge=0)
    source: str
    as_of: str | None = None
    low: float | None = None
    high: float | None = None


class Facility(_Row):
    """A named facility preset: keys into the figure tables below."""

    pue: str
    wue_l_per_kwh: str
    electricity_usd_per_kwh: str
    carbon_g_per_kwh: str


class _Facilities(_Row):
    pue: dict[str, Figure]
    wue_l_per_kwh: dict[str, Figure]
    electricity_usd_per_kwh: dict[str, Figure]
    carbon_g_per_kwh: dict[str, Figure]
    presets: dict[str, Facility]


class _CatalogFile(_Row):
    accelerators: list[Accelerator] = []
    models: list[ModelShape] = []
    pue: dict[str, Figure] = {}
    wue_l_per_kwh: dict[str, Figure] = {}
    electricity_usd_per_kwh: dict[str, Figure] = {}
    carbon_g_per_kwh: dict[str, Figure] = {}
    presets: dict[str, Facility] = {}
    #: published figures that put a plan in proportion (e.g. all data centres' electricity)
    context: dict[str, Figure] = {}


FigureTable = Literal["pue", "wue_l_per_kwh", "electricity_usd_per_kwh", "carbon_g_per_kwh"]


def cite(source: str, limit: int = 90) -> str:
    """The document a catalog source names, without its quoted details: for tables and
    cost lines. `unitcost catalog` prints sources whole."""
    text = " ".join(source.split())
    for stop in (": ", " : ", " http", " (http"):
        if stop in text:
            text = text[: text.index(stop)]
    text = text.rstrip(" ,;.")
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + "…"
    return text


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


class Catalog:
    """Lookups by name or alias, case-insensitive; unknown names list what is known."""

    def __init__(self, parts: list[_CatalogFile]) -> None:
        self.accelerators: dict[str, Accelerator] = {}
        self.models: dict[str, ModelShape] = {}
        self.figures: dict[str, dict[str, Figure]] = {
            "pue": {},
            "wue_l_per_kwh": {},
            "electricity_usd_per_kwh": {},
            "carbon_g_per_kwh": {},
        }
        self.presets: dict[str, Facility] = {}
        self.context: dict[str, Figure] = {}
        self._aliases: dict[str, dict[str, str]] = {"accelerator": {}, "model": {}}
        for part in parts:
            for acc in part.accelerators:
                self.accelerators[acc.name] = acc
                self._alias("accelerator", acc.name, acc.aliases)
            for model in part.models:
                self.models[model.name] = model
                self._alias("model", model.name, model.aliases)
            for table, rows in self.figures.items():
                rows.update(getattr(part, table))
            self.presets.update(part.presets)
            self.context.update(part.context)

    def _alias(self, kind: str, name: str, aliases: list[str]) -> None:
        for alias in [name, *aliases]:
            self._aliases[kind][_key(alias)] = name

    def accelerator(self, name: str) -> Accelerator:
        found = self._aliases["accelerator"].get(_key(name))
        if found is None:
            raise CatalogLookupError("accelerator", name, self.accelerators)
        return self.accelerators[found]

    def model(self, name: str) -> ModelShape:
        found = self._aliases["model"].get(_key(name))
        if found is None:
            raise CatalogLookupError("model", name, self.models)
        return self.models[found]

    def figure(self, table: FigureTable, name: str) -> Figure:
        rows = self.figures[table]
        if name not in rows:
            raise CatalogLookupError(f"{table} preset", name, rows)
        return rows[name]

    def facility(self, name: str) -> Facility:
        if name not in self.presets:
            raise CatalogLookupError("facility preset", name, self.presets)
        return self.presets[name]


def _read(text: str, origin: str) -> _CatalogFile:
    raw = parse_mapping(text, origin)
    try:
        return _CatalogFile.model_validate(raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, prefix=origin)) from None


def shipped_yaml(name: str) -> Any:
    """A data file shipped with the catalog, parsed with libyaml when present (the pure
    Python parser takes ~0.3 s per file; these files are ours and well formed)."""
    text = (resources.files("unitcost.catalog") / "data" / name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@cache
def _shipped() -> tuple[_CatalogFile, ...]:
    return tuple(
        _CatalogFile.model_validate(shipped_yaml(f"{part}.yaml"))
        for part in ("accelerators", "models", "facilities")
    )


def load_catalog(extra: str | Path | None = None) -> Catalog:
    """The shipped catalog, plus `extra` (or $UNITCOST_CATALOG) layered on top."""
    parts = list(_shipped())
    path = extra or os.environ.get("UNITCOST_CATALOG")
    if path:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"catalog file {str(p)!r} does not exist")
        parts.append(_read(p.read_text(encoding="utf-8"), str(p)))
    return Catalog(parts)
