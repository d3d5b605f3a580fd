"""Metrics: is this answer right? Each is a validated YAML mapping picked by `kind`.

    metric = parse_metric({"kind": "numeric", "rel_tol": 0.01})
    metric.score("so the total is $1,234.5", target="1234", item={}).value   # 1.0

| kind | scores 1 when | options |
|---|---|---|
| `exact` | the answer equals the target (or one of a list) | `case`, `strip_punctuation` |
| `choice` | the extracted letter is the target letter | `letters`, `pattern` |
| `numeric` | the last number (in `\\boxed{}` first) is within tolerance | `abs_tol`, `rel_tol` |
| `regex` | `pattern` matches; with a group, the group equals the target | `pattern`, `case` |
| `contains` | the target (each of a list, or any with `any: true`) is in the answer | `case`, `any` |
| `json_schema` | the answer (code fences allowed) is JSON valid under the schema | `schema` or `schema_field` |
| `python` | the answer's code passes the item's test in a sandbox | `test_field`, `timeout_s`, `memory_mb` |
| `replay` | the replay set's own check for the item's dataset (GPQA letter, AIME integer) | |
| `agreement` | the answer matches another variant's answer to the same item | `reference`, `measure` |
| `judge` | a judge model, through the gateway, grades it (the runner makes that call) | `model`, `prompt`, `pattern` |

A score is a float in [0, 1]; `extracted` is what the metric read from the answer.
"""

from __future__ import annotations

import json
import math
import re
import string
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from unitcost.errors import InputError, describe_validation_error
from unitcost.evals import scoring
from unitcost.evals.sandbox import run_python

__all__ = [
    "Agreement",
    "Choice",
    "Contains",
    "Exact",
    "JsonSchema",
    "Judge",
    "Metric",
    "MetricSpec",
    "Numeric",
    "Python",
    "Regex",
    "Replay",
    "Score",
    "parse_metric",
    "token_f1",
]


@dataclass(frozen=True)
class Score:
    value: float
    extracted: str | None = None
    note: str = ""


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str
    needs_call: ClassVar[bool] = False

    def score(self, answer: str, target: Any, item: dict[str, Any]) -> Score:
        raise NotImplementedError


def _targets(target: Any) -> list[str]:
    return [str(t) for t in target] if isinstance(target, list) else [str(target)]


class Exact(_Base):
    kind: Literal["exact"]
    case: bool = Field(False, description="compare case-sensitively")
    strip_punctuation: bool = True

    def _norm(self, text: str) -> str:
        text = " ".join(text.split())
        if self.strip_punctuation:
            text = text.strip(string.punctuation + " ")
        return text if self.case else text.lower()

    def score(self, answer: str, target: Any, item: dict[str, Any]) -> Score:
        got = self._norm(answer)
        return Score(float(any(got == self._norm(t) for t in _targets(target))), got)


class Choice(_Base):
    kind: Literal["choice"]
    letters: str = "ABCD"
    pattern: str | None = Field(
        None, description="a regex whose group 1 is the letter; default `Answer: X`"
    )

    def score(self, answer: str, target: Any, item: dict[str, Any]) -> Score:
        letters = re.escape(self.letters.upper() + self.letters.lower())
        # openai/simple-evals' ANSWER_PATTERN_MULTICHOICE, which scored the recorded answers
        pattern = self.pattern or rf"(?i)Answer[ \t]*:[ \t]*\$?([{letters}])\$?"
        found = re.findall(pattern, answer)
        if not found:
            return Score(0.0, None, "no answer letter")
        got = str(found[-1]).upper()  # the last match counts
        return Score(float(got == str(target).strip().upper()), got)


_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*)?\.?\d+(?:[eE][-+]?\d+)?")
_BOXED = re.compile(r"\\boxed\s*\{([^{}]*)\}")


