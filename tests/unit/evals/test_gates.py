"""CI gates: a failure must be significant; JUnit XML and exit codes follow."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.unit.evals.recorded import recorded_run
from tests.unit.test_cli import run
from unitcost.errors import InputError
from unitcost.evals.gates import check_gates, check_variants, exit_code, junit_xml, parse_gate
from unitcost.evals.results import summarise


def test_parse_gates_in_all_three_shapes() -> None:
    g = parse_gate("quality >= 0.80")
    assert (g.metric, g.variant, g.op, g.threshold, g.minus) == ("quality", None, ">=", 0.8, None)
    g = parse_gate("cost_per_task(mini) <= $0.002")
    assert (g.variant, g.threshold) == ("mini", 0.002)
    g = parse_gate("quality(candidate) - quality(baseline) >= -2%")
    assert (g.variant, g.minus, g.threshold) == ("candidate", "baseline", pytest.approx(-0.02))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("accuracy >= 0.8", "unknown metric 'accuracy'"),
        ("quality >= high", "not a gate"),
        ("quality(a) - cost_per_task(b) >= 0", "one metric of two variants"),
        ("latency_p50(a) - latency_p50(b) <= 0", "paired for quality, cost_per_task only"),
    ],
)
def test_bad_gates_say_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_gate(text)


def _results(tmp_path: Path) -> list:  # type: ignore[type-arg]
    n = 200
    strong = [1] * 180 + [0] * 20  # 90%
    weak = [1] * 120 + [0] * 80  # 60%
    close = [1] * 176 + [0] * 24  # 88%: 2 points under strong, on mostly the same items
    _, run = recorded_run(
        tmp_path,
        {
            "strong": (strong, [2_000_000] * n),  # $0.002 per task
            "weak": (weak, [100_000] * n),
            "close": (close, [300_000] * n),
        },
    )
    return summarise(run, resamples=500)


def test_a_gate_that_passes_and_one_that_fails_significantly(tmp_path: Path) -> None:
    results = _results(tmp_path)
    passing = check_gates([parse_gate("quality(strong) >= 0.8")], results)
    assert [o.status for o in passing] == ["pass"]
    assert exit_code(passing) == 0
    failing = check_gates([parse_gate("quality(weak) >= 0.8")], results)
    assert [o.status for o in failing] == ["fail"]  # 60%, CI about 53–67%: clear of 80%
    assert exit_code(failing) == 1


def test_a_miss_inside_the_interval_is_inconclusive_not_a_failure(tmp_path: Path) -> None:
    results = _results(tmp_path)
    out = check_gates([parse_gate("quality(strong) >= 0.92")], results)  # 90%, CI ~85–93%
    assert [o.status for o in out] == ["inconclusive"]
    assert exit_code(out) == 0
    assert "not significant" in out[0].message


def test_paired_difference_gates(tmp_path: Path) -> None:
    results = _results(tmp_path)
    small = check_gates([parse_gate("quality(close) - quality(strong) >= -0.05")], results)
    assert small[0].status == "pass" and small[0].value.point == pytest.approx(-0.02)
    big = check_gates([parse_gate("quality(weak) - quality(strong) >= -0.02")], results)
    assert big[0].status == "fail" and big[0].value.high < -0.02
    cheaper = check_gates([parse_gate("cost_per_task(weak) - cost_per_task(strong) <= 0")], results)
    assert cheaper[0].status == "pass"


def test_an_unqualified_gate_applies_to_every_variant(tmp_path: Path) -> None:
    out = check_gates([parse_gate("cost_per_task <= 0.001")], _results(tmp_path))
    assert {o.subject: o.status for o in out} == {
        "strong": "fail",  # every task costs exactly $0.002: the interval is that point
        "weak": "pass",
        "close": "pass",
    }


def test_unknown_variant_in_a_gate(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no task has that variant"):
        check_gates([parse_gate("quality(nope) >= 0.5")], _results(tmp_path))


def test_junit_xml_has_one_case_per_subject_and_failures_marked(tmp_path: Path) -> None:
    results = _results(tmp_path)
    out = check_gates(
        [parse_gate("quality >= 0.8"), parse_gate("quality(strong) >= 0.92")], results
    )
    root = ET.fromstring(junit_xml(out))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 4
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["quality >= 0.8 [weak]"]
    assert suite.get("failures") == "1"


def test_a_gate_naming_no_variant_of_the_run_fails_before_the_run(tmp_path: Path) -> None:
    """check_gates found it only after every call had been made and paid for."""
    gates = [parse_gate("quality(new) - quality(old) >= -0.02")]
    check_variants(gates, {"new", "old", "other"})
    with pytest.raises(InputError, match=r"no variant 'old' in this run; variants: new, other"):
        check_variants(gates, {"new", "other"})
    out = tmp_path / "out"
    proc = run("eval", "run", "replay", "--limit", "1", "--gate", "quality(nope) >= 0.5",
               "--out", str(out))  # fmt: skip
    assert proc.returncode == 2 and "no variant 'nope' in this run" in proc.stderr
    assert not (out / "samples.jsonl").exists()  # nothing was asked
