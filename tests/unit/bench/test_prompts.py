import json
from pathlib import Path

import pytest

from unitcost.bench.prompts import from_jsonl, from_replay, synthetic
from unitcost.errors import InputError
from unitcost.wire.tokens import load_tokenizer


@pytest.mark.parametrize("target", [16, 100, 257])
def test_synthetic_prompts_have_the_exact_token_count(target: int) -> None:
    tok = load_tokenizer("tiktoken:o200k_base")
    prompts = synthetic(tok, target, 32, count=5)
    assert len({p.messages[0]["content"] for p in prompts}) == 5  # no shared prefix to cache
    for p in prompts:
        assert p.input_tokens == target == tok.count_chat(p.messages)
        assert p.max_tokens == 32


def test_jsonl_prompts_messages_and_sharegpt(tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl"
    rows = [
        {"prompt": "a"},
        {"messages": [{"role": "user", "content": "b"}], "max_tokens": 5},
        {"conversations": [{"from": "human", "value": "c"}, {"from": "gpt", "value": "d"}]},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    prompts = from_jsonl(f, 64)
    assert [p.messages[-1]["content"] for p in prompts] == ["a", "b", "c"]
    assert [p.max_tokens for p in prompts] == [64, 5, 64]
    f.write_text('{"text": "x"}\n')
    with pytest.raises(InputError, match="line 1 of p.jsonl has no prompt; accepted"):
        from_jsonl(f, 64)


def test_replay_prompts() -> None:
    assert len(from_replay(10)) == 258
