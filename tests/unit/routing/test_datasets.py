"""Loading per-query outcomes: pricing-reversal files matched by question text, score scales."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from unitcost.errors import InputError
from unitcost.routing.datasets import load_outcomes

QUESTIONS = [f"Question {i}: what is {i} + {i}?" for i in range(6)]


def write_model(
    folder: Path, model: str, rows: list[tuple[int, int, float]], answer: str = ""
) -> None:
    """rows: (index as the file numbers it, question number, score)."""
    records = [
        {
            "index": str(index),
            "prompt": QUESTIONS[q],
            "score": str(score),
            "cost": "0.001",
            "ground_truth": answer or str(2 * q),
        }
        for index, q, score in rows
    ]
    data = {"dataset_name": "gpqa", "model_name": model, "records": records}
    (folder / f"gpqa-test-{model}.json").write_text(json.dumps(data))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "model_info.json").write_text("{}")
    return tmp_path


def test_records_are_matched_by_question_text_not_by_position(folder: Path) -> None:
    write_model(folder, "small", [(i + 1, i, float(i % 2)) for i in range(6)])
    # the same questions, numbered from 0 and in another order
    write_model(folder, "big", [(5 - i, i, 1.0) for i in reversed(range(6))])
    data = load_outcomes(folder)
    assert sorted(data.scores) == ["big", "small"]
    assert len(data) == 6 and not data.notes
    by_text = dict(zip(data.prompts, data.scores["small"], strict=True))
    assert [by_text[q] for q in QUESTIONS] == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]


def test_a_missing_record_drops_that_question_not_every_model(folder: Path) -> None:
    write_model(folder, "small", [(i + 1, i, 1.0) for i in range(6)])
    write_model(folder, "big", [(i + 1, i, 1.0) for i in range(5)])  # lacks question 5
    data = load_outcomes(folder)
    assert sorted(data.scores) == ["big", "small"]
    assert len(data) == 5 and QUESTIONS[5] not in data.prompts
    assert data.notes == ["big has no record of 1 question(s): left out"]


def test_files_that_disagree_on_an_answer_are_named(folder: Path) -> None:
    write_model(folder, "small", [(1, 0, 1.0)])
    write_model(folder, "big", [(1, 0, 1.0)], answer="a different answer")
    with pytest.raises(InputError, match="gpqa-test-small.json and gpqa-test-big.json disagree"):
        load_outcomes(folder)


def test_files_with_no_question_in_common_are_explained(folder: Path) -> None:
    write_model(folder, "small", [(1, 0, 1.0)])
    write_model(folder, "big", [(1, 1, 1.0)])
    with pytest.raises(InputError, match="no question is recorded for every model"):
        load_outcomes(folder)


def test_judge_scores_are_points_and_bad_cells_are_named(tmp_path: Path) -> None:
    table = tmp_path / "judged.csv"
    table.write_text("prompt,a,b\nx,3,9\ny,7,8\n")
    data = load_outcomes(table)
    assert not data.percent and np.array_equal(data.scores["b"], [9.0, 8.0])
    (tmp_path / "bad.csv").write_text("prompt,a,b\nx,3,great\n")
    with pytest.raises(InputError, match="bad.csv: column 'b': 'great' is not a score"):
        load_outcomes(tmp_path / "bad.csv")


def test_a_path_that_does_not_exist_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^--data: '.*nowhere' does not exist$"):
        load_outcomes(tmp_path / "nowhere")
