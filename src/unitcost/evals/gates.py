"""CI gates on quality and cost, judged with their intervals: a failure must be significant.

    gates = [parse_gate("quality >= 0.80"), parse_gate("cost_per_task <= 0.002"),
             parse_gate("quality(candidate) - quality(baseline) >= -0.02")]
    outcomes = check_gates(gates, results)
    exit_code(outcomes)                   # 1 only when some gate failed significantly
    junit_xml(outcomes), markdown_summary(results, outcomes)

A gate is `METRIC OP NUMBER`, `METRIC(VARIANT) OP NUMBER`, or a paired difference
`METRIC(A) - METRIC(B) OP NUMBER` (quality and cost_per_task only, on the items both
answered: Newcombe's paired interval for 0/1 quality, the paired bootstrap otherwise). Metrics: quality, cost_per_task and cost_per_correct ($),
latency_p50 and latency_p95 (seconds), error_rate. NUMBER may be written 80% or $0.002.
A gate without a variant applies to every variant of every task.

Each gate ends one of three ways:
- **pass**: the point estimate meets it;
- **fail**: the whole interval lies on the wrong side of the threshold (significant);
- **inconclusive**: the point misses but the interval straddles the threshold: reported,
  but not a failure, so a noisy small eval does not block a pull request by chance.
"""

from __future__ import annotations

import math
import operator
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from unitcost.errors import InputError
from unitcost.evals.results import TaskResult, VariantResult, compare
from unitcost.evals.statistics import Interval, wilson

__all__ = [
    "METRICS",
    "Gate",
    "GateOutcome",
    "check_gates",
    "check_variants",
    "exit_code",
    "junit_xml",
    "parse_gate",
]

METRICS = (
    "quality",
    "cost_per_task",
    "cost_per_correct",
    "latency_p50",
    "latency_p95",
    "error_rate",
)
_PAIRED = ("quality", "cost_per_task")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_TERM = r"([a-z_0-9]+)(?:\(\s*([^()\s]+)\s*\))?"
_GATE = re.compile(rf"^\s*{_TERM}\s*(?:-\s*{_TERM}\s*)?(>=|<=|>|<)\s*(\$?-?[0-9.]+%?)\s*$")


@dataclass(frozen=True)
class Gate:
    text: str
    metric: str
    variant: str | None
    op: str
    threshold: float
    minus: str | None = None  # the baseline variant of a paired difference


def _number(raw: str, text: str) -> float:
    value = raw.lstrip("$")
    try:
        number = float(value.rstrip("%"))
    except ValueError:
        raise InputError(f"--gate {text!r}: {raw!r} is not a number") from None
    return number / 100 if value.endswith("%") else number


def parse_gate(text: str) -> Gate:
    m = _GATE.match(text)
    usage = (
        "accepted: 'quality >= 0.8', 'cost_per_task(VARIANT) <= 0.002', "
        "'quality(A) - quality(B) >= -0.02'"
    )
    if not m:
        raise InputError(f"--gate {text!r}: not a gate; {usage}")
    metric, variant, metric_b, minus, op, number = m.groups()
    for name in (metric, metric_b):
        if name is not None and name not in METRICS:
            raise InputError(
                f"--gate {text!r}: unknown metric {name!r}; accepted: {', '.join(METRICS)}"
            )
    if metric_b is not None:
        if metric_b != metric or variant is None or minus is None:
            raise InputError(
                f"--gate {text!r}: a difference needs one metric of two variants, "
                "as in quality(A) - quality(B)"
            )
        if metric not in _PAIRED:
            raise InputError(
                f"--gate {text!r}: differences are paired for {', '.join(_PAIRED)} only"
            )
    return Gate(text.strip(), metric, variant, op, _number(number, text), minus)


@dataclass(frozen=True)
class GateOutcome:
    gate: Gate
    task: str
    subject: str  # a variant, or "A - B"
    value: Interval
    status: str  # pass, fail, inconclusive

    @property
    def message(self) -> str:
        v = self.value
        shown = _fmt(self.gate.metric, v.point)
        ci = f"{_fmt(self.gate.metric, v.low)} to {_fmt(self.gate.metric, v.high)}"
        words = {
            "pass": "passes",
            "fail": "fails (the whole interval misses the threshold)",
            "inconclusive": "misses by its point estimate, but the interval straddles the "
            "threshold: not significant, not a failure",
        }[self.status]
        return (
            f"{self.task} {self.subject}: {self.gate.metric} = {shown} "
            f"({v.level:.0%} CI {ci}) {self.gate.op} {_fmt(self.gate.metric, self.gate.threshold)}"
            f" {words}"
        )


