"""The OpenAI request dialect: each field the gateway reads is refused by name when wrong."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from unitcost.errors import InputError
from unitcost.wire.openai import parse_request

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def _parse(body: dict[str, Any], endpoint: str = "chat/completions") -> dict[str, Any]:
    return parse_request(orjson.dumps(body), endpoint)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"n": 0}, "n"),
        ({"n": 129}, "n"),
        ({"n": True}, "n"),
        ({"best_of": 10**6}, "best_of"),
        ({"temperature": "NaN"}, "temperature"),
        ({"top_p": [1]}, "top_p"),
        ({"presence_penalty": False}, "presence_penalty"),
        ({"tool_choice": 5}, "tool_choice"),
        ({"max_tokens": 0}, "max_tokens"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 5}]}]},
            "messages[0].content[0].image_url",
        ),
    ],
)
def test_a_wrong_field_is_refused_by_name(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        _parse({**CHAT, **extra})
    assert caught.value.message.startswith(f"{field}:") and caught.value.param == field


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"dimensions": -1}, "dimensions"), ({"encoding_format": 5}, "encoding_format")],
)
def test_embedding_options_are_checked(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError, match=f"^{field}:"):
        _parse({"model": "m", "input": "hi", **extra}, "embeddings")


def test_what_is_right_passes_and_unknown_fields_are_kept() -> None:
    body = _parse(
        {
            **CHAT,
            "n": 128,
            "temperature": 0,
            "top_p": 0.5,
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "logit_bias": {"50256": -100},
        }
    )
    assert body["n"] == 128 and body["logit_bias"] == {"50256": -100}
    assert _parse({"model": "m", "input": "x", "dimensions": 256}, "embeddings")["dimensions"]