def _last_number(text: str) -> float | None:
    boxed = _BOXED.findall(text)
    for source in ([boxed[-1]] if boxed else []) + [text]:
        found = _NUMBER.findall(source.replace("^\\circ", "").replace("°", ""))
        if found:
            try:
                return float(found[-1].replace(",", ""))
            except ValueError:
                return None
    return None


class Numeric(_Base):
    kind: Literal["numeric"]
    abs_tol: float = Field(0.0, ge=0)
    rel_tol: float = Field(0.0, ge=0)

    def score(self, answer: str, target: Any, item: dict[str, Any]) -> Score:
        got = _last_number(answer)
        try:
            want = float(str(target).replace(",", ""))
        except ValueError:
            raise InputError(f"numeric metric: target {target!r} is not a number") from None
        if got is None or not math.isfinite(got):
            return Score(0.0, None, "no number")
        ok = abs(got - want) <= self.abs_tol + self.rel_tol * abs(want)
        return Score(float(ok), f"{got:g}")


class Regex(_Base):
    kind: Literal["regex"]
    pattern: str
    case: bool = True

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc})") from None
        return value

    def score(self, answer: str, target: Any, item: dict[str, Any]) -> Score:
        rx = re.compile(self.pattern, 0 if self.case else re.IGNORECASE)
        found = list(rx.finditer(answer))
        if not found:
            return Score(0.0, None, "no match")
        last = found[-1]
        if rx.groups and target is not None:
            got = last.group(1)
            return Score(float(any(got.strip() == t.strip() for t in _targets(target))), got)
        return Score(1.0, last.group(0))


class Contains(_Base):
    kind: Literal["contains"]
    case: bool = False
    any: bool = Field(False, description="one of the targets suffices (default: all of them)")

    def score(self, answer: str, target: Any, item: dict[str, Any]) -> Score:
        text = answer if self.case else answer.lower()
        hits = [(t if self.case else t.lower()) in text for t in _targets(target)]
        return Score(float(any(hits) if self.any else all(hits)))


_FENCE = re.compile(r"```(?:[A-Za-z0-9_+-]*)\n(.*?)```", re.DOTALL)


def _fenced(answer: str) -> str:
    blocks = _FENCE.findall(answer)
    return blocks[-1] if blocks else answer


class JsonSchema(_Base):
    kind: Literal["json_schema"]
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    schema_field: str | None = Field(None, description="the item field holding its schema")

    def score(self, answer: str, target: Any, item: dict[str, Any]) -> Score:
        try:
            import jsonschema
        except ImportError:
            raise InputError(
                "metric json_schema: needs jsonschema; install with `pip install 'unitcost[eval]'`"
            ) from None
        schema = item.get(self.schema_field) if self.schema_field else self.schema_
        if not isinstance(schema, dict):
            raise InputError("json_schema metric: needs `schema` or an item field `schema_field`")
        try:
            value = json.loads(_fenced(answer).strip())
        except ValueError as exc:
            return Score(0.0, None, f"not JSON: {exc}")
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value), key=str)
        note = errors[0].message if errors else ""
        return Score(float(not errors), json.dumps(value)[:200], note)


class Python(_Base):
    kind: Literal["python"]
    test_field: str = Field("test", description="the item field holding the test code")
    timeout_s: float = Field(10.0, gt=0, le=600)
    memory_mb: int = Field(512, ge=64)

    def score(self, answer: str, target: Any, item: dict[str, Any]) -> Score:
        test = item.get(self.test_field)
        if not isinstance(test, str):
            raise InputError(f"python metric: the item has no {self.test_field!r} field with code")
        result = run_python(_fenced(answer), test, self.timeout_s, self.memory_mb)
        return Score(float(result.passed), None, result.reason)


class Replay(_Base):
    kind: Literal["replay"]
    dataset_field: str = "dataset"

    def score(self, answer: str, target: Any, item: dict[str, Any]) -> Score:
        dataset = str(item.get(self.dataset_field, ""))
        if dataset not in ("gpqa", "aime"):
            raise InputError(f"replay metric: item dataset {dataset!r}; accepted: gpqa, aime")
        return Score(scoring.score(dataset, answer, str(target)), scoring.extract(dataset, answer))