def _fmt(metric: str, value: float) -> str:
    if value != value:
        return "n/a"
    if metric.startswith("cost"):
        return f"${value:.6f}"
    if metric.startswith("latency"):
        return f"{value:.2f} s"
    return f"{value:.1%}"


def _quantile_interval(r: VariantResult, q: float, resamples: int, level: float) -> Interval:
    values = r.latency_ms / 1000
    if not values.size:
        return Interval(math.nan, math.nan, math.nan, level, "bootstrap")
    rng = np.random.default_rng(0)
    draws = np.percentile(values[rng.integers(0, values.size, (resamples, values.size))], q, axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(float(np.percentile(values, q)), float(low), float(high), level, "bootstrap")


def _value(metric: str, r: VariantResult, task: TaskResult) -> Interval:
    if metric == "quality":
        return r.quality
    if metric == "cost_per_task":
        return r.cost_per_task
    if metric == "cost_per_correct":
        return r.cost_per_correct
    if metric == "error_rate":
        return wilson(r.errors, r.n, task.level)
    q = 50.0 if metric == "latency_p50" else 95.0
    return _quantile_interval(r, q, task.resamples, task.level)


def _status(gate: Gate, v: Interval) -> str:
    meets = _OPS[gate.op]
    if v.point != v.point:
        return "fail"  # nothing was answered: nothing can pass
    if meets(v.point, gate.threshold):
        return "pass"
    wrong_side = v.high < gate.threshold if gate.op in (">=", ">") else v.low > gate.threshold
    return "fail" if wrong_side else "inconclusive"


def check_variants(gates: list[Gate], variants: set[str]) -> None:
    """Before a run: every variant a gate names is one the run will ask, so a typo fails
    before anything is paid for (check_gates, after the run, needs them in one task)."""
    for gate in gates:
        for name in (gate.variant, gate.minus):
            if name is not None and name not in variants:
                raise InputError(
                    f"--gate {gate.text!r}: no variant {name!r} in this run; variants: "
                    f"{', '.join(sorted(variants))}"
                )


def check_gates(gates: list[Gate], results: list[TaskResult]) -> list[GateOutcome]:
    outcomes = []
    for gate in gates:
        matched = False
        for task in results:
            names = [gate.variant] if gate.variant else list(task.variants)
            if gate.minus:
                names.append(gate.minus)
            if not all(n in task.variants for n in names):
                continue
            matched = True
            if gate.minus and gate.variant:
                c = compare(
                    task.variants[gate.variant],
                    task.variants[gate.minus],
                    task.resamples,
                    task.level,
                    seed=0,
                )
                v = c.quality_diff if gate.metric == "quality" else c.cost_diff
                subject = f"{gate.variant} - {gate.minus}"
                outcomes.append(GateOutcome(gate, task.task, subject, v, _status(gate, v)))
                continue
            for name in names:
                v = _value(gate.metric, task.variants[name], task)
                outcomes.append(GateOutcome(gate, task.task, name, v, _status(gate, v)))
        if not matched:
            known = sorted({v for t in results for v in t.variants})
            raise InputError(
                f"--gate {gate.text!r}: no task has that variant; variants: {', '.join(known)}"
            )
    return outcomes


def exit_code(outcomes: list[GateOutcome]) -> int:
    return 1 if any(o.status == "fail" for o in outcomes) else 0


def junit_xml(outcomes: list[GateOutcome]) -> str:
    """JUnit XML: one test case per gate and subject; an inconclusive gate passes with a note."""
    fails = sum(o.status == "fail" for o in outcomes)
    suites = ET.Element(
        "testsuites", name="unitcost eval", tests=str(len(outcomes)), failures=str(fails)
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="unitcost eval gates",
        tests=str(len(outcomes)),
        failures=str(fails),
        errors="0",
        skipped="0",
    )
    for o in outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"unitcost.eval.{o.task}",
            name=f"{o.gate.text} [{o.subject}]",
            time="0",
        )
        if o.status == "fail":
            ET.SubElement(case, "failure", message=o.message, type="GateFailed").text = o.message
        else:
            ET.SubElement(case, "system-out").text = o.message
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")
