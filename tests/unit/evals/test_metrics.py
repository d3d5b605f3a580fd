"""Every metric kind on answers it must accept and answers it must reject."""

from __future__ import annotations

from pathlib import Path

import pytest

from unitcost.catalog.replay import load_replay_set
from unitcost.errors import InputError
from unitcost.evals.metrics import Judge, parse_metric
from unitcost.evals.sandbox import run_python


def score(spec: dict[str, object], answer: str, target: object = None, **item: object) -> float:
    return parse_metric(spec).score(answer, target, dict(item)).value


def test_exact_normalises_space_case_and_trailing_punctuation() -> None:
    assert score({"kind": "exact"}, "  Paris. ", "paris") == 1.0
    assert score({"kind": "exact"}, "Paris, France", "Paris") == 0.0
    assert score({"kind": "exact", "case": True}, "paris", "Paris") == 0.0
    assert score({"kind": "exact"}, "Lyon", ["Paris", "Lyon"]) == 1.0


def test_choice_takes_the_last_answer_line() -> None:
    text = "Answer: A looks tempting, but no.\nAnswer: C"
    assert score({"kind": "choice"}, text, "C") == 1.0
    assert score({"kind": "choice"}, text, "A") == 0.0
    assert score({"kind": "choice"}, "I think it is C", "C") == 0.0  # no answer line
    assert score({"kind": "choice", "pattern": r"\(([A-E])\)", "letters": "ABCDE"}, "(E)", "E")


def test_numeric_with_tolerance_reads_boxed_first() -> None:
    assert score({"kind": "numeric"}, "we get \\boxed{033} after 12 steps", "33") == 1.0
    assert score({"kind": "numeric"}, "so the total is $1,234.5", "1234.5") == 1.0
    assert score({"kind": "numeric", "rel_tol": 0.01}, "about 99.5", "100") == 1.0
    assert score({"kind": "numeric", "rel_tol": 0.001}, "about 99.5", "100") == 0.0
    assert score({"kind": "numeric", "abs_tol": 0.5}, "-3.4", "-3") == 1.0
    assert score({"kind": "numeric"}, "no digits here", "3") == 0.0
    with pytest.raises(InputError, match="not a number"):
        score({"kind": "numeric"}, "3", "three")


def test_regex_matches_or_compares_its_group() -> None:
    assert score({"kind": "regex", "pattern": r"\bOK\b"}, "all OK now") == 1.0
    assert score({"kind": "regex", "pattern": r"\bOK\b"}, "all okay now") == 0.0
    spec = {"kind": "regex", "pattern": r"id=(\d+)"}
    assert score(spec, "id=7 then id=42", "42") == 1.0
    assert score(spec, "id=7 then id=42", "7") == 0.0  # the last match counts
    with pytest.raises(InputError, match="pattern"):
        parse_metric({"kind": "regex", "pattern": "(unclosed"})


def test_contains_all_or_any() -> None:
    assert score({"kind": "contains"}, "Red and BLUE", ["red", "blue"]) == 1.0
    assert score({"kind": "contains"}, "Red only", ["red", "blue"]) == 0.0
    assert score({"kind": "contains", "any": True}, "Red only", ["red", "blue"]) == 1.0


def test_json_schema_validity_with_code_fences() -> None:
    spec = {
        "kind": "json_schema",
        "schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "n": {"type": "integer"}},
            "required": ["city", "n"],
        },
    }
    assert score(spec, 'Here:\n```json\n{"city": "Oslo", "n": 3}\n```') == 1.0
    assert score(spec, '{"city": "Oslo", "n": "three"}') == 0.0
    assert score(spec, "{city: Oslo}") == 0.0
    per_item = {"kind": "json_schema", "schema_field": "schema"}
    assert score(per_item, "[1, 2]", schema={"type": "array", "maxItems": 2}) == 1.0


def test_python_code_runs_against_the_items_test() -> None:
    spec = {"kind": "python", "timeout_s": 5}
    good = "```python\ndef add(a, b):\n    return a + b\n```"
    assert score(spec, good, test="assert add(2, 3) == 5") == 1.0
    assert score(spec, "def add(a, b):\n    return a - b", test="assert add(2, 3) == 5") == 0.0
    with pytest.raises(InputError, match="test"):
        score(spec, good)


