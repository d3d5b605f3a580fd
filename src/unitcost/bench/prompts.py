"""Prompts for a benchmark: synthetic at exact token lengths, or from a dataset.

    synthetic(tokenizer, input_tokens=512, output_tokens=128, count=100)
    from_jsonl("prompts.jsonl", output_tokens=128)   # {"prompt"}, {"messages"} or ShareGPT
    from_replay(output_tokens=128)                   # the recorded GPQA/AIME questions

Synthetic prompts are counted with the model's own tokenizer, chat template included, so a
512-token prompt is 512 tokens to the server too. Each prompt uses different words, so a
server's prefix cache cannot make later requests cheaper than the first.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unitcost.errors import InputError
from unitcost.wire.tokens import Tokenizer

__all__ = ["Prompt", "from_jsonl", "from_replay", "synthetic"]

_WORDS = (
    "time year people way day man thing woman life child world school state family student "
    "group country problem hand part place case week company system program question work "
    "government number night point home water room mother area money story fact month lot "
    "right study book eye job word business issue side kind head house service friend father "
    "power hour game line end member law car city community name president team minute idea "
    "kid body information back parent face others level office door health person art war "
    "history party result change morning reason research girl guy moment air teacher force "
    "education foot boy age policy music market sense nation plan college interest death"
).split()


@dataclass(frozen=True)
class Prompt:
    messages: list[dict[str, Any]]
    max_tokens: int
    input_tokens: int | None = None  # as the tokenizer counts it, chat template included


def synthetic(
    tokenizer: Tokenizer, input_tokens: int, output_tokens: int, count: int, seed: int = 0
) -> list[Prompt]:
    if input_tokens < 8 or output_tokens < 1:
        raise InputError("--input-tokens must be ≥ 8 and --output-tokens ≥ 1")
    rng = random.Random(seed)
    prompts = []
    for i in range(count):
        words = [f"Request {i}:"]
        # Grow, then trim word by word until the rendered prompt has exactly the target.
        while _count(tokenizer, words) < input_tokens:
            words.append(rng.choice(_WORDS))
        while len(words) > 1 and _count(tokenizer, words) > input_tokens:
            words.pop()
        n = _count(tokenizer, words)
        if n != input_tokens:  # a word of two tokens overshot by one: pad with a single one
            for filler in _WORDS:
                if _count(tokenizer, [*words, filler]) == input_tokens:
                    words.append(filler)
                    n = input_tokens
                    break
        prompts.append(Prompt(_messages(words), output_tokens, n))
    return prompts


def _messages(words: list[str]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": " ".join(words)}]


def _count(tokenizer: Tokenizer, words: list[str]) -> int:
    return tokenizer.count_chat(_messages(words))


def from_jsonl(path: str | Path, output_tokens: int) -> list[Prompt]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--dataset: {str(p)!r} does not exist")
    prompts = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise InputError(f"--dataset: line {n} of {p.name} is not JSON") from None
        prompts.append(
            Prompt(_row_messages(row, n, p.name), int(row.get("max_tokens", output_tokens)))
        )
    if not prompts:
        raise InputError(f"--dataset: {p.name} has no prompts")
    return prompts


def _row_messages(row: Any, n: int, name: str) -> list[dict[str, Any]]:
    if isinstance(row, dict):
        if isinstance(row.get("messages"), list):
            return list(row["messages"])
        if isinstance(row.get("prompt"), str):
            return [{"role": "user", "content": row["prompt"]}]
        turns = row.get("conversations") or row.get("conversation")
        if isinstance(turns, list):  # ShareGPT: up to the first model reply
            role = {
                "human": "user",
                "user": "user",
                "gpt": "assistant",
                "assistant": "assistant",
                "system": "system",
            }
            messages = [
                {"role": role.get(t.get("from", ""), "user"), "content": t.get("value", "")}
                for t in turns
                if isinstance(t, dict)
            ]
            while messages and messages[-1]["role"] == "assistant":
                messages.pop()
            if messages:
                return messages
    raise InputError(
        f'--dataset: line {n} of {name} has no prompt; accepted: {{"prompt": str}}, '
        '{"messages": [...]} or ShareGPT {"conversations": [{"from", "value"}]}'
    )


def from_replay(output_tokens: int) -> list[Prompt]:
    from unitcost.catalog.replay import load_replay_set

    data = load_replay_set()
    return [
        Prompt([{"role": "user", "content": q["prompt"]}], output_tokens)
        for q in data.questions.values()
    ]
