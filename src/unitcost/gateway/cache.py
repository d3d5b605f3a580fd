"""Response caching: exact (a hash of the request) and semantic (similar prompts).

    cache = ResponseCache(settings.cache)
    probe = await cache.probe(tenant, deployment, body)   # probe.hit: a CachedAnswer or None
    await cache.store_answer(probe, answer)               # after a miss was answered upstream

- Exact keys hash the tenant, the deployment and every request field that can change the
  answer (all but `model`, `stream`, `stream_options` and `user`), in canonical JSON.
- Semantic lookups embed the conversation and search the vectors stored for the same
  tenant, deployment and other parameters; a hit needs cosine ≥ the threshold. Tenants and
  deployments never see each other's entries.
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
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import orjson
from numpy.typing import NDArray

from unitcost.gateway.settings import CacheConfig
from unitcost.wire.openai import conversation

__all__ = ["CachedAnswer", "Probe", "ResponseCache", "SemanticIndex", "exact_key", "is_cacheable"]

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


class SemanticIndex:
    """Unit vectors per partition, searched by inner product (cosine).

    Small partitions are scanned exactly; past `hnsw_after` entries a partition moves to a
    faiss HNSW graph, whose search stays well under a millisecond at 100,000 entries."""

    def __init__(self, dimensions: int = 384, hnsw_after: int = 4096) -> None:
        self.dimensions, self.hnsw_after = dimensions, hnsw_after
        self.parts: dict[str, _Partition] = {}
        self._lock = threading.Lock()

    def add(self, partition: str, vector: NDArray[np.float32], key: str) -> None:
        with self._lock:
            part = self.parts.setdefault(partition, _Partition(self.dimensions, self.hnsw_after))
            part.add(vector, key)

    def search(self, partition: str, vector: NDArray[np.float32]) -> tuple[str, float] | None:
        part = self.parts.get(partition)
        return None if part is None else part.search(vector)

    def __len__(self) -> int:
        return sum(len(p.keys) for p in self.parts.values())


class _Partition:
    def __init__(self, dimensions: int, hnsw_after: int) -> None:
        self.dimensions, self.hnsw_after = dimensions, hnsw_after
        self.keys: list[str] = []
        self.matrix = np.zeros((64, dimensions), dtype=np.float32)  # grows by doubling
        self.hnsw: Any = None

    def add(self, vector: NDArray[np.float32], key: str) -> None:
        row = vector.reshape(1, -1).astype(np.float32)
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

    def search(self, vector: NDArray[np.float32]) -> tuple[str, float] | None:
        if not self.keys:
            return None
        if self.hnsw is not None:
            scores, ids = self.hnsw.search(vector.reshape(1, -1).astype(np.float32), 1)
            if ids[0][0] < 0:
                return None
            return self.keys[int(ids[0][0])], float(scores[0][0])
        sims = self.matrix[: len(self.keys)] @ vector.reshape(-1)
        best = int(np.argmax(sims))
        return self.keys[best], float(sims[best])


@dataclass
class Probe:
    key: str
    partition: str
    hit: CachedAnswer | None = None
    how: str = ""
    vector: NDArray[np.float32] | None = None


class ResponseCache:
    def __init__(self, config: CacheConfig) -> None:
        self.config = config
        self.store: _Store = (
            RedisStore(config.redis_url, config.ttl_s)
            if config.backend == "redis"
            else MemoryStore(config.max_entries, config.ttl_s)
        )
        self.index = SemanticIndex() if config.semantic.enabled else None
        self._embedder: Any = None

    @property
    def enabled(self) -> bool:
        return self.config.exact or self.index is not None

    def _embed(self, body: dict[str, Any]) -> NDArray[np.float32]:
        from unitcost.routing.embeddings import default_embedder

        if self._embedder is None:
            self._embedder = default_embedder(self.config.semantic.max_tokens)
        vector: NDArray[np.float32] = self._embedder.embed([conversation(body)])[0]
        return vector

    @staticmethod
    def _partition(tenant: str, deployment: str, body: dict[str, Any]) -> str:
        params = hashlib.sha256(_params(body, (*_IGNORED, "messages", "prompt"))).hexdigest()
        return f"{tenant}:{deployment}:{params}"

    async def probe(self, tenant: str, deployment: str, body: dict[str, Any]) -> Probe:
        """Look the request up; the probe remembers its key (and vector) for `store`."""
        probe = Probe(
            exact_key(tenant, deployment, body), self._partition(tenant, deployment, body)
        )
        if self.config.exact:
            probe.hit = await self.store.get(probe.key)
            if probe.hit is not None:
                probe.how = "exact"
                return probe
        if self.index is not None:
            probe.vector = await asyncio.to_thread(self._embed, body)
            found = self.index.search(probe.partition, probe.vector)
            if found is not None and found[1] >= self.config.semantic.threshold:
                probe.hit = await self.store.get(found[0])
                probe.how = f"semantic {found[1]:.3f}"
        return probe

    async def store_answer(self, probe: Probe, answer: CachedAnswer) -> None:
        await self.store.put(probe.key, answer)
        if self.index is not None and probe.vector is not None:
            self.index.add(probe.partition, probe.vector, probe.key)

    async def close(self) -> None:
        await self.store.close()
