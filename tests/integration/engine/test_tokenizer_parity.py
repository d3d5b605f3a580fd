"""The `gguf:` tokenizer (rebuilt from the GGUF with `tokenizers` and jinja2) counts exactly
what the engine counts: its /tokenize, its /apply-template and its `usage.prompt_tokens`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.engine.texts import texts
from unitcost.engine.server import LocalModel
from unitcost.wire.tokens import GGUFTokenizer, load_tokenizer


@pytest.fixture(scope="module")
def tok(llama_server: LocalModel) -> GGUFTokenizer:
    loaded = load_tokenizer(f"gguf:{llama_server.gguf}")
    assert isinstance(loaded, GGUFTokenizer)
    return loaded


def conversations(n: int) -> list[list[dict[str, Any]]]:
    out = []
    for i, t in enumerate(texts(n, seed=1)):
        if i % 3 == 0:
            out.append([{"role": "user", "content": t}])
        elif i % 3 == 1:
            out.append(
                [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": t},
                    {"role": "assistant", "content": "ok"},
                    {"role": "user", "content": "and then?"},
                ]
            )
        else:  # a list of text parts, joined with newlines as llama.cpp joins them
            out.append(
                [
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": t}, {"type": "text", "text": "next"}],
                    }
                ]
            )
    return out


def test_token_ids_equal_the_engines_on_400_varied_texts(
    llama_server: LocalModel, tok: GGUFTokenizer
) -> None:
    with httpx.Client(base_url=llama_server.base, timeout=30) as http:
        mismatches = []
        for text in texts(400):
            theirs = http.post(
                "/tokenize", json={"content": text, "add_special": False, "parse_special": True}
            ).json()["tokens"]
            ours = tok.tok.encode(text, add_special_tokens=False).ids
            if ours != theirs:
                mismatches.append(text)
            assert tok.count(text) == len(theirs)
    assert mismatches == []


def test_chat_prompts_render_as_the_engine_renders_them(
    llama_server: LocalModel, tok: GGUFTokenizer
) -> None:
    with httpx.Client(base_url=llama_server.base, timeout=30) as http:
        for messages in conversations(200):
            prompt = http.post("/apply-template", json={"messages": messages}).json()["prompt"]
            assert tok.render_chat(messages) == prompt


def test_prompt_counts_equal_the_engines_usage(
    llama_server: LocalModel, tok: GGUFTokenizer
) -> None:
    with httpx.Client(base_url=llama_server.url, timeout=60) as http:
        for messages in conversations(12):
            reply = http.post(
                "/chat/completions",
                json={"model": "smollm2", "messages": messages, "max_tokens": 1},
            ).json()
            assert tok.count_chat(messages) == reply["usage"]["prompt_tokens"]
