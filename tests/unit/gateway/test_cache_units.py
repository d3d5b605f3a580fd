import asyncio
import time

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


# --- the semantic stage: partitions, the verifier, the vectors ---------------------------

from unitcost.gateway.cache import ResponseCache, semantic_parts  # noqa: E402
from unitcost.gateway.settings import CacheConfig  # noqa: E402
from unitcost.routing.duplicates import DuplicateVerifier  # noqa: E402

QUESTION = "How do I lose 5 kg in a month?"


def chat(question: str = QUESTION, system: str = "Be brief.", **extra: object) -> dict[str, object]:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
    return {"model": "m", "messages": messages, "temperature": 0, **extra}


def test_the_semantic_context_holds_everything_but_the_question() -> None:
    context, question = semantic_parts(chat()) or ("", "")
    assert question == QUESTION
    assert semantic_parts(chat("Other words?"))[0] == context  # type: ignore[index]
    tool = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    for changed in (
        chat(system="Answer in French."),
        chat(tools=tool),
        chat(temperature=0.2),
        chat(top_p=0.5),
        chat(max_tokens=5),
        chat(response_format={"type": "json_object"}),
    ):
        assert semantic_parts(changed)[0] != context  # type: ignore[index]
    assert semantic_parts(chat(stream=True, user="u"))[0] == context  # type: ignore[index]
    tool_turn = {"model": "m", "messages": [{"role": "tool", "content": "42"}]}
    assert semantic_parts(tool_turn) is None  # not a question: exact caching only


@pytest.fixture(scope="module")
def semantic() -> ResponseCache:
    return ResponseCache(CacheConfig(semantic={"enabled": True}))


def remember(cache: ResponseCache, tenant: str, deployment: str, body: dict[str, object]) -> None:
    async def run() -> None:
        probe = await cache.probe(tenant, deployment, body)
        assert probe.hit is None
        await cache.store_answer(probe, CachedAnswer(b"{}", 0.1, 1, 1, created=time.time()))

    asyncio.run(run())


def hit(cache: ResponseCache, tenant: str, deployment: str, body: dict[str, object]) -> str:
    return asyncio.run(cache.probe(tenant, deployment, body)).how


def test_semantic_hits_never_cross_tenant_deployment_or_context(semantic: ResponseCache) -> None:
    remember(semantic, "acme", "mini", chat())
    assert hit(semantic, "acme", "mini", chat("how do i lose 5 kg in a month")).startswith(
        "semantic"
    )
    same = chat("how do i lose 5 kg in a month")
    assert hit(semantic, "globex", "mini", same) == ""  # another tenant
    assert hit(semantic, "acme", "pro", same) == ""  # another deployment
    assert hit(semantic, "acme", "mini", {**same, "temperature": 0.3}) == ""
    tool = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    assert hit(semantic, "acme", "mini", {**same, "tools": tool}) == ""
    assert hit(semantic, "acme", "mini", chat("how do i lose 5 kg in a month", "Be rude.")) == ""


def test_the_verifier_refuses_a_near_miss_the_cosine_would_serve(semantic: ResponseCache) -> None:
    remember(semantic, "t", "d", chat("How do I lose 5 kg in a month?"))
    near_miss = chat("How do I lose 10 kg in a month?")
    assert hit(semantic, "t", "d", near_miss) == ""
    vectors = (
        semantic.embed("How do I lose 5 kg in a month?"),
        semantic.embed("How do I lose 10 kg in a month?"),
    )
    assert float(vectors[0] @ vectors[1]) > 0.85  # what the cosine alone would have served
    no_verifier = ResponseCache(
        CacheConfig(semantic={"enabled": True, "threshold": 0.85}), verifier=None
    )
    remember(no_verifier, "t", "d", chat("How do I lose 5 kg in a month?"))
    assert hit(no_verifier, "t", "d", near_miss).startswith("semantic 0.")


def test_a_verifier_accepts_the_same_words_and_rejects_other_numbers() -> None:
    verifier = DuplicateVerifier.load()
    same = ("What is the capital of France?", "what is the capital of   france")
    u = v = np.ones(384, dtype=np.float32) / np.sqrt(384)
    assert verifier.probability(*same, u, v) == 1.0
    far = np.zeros(384, dtype=np.float32)
    far[0] = 1.0
    assert verifier.probability("Why is the sky blue?", "How do magnets work?", u, far) == 0.0


def test_a_text_embedded_alone_or_in_a_batch_gets_the_same_vector(semantic: ResponseCache) -> None:
    from unitcost.routing.embeddings import default_embedder

    embedder = default_embedder(24)
    texts = ["short", "What is the capital of France?", "a much longer question " * 4]
    batch = embedder.embed(texts)
    for i, text in enumerate(texts):
        assert np.array_equal(embedder.embed([text])[0], batch[i])
    assert np.array_equal(embedder.embed_many(texts, batch=2), batch)
