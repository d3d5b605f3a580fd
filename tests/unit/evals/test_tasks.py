"""Task YAML: datasets, templates, variants, built-ins, and one clear line on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from unitcost.errors import InputError
from unitcost.evals.plan import plan_jobs
from unitcost.evals.tasks import builtin_task, load_task, parse_task, render

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "evals"


def test_every_example_task_loads() -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        task = load_task(str(path))
        assert task.items and task.variants, path.name


def test_templates_render_item_fields_and_leave_other_braces() -> None:
    assert render("capital of {country}?", {"country": "Peru"}) == "capital of Peru?"
    latex = "inside a \\boxed{} command; x^{2}; {prompt}"
    assert render(latex, {"prompt": "Q"}) == "inside a \\boxed{} command; x^{2}; Q"


def test_variants_pick_templates_and_override_params() -> None:
    task = load_task(str(EXAMPLES / "capitals.yaml"))
    plain, terse, short = task.variants
    item = task.items[0]
    assert task.messages(plain, item) == [
        {"role": "user", "content": "What is the capital of France?"}
    ]
    assert task.messages(terse, item)[0]["role"] == "system"
    assert task.params_of(terse)["max_tokens"] == 24
    assert task.params_of(short) == {"temperature": 0, "max_tokens": 6}


def test_jobs_change_key_with_template_or_params_but_not_with_the_metric(tmp_path: Path) -> None:
    task = load_task(str(EXAMPLES / "capitals.yaml"))
    keys = {(j.variant.name, j.item["id"]): j.key for j in plan_jobs([task])}
    assert len(set(keys.values())) == len(keys)  # three variants, three different requests
    rescored = task.model_copy(update={"metric": task.metric.model_copy()})
    again = {(j.variant.name, j.item["id"]): j.key for j in plan_jobs([rescored])}
    assert again == keys


def test_jobs_come_item_by_item_so_a_cap_cuts_every_variant_alike() -> None:
    task = load_task(str(EXAMPLES / "capitals.yaml"))
    jobs = plan_jobs([task])
    assert [j.variant.name for j in jobs[:3]] == ["plain", "terse", "terse-short"]
    assert len({j.item["id"] for j in jobs[:3]}) == 1


def test_builtin_tasks_hold_the_recorded_questions() -> None:
    gpqa, aime, both = builtin_task("gpqa"), builtin_task("aime"), builtin_task("replay")
    assert (len(gpqa.items), len(aime.items), len(both.items)) == (198, 60, 258)
    assert {"gpt-5-mini", "gemini-3.1-pro-preview"} <= {v.model for v in gpqa.variants}
    assert gpqa.metric.kind == "replay"
    assert gpqa.params["max_tokens"] >= 64_000  # bounds every recorded answer's hold


def _raw(**over: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "name": "t",
        "dataset": {"builtin": "aime"},
        "metric": {"kind": "replay"},
        "variants": [{"name": "a", "model": "gpt-5-mini"}],
    }
    raw.update(over)
    return raw


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"templates": {"x": "{nope}"}}, r"templates\.x: \{nope\} is not an item field"),
        ({"metric": {"kind": "fuzzy"}}, r"metric.*fuzzy"),
        (
            {"variants": [{"name": "a", "model": "m"}, {"name": "a", "model": "n"}]},
            "duplicate variant name 'a'",
        ),
        ({"variants": [{"name": "a", "model": "m", "template": "zz"}]}, r"template: 'zz'"),
        ({"dataset": {"builtin": "mmlu"}}, "dataset.builtin: 'mmlu'"),
        ({"dataset": {}}, "exactly one of `path` or `builtin`"),
        ({"epochs": 0}, "epochs"),
    ],
)
def test_bad_tasks_say_which_field(over: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_task(_raw(**over))


def test_bad_dataset_lines_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"id": 1, "target": "x"}\nnot json\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"d\.jsonl:2: not JSON"):
        parse_task(_raw(dataset={"path": "d.jsonl"}), base=tmp_path)
    (tmp_path / "e.jsonl").write_text('{"id": 1}\n', encoding="utf-8")
    with pytest.raises(InputError, match="has no 'target' field"):
        parse_task(_raw(dataset={"path": "e.jsonl"}), base=tmp_path)
    with pytest.raises(InputError, match="neither a file nor a built-in"):
        load_task("no-such-task.yaml")
