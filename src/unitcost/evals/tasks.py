"""Tasks: a dataset, prompt templates, a metric and the variants to compare, in YAML.

    task = load_task("examples/evals/capitals.yaml")   # or a built-in: load_task("gpqa")
    task.items[0]            # {"id": ..., "question": ..., "answer": ...}
    task.messages(task.variants[0], task.items[0])     # the chat messages sent

```yaml
name: capitals
dataset: {path: capitals.jsonl, target: answer, limit: 50}   # JSONL beside this file
templates:
  plain: "What is the capital of {country}? Answer with the city only."
  terse: [{role: system, content: "Be terse."}, {role: user, content: "Capital of {country}?"}]
metric: {kind: exact}
params: {temperature: 0, max_tokens: 32}         # every variant's, unless it overrides
epochs: 1                                         # samples per item and variant
variants:
  - {name: mini, model: gpt-5-mini}               # a deployment or route of the gateway
  - {name: mini-terse, model: gpt-5-mini, template: terse, params: {max_tokens: 8}}
gateway: gateway.yaml     # the portfolio; default: the replay portfolio (and its auto route)
```

A template names item fields in braces, `{country}`; other braces (LaTeX, JSON) are left
alone. Built-in tasks `gpqa`, `aime` and `replay` (both) ask the recorded GPQA and AIME
questions of the shipped replay set, scored as they were originally, on every recorded model.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from unitcost.catalog.replay import load_replay_set
from unitcost.errors import InputError, describe_validation_error
from unitcost.evals.metrics import MetricSpec
from unitcost.evals.portfolio import replay_portfolio
from unitcost.yamlfile import parse_mapping

__all__ = ["BUILTIN", "Dataset", "Task", "Variant", "load_task", "parse_task", "render"]

BUILTIN = ("gpqa", "aime", "replay")
#: replay answers ignore max_tokens; the models' own output limit bounds each call's cost
REPLAY_MAX_TOKENS = 65_536
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dataset(_Section):
    path: str | None = Field(None, description="a JSONL file, relative to the task file")
    builtin: str | None = Field(None, description="gpqa, aime or replay")
    id: str = Field("id", description="the item field that names it (else its line number)")
    target: str = Field("target", description="the item field holding the right answer")
    input: str = Field("prompt", description="the item field shown to a judge as the question")
    limit: int | None = Field(None, ge=1)


Template = str | list[dict[str, str]]


class Variant(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9._:/+-]+$")
    model: str = Field(description="a deployment or route of the gateway")
    template: str | None = None
    params: dict[str, Any] = {}
    teacher: str | None = Field(None, description="the variant this one was distilled from")


class Task(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9._:/-]+$")
    description: str = ""
    dataset: Dataset
    templates: dict[str, Template] = {"default": "{prompt}"}
    metric: MetricSpec
    params: dict[str, Any] = {}
    epochs: int = Field(1, ge=1, le=100)
    variants: list[Variant] = Field(min_length=1)
    gateway: str | None = Field(None, description="a gateway.yaml with the portfolio")
    items: list[dict[str, Any]] = Field([], description="filled from the dataset at load")
    source: str = ""

    @field_validator("variants")
    @classmethod
    def _unique(cls, variants: list[Variant]) -> list[Variant]:
        names = [v.name for v in variants]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate variant name {dupes[0]!r}")
        return variants

    def template_of(self, variant: Variant) -> Template:
        name = variant.template or next(iter(self.templates))
        return self.templates[name]

    def params_of(self, variant: Variant) -> dict[str, Any]:
        return {**self.params, **variant.params}

    def messages(self, variant: Variant, item: dict[str, Any]) -> list[dict[str, str]]:
        template = self.template_of(variant)
        if isinstance(template, str):
            return [{"role": "user", "content": render(template, item)}]
        return [{**m, "content": render(m["content"], item)} for m in template]

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise InputError(
            f"--variant: {name!r} is not a variant of {self.name}; "
            f"accepted: {', '.join(v.name for v in self.variants)}"
        )


def render(template: str, item: dict[str, Any]) -> str:
    """`{field}` replaced by the item's field; braces around anything else kept as they are."""
    return _FIELD.sub(
        lambda m: str(item[m.group(1)]) if m.group(1) in item else m.group(0), template
    )


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InputError(f"dataset.path: {str(path)!r} does not exist")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InputError(
                f"{path.name}:{n}: not JSON ({exc}); accepted: one JSON object a line"
            ) from None
        if not isinstance(row, dict):
            raise InputError(f"{path.name}:{n}: a {type(row).__name__}; accepted: a JSON object")
        items.append(row)
    return items


