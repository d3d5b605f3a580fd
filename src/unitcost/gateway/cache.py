"""Response caching: exact (a hash of the request) and semantic (similar prompts).

    cache = ResponseCache(settings.cache)
    probe = await cache.probe(tenant, deployment, body)   # probe.hit: a CachedAnswer or None
    await cache.store_answer(probe, answer)               # after a miss was answered upstream

- Exact keys hash the tenant, the deployment and every request field that can change the
  answer (all but `model`, `stream`, `stream_options` and `user`), in canonical JSON.
- Semantic lookups embed the question (the last user message, or a completion's prompt)
  and search only the entries stored under the same tenant, deployment, every other
  request field (sampling parameters, tools, response format ...) *and* the conversation
  before that question (system prompt, earlier turns): a change of any of them is another
  partition, so a hit never crosses it. The nearest 2 entries above a cosine floor then
  go to a verifier (`routing.duplicates.DuplicateVerifier`, a pair classifier over both
  questions: numbers, names, negations, wording and the vectors), and only an entry it
  accepts is served. Without a verifier (`verifier=None`) a hit needs cosine ≥ the
  configured threshold, as before.
- Sampled answers (temperature > 0, OpenAI's default when absent) are not cached unless the
  route or deployment opts in: returning one sample forever changes the product.
- Answers live in process memory (LRU, bounded by count and TTL) or in Redis, so gateway
  replicas share exact hits; the semantic vectors stay per process.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import numpy as np
import orjson
from numpy.typing import NDArray

from unitcost.gateway.settings import CacheConfig
from unitcost.routing.duplicates import DuplicateVerifier
from unitcost.wire.openai import content_text

__all__ = [
    "CachedAnswer",
    "Probe",
    "ResponseCache",
    "SemanticIndex",
    "exact_key",
    "is_cacheable",
    "semantic_parts",
]

_IGNORED = ("model", "stream", "stream_options", "user")


@dataclass(frozen=True)
class CachedAnswer:
    body: bytes  # the upstream's JSON completion
    cost_nanos: int  # what producing it cost (integer nano-dollars): a hit saves this much
    prompt_tokens: int
    completion_tokens: int
    created: float

    def to_bytes(self) -> bytes:
        data = asdict(self)
        data["body"] = self.body.decode("utf-8", "replace")
        return orjson.dumps(data)

    @classmethod
    def from_bytes(cls, raw: bytes) -> CachedAnswer:
        data = orjson.loads(raw)
        data["body"] = data["body"].encode()
        return cls(**data)


def is_cacheable(body: dict[str, Any], allow_sampling: bool) -> bool:
    temperature = body.get("temperature", 1.0)
    sampled = not isinstance(temperature, int | float) or temperature > 0
    return (allow_sampling or not sampled) and body.get("n", 1) == 1


def _params(body: dict[str, Any], drop: tuple[str, ...]) -> bytes:
    kept = {k: v for k, v in body.items() if k not in drop}
    return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)


def semantic_parts(body: dict[str, Any]) -> tuple[str, str] | None:
    """(context, question): the question is what the semantic stage compares; the context is
    everything else that can change the answer, hashed into the partition. None when the
    request does not end in a user's question (a tool result, say): exact caching only."""
    if isinstance(body.get("prompt"), str):
        context = _params(body, (*_IGNORED, "prompt"))
        return hashlib.sha256(context).hexdigest(), str(body["prompt"])
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return None
    question = content_text(last.get("content"))
    if not question.strip():
        return None
    context = _params(body, (*_IGNORED, "messages")) + orjson.dumps(
        messages[:-1], option=orjson.OPT_SORT_KEYS
    )
    extra = {k: v for k, v in last.items() if k != "content"}  # a name, say
    context += orjson.dumps(extra, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(context).hexdigest(), question


def exact_key(tenant: str, deployment: str, body: dict[str, Any]) -> str:
    digest = hashlib.sha256(_params(body, _IGNORED))
    return f"unitcost:cache:{tenant}:{deployment}:{digest.hexdigest()}"


class _Store(Protocol):
    async def get(self, key: str) -> CachedAnswer | None: ...

    async def put(self, key: str, answer: CachedAnswer) -> None: ...

    async def close(self) -> None: ...


class MemoryStore:
    """LRU bounded by entries, each valid for `ttl_s`."""

    def __init__(self, max_entries: int, ttl_s: float) -> None:
        self.max_entries, self.ttl_s = max_entries, ttl_s
        self.entries: OrderedDict[str, CachedAnswer] = OrderedDict()

    async def get(self, key: str) -> CachedAnswer | None:
        answer = self.entries.get(key)
        if answer is None:
            return None
        if time.time() - answer.created > self.ttl_s:
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return answer

    async def put(self, key: str, answer: CachedAnswer) -> None:
        self.entries[key] = answer
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    async def close(self) -> None:
        self.entries.clear()


class RedisStore:
    """Answers in Redis with a TTL, shared by every gateway replica."""

    def __init__(self, url: str, ttl_s: float) -> None:
        try:
            import redis.asyncio as redis
        except ImportError:
            from unitcost.errors import InputError

            raise InputError("cache.backend redis needs `pip install 'unitcost[redis]'`") from None
        self.client = redis.Redis.from_url(url)
        self.ttl_ms = int(ttl_s * 1000)

    async def get(self, key: str) -> CachedAnswer | None:
        raw = await self.client.get(key)
        if raw is None:
            return None
        return CachedAnswer.from_bytes(raw.encode() if isinstance(raw, str) else raw)

    async def put(self, key: str, answer: CachedAnswer) -> None:
        await self.client.set(key, answer.to_bytes(), px=self.ttl_ms)

    async def close(self) -> None:
        await self.client.aclose()


@dataclass(frozen=True)
class Candidate:
    key: str
    text: str
    vector: NDArray[np.float32]
    cosine: float


class SemanticIndex:
    """Unit vectors (and their question texts) per partition, searched by inner product.

    Small partitions are scanned exactly; past `hnsw_after` entries a partition moves to a
    faiss HNSW graph, whose search stays well under a millisecond at 100,000 entries."""

    def __init__(self, dimensions: int = 384, hnsw_after: int = 4096) -> None:
        self.dimensions, self.hnsw_after = dimensions, hnsw_after
        self.parts: dict[str, _Partition] = {}
        self._lock = threading.Lock()

    def add(self, partition: str, vector: NDArray[np.float32], key: str, text: str = "") -> None:
        with self._lock:
            part = self.parts.setdefault(partition, _Partition(self.dimensions, self.hnsw_after))
            part.add(vector, key, text)

    def search(self, partition: str, vector: NDArray[np.float32]) -> tuple[str, float] | None:
        found = self.nearest(partition, vector, 1)
        return (found[0].key, found[0].cosine) if found else None

    def nearest(self, partition: str, vector: NDArray[np.float32], k: int) -> list[Candidate]:
        part = self.parts.get(partition)
        return [] if part is None else part.nearest(vector, k)

    def __len__(self) -> int:
        return sum(len(p.keys) for p in self.parts.values())


class _Partition:
    def __init__(self, dimensions: int, hnsw_after: int) -> None:
        self.dimensions, self.hnsw_after = dimensions, hnsw_after
        self.keys: list[str] = []
        self.texts: list[str] = []
        self.matrix = np.zeros((64, dimensions), dtype=np.float32)  # grows by doubling
        self.hnsw: Any = None

    def add(self, vector: NDArray[np.float32], key: str, text: str) -> None:
        row = vector.reshape(1, -1).astype(np.float32)
        self.texts.append(text)
        if self.hnsw is not None:
            self.hnsw.add(row)
            self.keys.append(key)
            return
        n = len(self.keys)
        if n == len(self.matrix):
            self.matrix = np.vstack([self.matrix, np.zeros_like(self.matrix)])
        self.matrix[n] = row
        self.keys.append(key)
        if len(self.keys) >= self.hnsw_after:
            import faiss

            self.hnsw = faiss.IndexHNSWFlat(self.dimensions, 32, faiss.METRIC_INNER_PRODUCT)
            self.hnsw.hnsw.efSearch = 64
            self.hnsw.add(self.matrix[: len(self.keys)])
            self.matrix = np.zeros((0, self.dimensions), dtype=np.float32)

    def nearest(self, vector: NDArray[np.float32], k: int) -> list[Candidate]:
        if not self.keys:
            return []
        if self.hnsw is not None:
            scores, ids = self.hnsw.search(vector.reshape(1, -1).astype(np.float32), k)
            found = [(int(i), float(c)) for i, c in zip(ids[0], scores[0], strict=True) if i >= 0]
            return [
                Candidate(self.keys[i], self.texts[i], self.hnsw.reconstruct(i), c)
                for i, c in found
            ]
        sims = self.matrix[: len(self.keys)] @ vector.reshape(-1)
        top = np.argsort(-sims)[:k]
        return [
            Candidate(self.keys[i], self.texts[i], self.matrix[i], float(sims[i]))
            for i in map(int, top)
        ]


@dataclass
class Probe:
    key: str
    partition: str
    hit: CachedAnswer | None = None
    how: str = ""
    vector: NDArray[np.float32] | None = None
    question: str = ""


class ResponseCache:
    """`verifier`: the semantic stage's second check; "shipped" loads the one in the package
    (trained on QQP pairs), None falls back to the cosine threshold alone. `embedder`:
    texts → unit vectors; by default MiniLM at the verifier's `max_tokens` (the vectors it
    was trained on), else at `semantic.max_tokens`."""

    CANDIDATES = 2  # nearest entries verified per lookup (each costs ~0.1–0.3 ms)

    def __init__(
        self,
        config: CacheConfig,
        *,
        verifier: DuplicateVerifier | Literal["shipped"] | None = "shipped",
        embedder: Callable[[list[str]], NDArray[np.float32]] | None = None,
    ) -> None:
        self.config = config
        self.store: _Store = (
            RedisStore(config.redis_url, config.ttl_s)
            if config.backend == "redis"
            else MemoryStore(config.max_entries, config.ttl_s)
        )
        self.index = SemanticIndex() if config.semantic.enabled else None
        self.verifier = (
            (DuplicateVerifier.load() if verifier == "shipped" else verifier)
            if config.semantic.enabled
            else None
        )
        self._embedder = embedder

    @property
    def enabled(self) -> bool:
        return self.config.exact or self.index is not None

    def embed(self, text: str) -> NDArray[np.float32]:
        if self._embedder is None:
            from unitcost.routing.embeddings import default_embedder

            tokens = self.verifier.max_tokens if self.verifier else self.config.semantic.max_tokens
            self._embedder = default_embedder(tokens).embed
        vector: NDArray[np.float32] = self._embedder([text])[0]
        return vector

    def _lookup(self, partition: str, question: str) -> tuple[NDArray[np.float32], str | None, str]:
        """Embed, search, verify: (vector, key of the accepted entry or None, how)."""
        assert self.index is not None
        vector = self.embed(question)
        if self.verifier is None:
            found = self.index.search(partition, vector)
            if found is not None and found[1] >= self.config.semantic.threshold:
                return vector, found[0], f"semantic {found[1]:.3f}"
            return vector, None, ""
        best: tuple[float, Candidate] | None = None
        for c in self.index.nearest(partition, vector, self.CANDIDATES):
            p = self.verifier.probability(question, c.text, vector, c.vector)
            if best is None or p > best[0]:
                best = (p, c)
        if best is not None and self.verifier.accepts(best[0]):
            return vector, best[1].key, f"semantic {best[1].cosine:.3f} verified {best[0]:.2f}"
        return vector, None, ""

    async def probe(self, tenant: str, deployment: str, body: dict[str, Any]) -> Probe:
        """Look the request up; the probe remembers its key (and vector) for `store`."""
        parts = semantic_parts(body)
        partition = f"{tenant}:{deployment}:{parts[0] if parts else ''}"
        probe = Probe(exact_key(tenant, deployment, body), partition)
        if self.config.exact:
            probe.hit = await self.store.get(probe.key)
            if probe.hit is not None:
                probe.how = "exact"
                return probe
        if self.index is not None and parts is not None:
            probe.question = parts[1]
            probe.vector, key, how = await asyncio.to_thread(self._lookup, partition, parts[1])
            if key is not None:
                probe.hit = await self.store.get(key)
                probe.how = how if probe.hit is not None else ""
        return probe

    async def store_answer(self, probe: Probe, answer: CachedAnswer) -> None:
        await self.store.put(probe.key, answer)
        if self.index is not None and probe.vector is not None:
            self.index.add(probe.partition, probe.vector, probe.key, probe.question)

    async def close(self) -> None:
        await self.store.close()