def test_sandbox_enforces_time_and_memory() -> None:
    slow = run_python("while True:\n    pass", timeout_s=1.0)
    assert not slow.passed and slow.reason in ("timeout", "cpu time limit")
    hungry = run_python("x = bytearray(1024 * 1024 * 1024)", memory_mb=256)
    assert not hungry.passed and hungry.reason == "memory limit"
    assert run_python("print('hi')").passed


def test_replay_metric_agrees_with_the_recorded_scores() -> None:
    data = load_replay_set()
    metric = parse_metric("replay")
    agree = total = 0
    for model in data.models.values():
        for qid, answer in model["answers"].items():
            q = data.questions[qid]
            got = metric.score(answer["answer"], q["ground_truth"], {"dataset": q["dataset"]})
            agree += got.value == float(answer["score"])
            total += 1
    assert total == 1032
    assert agree >= 1031  # the original grader differs on one answer


def test_judge_reads_grades_and_numbers() -> None:
    judge = parse_metric({"kind": "judge", "model": "gpt-5-mini"})
    assert isinstance(judge, Judge)
    assert judge.read_verdict("reasoning...\nGRADE: C").value == 1.0
    assert judge.read_verdict("GRADE: I").value == 0.0
    assert judge.read_verdict("no idea").note == "the judge gave no grade"
    graded = parse_metric({"kind": "judge", "model": "m", "pattern": r"SCORE:\s*([0-9.]+)"})
    assert isinstance(graded, Judge)
    assert graded.read_verdict("SCORE: 0.7").value == pytest.approx(0.7)
    messages = judge.judge_messages("What is 2+2?", "4", "4")
    assert "What is 2+2?" in messages[0]["content"]


def test_unknown_metric_names_the_field() -> None:
    with pytest.raises(InputError, match=r"metric\.kind: 'fuzzy'.*accepted: exact"):
        parse_metric({"kind": "fuzzy"})
    with pytest.raises(InputError, match="metric"):
        parse_metric({"kind": "numeric", "abs_tol": -1})


def test_token_f1_is_squads_word_overlap() -> None:
    from unitcost.evals.metrics import token_f1

    assert token_f1("the cat sat", "the cat sat") == 1.0
    # 2 shared words of 3 and of 4: P = 2/3, R = 2/4, F1 = 4/7
    assert token_f1("the cat sat", "a cat sat down") == pytest.approx(4 / 7)
    assert token_f1("Paris", "London") == 0.0
    assert token_f1("", "") == 1.0


def test_agreement_scores_each_answer_against_the_reference_variants(tmp_path: Path) -> None:
    from unitcost.evals.log import EvalLog, Sample
    from unitcost.evals.plan import plan_jobs
    from unitcost.evals.results import summarise
    from unitcost.evals.runner import RunOptions, run_eval
    from unitcost.evals.tasks import parse_task

    data = tmp_path / "d.jsonl"
    data.write_text("".join(f'{{"id": "{i}", "prompt": "p{i}"}}\n' for i in range(4)))
    task = parse_task(
        {
            "name": "drift",
            "dataset": {"path": str(data)},
            "metric": {"kind": "agreement", "reference": "ref"},
            "variants": [{"name": "ref", "model": "a"}, {"name": "low", "model": "b"}],
        }
    )
    answers = {"ref": ["x", "y", "z", "w"], "low": ["x", "y", "nope", "w "]}
    log = EvalLog(tmp_path / "out")
    for job in plan_jobs([task]):
        text = answers[job.variant.name][int(job.item["id"])]
        log.add(
            Sample(
                job.key,
                "drift",
                job.variant.name,
                job.item["id"],
                0,
                job.variant.model,
                answer=text,
            )
        )
    run = run_eval([task], RunOptions(out=tmp_path / "out", offline=True))
    result = summarise(run, resamples=100)[0]
    assert result.variants["ref"].quality.point == 1.0
    assert result.variants["low"].quality.point == 0.75  # whitespace is not a disagreement
    with pytest.raises(InputError, match="metric.reference: 'nope' is not a variant"):
        parse_task(
            {
                **task.model_dump(include={"name", "variants"}),
                "dataset": {"path": str(data)},
                "metric": {"kind": "agreement", "reference": "nope"},
            }
        )