def _builtin_items(name: str) -> list[dict[str, Any]]:
    if name not in BUILTIN:
        raise InputError(f"dataset.builtin: {name!r}; accepted: {', '.join(BUILTIN)}")
    data = load_replay_set()
    return [
        {"id": qid, "prompt": q["prompt"], "target": q["ground_truth"], "dataset": q["dataset"]}
        for qid, q in sorted(data.questions.items())
        if name == "replay" or q["dataset"] == name
    ]


def _check_items(task: Task, items: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    ds = task.dataset
    if not items:
        raise InputError(f"{where}.dataset: no items")
    out, seen = [], set()
    for n, item in enumerate(items, 1):
        item = dict(item)
        item["id"] = str(item.get(ds.id, n))
        if item["id"] in seen:
            raise InputError(f"{where}.dataset: item id {item['id']!r} appears twice")
        seen.add(item["id"])
        if ds.target not in item and task.metric.kind not in ("python", "json_schema", "agreement"):
            raise InputError(f"{where}.dataset: item {item['id']} has no {ds.target!r} field")
        out.append(item)
    for tname, template in task.templates.items():
        texts = (
            [template] if isinstance(template, str) else [m.get("content", "") for m in template]
        )
        for text in texts:
            for field in _FIELD.findall(text):
                if field not in out[0]:
                    raise InputError(
                        f"{where}.templates.{tname}: {{{field}}} is not an item field; "
                        f"fields: {', '.join(sorted(out[0]))}"
                    )
    reference = getattr(task.metric, "reference", None)
    if reference is not None and reference not in {v.name for v in task.variants}:
        raise InputError(
            f"{where}.metric.reference: {reference!r} is not a variant; "
            f"accepted: {', '.join(v.name for v in task.variants)}"
        )
    for v in task.variants:
        if v.template is not None and v.template not in task.templates:
            raise InputError(
                f"{where}.variants.{v.name}.template: {v.template!r}; "
                f"accepted: {', '.join(task.templates)}"
            )
    return out[: ds.limit] if ds.limit else out


def parse_task(raw: dict[str, Any], where: str = "task", base: Path | None = None) -> Task:
    try:
        task = Task(**raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, prefix=where)) from None
    ds = task.dataset
    if (ds.path is None) == (ds.builtin is None):
        raise InputError(f"{where}.dataset: give exactly one of `path` or `builtin`")
    if ds.builtin is not None:
        items = _builtin_items(ds.builtin)
    else:
        path = Path(ds.path or "")
        items = _read_jsonl(path if path.is_absolute() or base is None else base / path)
    gateway = task.gateway
    if gateway is not None and base is not None and not Path(gateway).is_absolute():
        gateway = str(base / gateway)
    return task.model_copy(
        update={"items": _check_items(task, items, where), "gateway": gateway, "source": where}
    )


def _count(name: str) -> str:
    items = _builtin_items(name)
    kinds = sorted({i["dataset"] for i in items})
    return " and ".join(f"{sum(i['dataset'] == k for i in items)} {k.upper()}" for k in kinds)


def builtin_task(name: str) -> Task:
    """A recorded GPQA/AIME task over every model the replay set recorded, and the learned
    route `auto` between two of them when the routing extra is installed."""
    data = load_replay_set()
    raw = {
        "name": name,
        "description": f"{_count(name)}, {len(data.models)} models' recorded answers",
        "dataset": {"builtin": name},
        "metric": {"kind": "replay"},
        "params": {"max_tokens": REPLAY_MAX_TOKENS},
        "variants": [{"name": m, "model": m} for m in sorted(data.models)]
        + [{"name": r["name"], "model": r["name"]} for r in replay_portfolio().get("routes", [])],
    }
    return parse_task(raw, f"builtin:{name}")


def load_task(spec: str) -> Task:
    """A task from a YAML file, or a built-in by name (gpqa, aime, replay)."""
    if spec in BUILTIN:
        return builtin_task(spec)
    path = Path(spec)
    if not path.is_file():
        raise InputError(
            f"task: {spec!r} is neither a file nor a built-in task; built-ins: {', '.join(BUILTIN)}"
        )
    raw = parse_mapping(path.read_text(encoding="utf-8"), str(path))
    return parse_task(raw, str(path), path.parent)