_WORD = re.compile(r"\w+")


def token_f1(answer: str, reference: str) -> float:
    """SQuAD's token F1: the harmonic mean of precision and recall of shared words."""
    a, b = _WORD.findall(answer.lower()), _WORD.findall(reference.lower())
    if not a or not b:
        return float(a == b)
    common: dict[str, int] = {}
    for w in a:
        common[w] = common.get(w, 0) + 1
    shared = 0
    for w in b:
        if common.get(w, 0) > 0:
            common[w] -= 1
            shared += 1
    if not shared:
        return 0.0
    precision, recall = shared / len(a), shared / len(b)
    return 2 * precision * recall / (precision + recall)


class Agreement(_Base):
    """Agreement with a reference variant's answer to the same item: for a model that cannot
    be scored against ground truth (a 135M model), how far a cheaper variant (a lower-bit
    quantization, a shorter prompt) drifts from the best one."""

    kind: Literal["agreement"]
    reference: str = Field(description="the variant whose answers are the reference")
    measure: Literal["exact", "token_f1"] = "exact"

    def compare(self, answer: str, reference: str) -> Score:
        if self.measure == "exact":
            return Score(float(" ".join(answer.split()) == " ".join(reference.split())))
        return Score(token_f1(answer, reference))

    def score(self, answer: str, target: Any, item: dict[str, Any]) -> Score:
        raise InputError("agreement metric: scored by the results, which read the reference")


JUDGE_PROMPT = (
    "You are grading an answer to a question.\n\nQuestion:\n{question}\n\n"
    "Reference answer:\n{target}\n\nAnswer to grade:\n{answer}\n\n"
    "Is the answer correct and consistent with the reference? Reply with one line: "
    "GRADE: C if it is correct, GRADE: I if it is not."
)


class Judge(_Base):
    kind: Literal["judge"]
    needs_call: ClassVar[bool] = True
    model: str = Field(description="a deployment or route of the gateway")
    prompt: str = JUDGE_PROMPT
    pattern: str = Field(r"GRADE:\s*([CI])", description="group 1 is C/I, or a number in [0, 1]")
    params: dict[str, Any] = {"temperature": 0, "max_tokens": 16}

    def judge_messages(self, question: str, answer: str, target: Any) -> list[dict[str, str]]:
        text = (
            self.prompt.replace("{question}", question)
            .replace("{answer}", answer)
            .replace("{target}", "" if target is None else str(target))
        )
        return [{"role": "user", "content": text}]

    def read_verdict(self, verdict: str) -> Score:
        found = re.findall(self.pattern, verdict)
        if not found:
            return Score(0.0, None, "the judge gave no grade")
        got = str(found[-1]).strip()
        if got.upper() in ("C", "I"):
            return Score(float(got.upper() == "C"), got.upper())
        try:
            value = float(got)
        except ValueError:
            return Score(0.0, got, "the judge's grade is neither C/I nor a number")
        return Score(min(1.0, max(0.0, value)), got)

    def score(self, answer: str, target: Any, item: dict[str, Any]) -> Score:
        raise InputError("judge metric: scored by the runner, which calls the judge model")


Metric = (
    Exact | Choice | Numeric | Regex | Contains | JsonSchema | Python | Replay | Agreement | Judge
)
MetricSpec = Annotated[Metric, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[Metric] = TypeAdapter(MetricSpec)
KINDS = (
    "exact",
    "choice",
    "numeric",
    "regex",
    "contains",
    "json_schema",
    "python",
    "replay",
    "agreement",
    "judge",
)


def parse_metric(raw: Any, where: str = "metric") -> Metric:
    if isinstance(raw, str):
        raw = {"kind": raw}
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        got = raw.get("kind") if isinstance(raw, dict) else raw
        raise InputError(f"{where}.kind: {got!r} is not a metric; accepted: {', '.join(KINDS)}")
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, prefix=where)) from None
