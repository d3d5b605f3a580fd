import asyncio

import numpy as np
import pytest

from unitcost.gateway.cache import CachedAnswer, MemoryStore, SemanticIndex, exact_key, is_cacheable
from unitcost.routing.config import CascadeCheck
from unitcost.routing.policies import passes_check
from unitcost.wire.sse import completion_to_sse

BODY = {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 0}


def test_exact_keys_ignore_transport_fields_only() -> None:
    key = exact_key("t", "d", BODY)
    assert key == exact_key("t", "d", {**BODY, "stream": True, "user": "u", "model": "other"})
    assert key == exact_key("t", "d", dict(reversed(list(BODY.items()))))
    assert key != exact_key("t", "d", {**BODY, "max_tokens": 5})
    assert key != exact_key("t2", "d", BODY) and key != exact_key("t", "d2", BODY)


def test_only_deterministic_single_answers_are_cacheable_by_default() -> None:
    assert is_cacheable(BODY, allow_sampling=False)
    assert not is_cacheable({**BODY, "temperature": 0.3}, allow_sampling=False)
    assert not is_cacheable({"messages": []}, allow_sampling=False)  # default temperature 1
    assert is_cacheable({**BODY, "temperature": 0.3}, allow_sampling=True)
    assert not is_cacheable({**BODY, "n": 3}, allow_sampling=True)


def test_memory_store_is_lru_and_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore(max_entries=2, ttl_s=10)
    answer = CachedAnswer(b"{}", 0.1, 1, 1, created=1000.0)

    async def run() -> None:
        monkeypatch.setattr("time.time", lambda: 1005.0)
        for key in ("a", "b"):
            await store.put(key, answer)
        assert await store.get("a") is not None  # a is now most recent
        await store.put("c", answer)
        assert await store.get("b") is None and await store.get("a") is not None
        monkeypatch.setattr("time.time", lambda: 1011.0)
        assert await store.get("a") is None  # past its TTL

    asyncio.run(run())


def test_semantic_index_switches_to_hnsw_and_keeps_partitions_apart() -> None:
    rng = np.random.default_rng(1)
    index = SemanticIndex(dimensions=16, hnsw_after=50)
    vectors = rng.normal(size=(120, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for i, v in enumerate(vectors):
        index.add("tenant-a", v, f"k{i}")
    assert index.parts["tenant-a"].hnsw is not None
    key, score = index.search("tenant-a", vectors[77]) or ("", 0.0)
    assert key == "k77" and score == pytest.approx(1.0, abs=1e-5)
    assert index.search("tenant-b", vectors[77]) is None


def test_cached_answers_round_trip_and_replay_as_a_stream() -> None:
    body = (
        b'{"id":"c1","created":1,"model":"m","choices":[{"index":0,"message":{"role":'
        b'"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1}}'
    )
    answer = CachedAnswer(body, 0.5, 1, 2, 3.0)
    assert CachedAnswer.from_bytes(answer.to_bytes()) == answer
    sse = completion_to_sse(body, include_usage=True).decode()
    assert sse.count("data: ") == 4 and '"content":"hi"' in sse and sse.endswith("[DONE]\n\n")
    assert '"usage"' not in completion_to_sse(body, include_usage=False).decode()


def test_cascade_checks() -> None:
    ok = {"choices": [{"message": {"content": "Answer: B"}, "finish_reason": "stop"}]}
    assert passes_check(CascadeCheck(require_regex="Answer: [A-D]"), ok) is None
    cut = {"choices": [{"message": {"content": "Answer: B"}, "finish_reason": "length"}]}
    assert passes_check(CascadeCheck(), cut) == "answer truncated (finish_reason=length)"
    low = {
        "choices": [
            {
                "message": {"content": "x"},
                "finish_reason": "stop",
                "logprobs": {"content": [{"logprob": -3.0}, {"logprob": -1.0}]},
            }
        ]
    }
    assert passes_check(CascadeCheck(min_mean_logprob=-1.5), low) == "mean logprob -2.00 < -1.5"
