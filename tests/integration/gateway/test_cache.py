"""Exact and semantic caching in the gateway; Redis shared by two gateway processes."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import TENANT_KEYS, LoopThread, fake_deployment, wait_http
from unitcost.gateway.server import free_port
from unitcost.testing import FakeUpstream

Q = [{"role": "user", "content": "What is the capital of France?"}]


def cached(run_gateway, upstream, **cache: object):  # type: ignore[no-untyped-def]
    return run_gateway([fake_deployment(upstream)], cache=cache)


def test_exact_cache_hits_only_identical_deterministic_requests(run_gateway, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    gw = cached(run_gateway, fake_upstream, exact=True)
    client = gw.client()
    first = client.chat.completions.create(model="fake", messages=Q, temperature=0)
    again = client.chat.completions.with_raw_response.create(
        model="fake", messages=Q, temperature=0
    )
    assert again.headers["x-unitcost-cache"] == "exact"
    assert again.parse().choices[0].message.content == first.choices[0].message.content
    streamed = list(
        client.chat.completions.create(model="fake", messages=Q, temperature=0, stream=True)
    )
    assert (
        "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
        == first.choices[0].message.content
    )  # a stream is served from the cached answer too
    assert fake_upstream.behaviour.calls == 1
    client.chat.completions.create(model="fake", messages=Q, temperature=0, max_tokens=5)
    client.chat.completions.create(model="fake", messages=Q, temperature=0.7)
    client.chat.completions.create(model="fake", messages=Q, temperature=0.7)
    gw.client(key=TENANT_KEYS["globex"]).chat.completions.create(
        model="fake", messages=Q, temperature=0
    )
    assert fake_upstream.behaviour.calls == 5  # other params, sampling, another tenant: misses
    rows = gw.records(expect=7)
    hits = [r for r in rows if r.status == "cache_hit"]
    assert len(hits) == 2
    original = rows[0]
    for hit in hits:
        assert hit.cost_usd == 0 and hit.saving_usd == pytest.approx(original.cost_usd)
        assert hit.route_reason == "cache hit (exact)"


def test_routes_may_opt_in_to_caching_sampled_answers(run_gateway, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway(
        [fake_deployment(fake_upstream)],
        cache={"exact": True},
        routes=[
            {"name": "faq", "policy": "fallback", "deployments": ["fake"], "cache_sampling": True}
        ],
    )
    for _ in range(3):
        gw.client().chat.completions.create(model="faq", messages=Q, temperature=0.8)
    assert fake_upstream.behaviour.calls == 1


def test_semantic_cache_is_isolated_per_tenant_and_system_prompt(
    run_gateway, fake_upstream
) -> None:  # type: ignore[no-untyped-def]
    gw = cached(run_gateway, fake_upstream, semantic={"enabled": True})
    acme, globex = gw.client(), gw.client(key=TENANT_KEYS["globex"])
    same = [{"role": "user", "content": "what is the capital of france"}]
    acme.chat.completions.create(model="fake", messages=Q, temperature=0)
    globex.chat.completions.create(model="fake", messages=same, temperature=0)
    assert fake_upstream.behaviour.calls == 2  # another tenant never sees acme's answers
    hit = acme.chat.completions.with_raw_response.create(model="fake", messages=same, temperature=0)
    assert hit.headers["x-unitcost-cache"].startswith("semantic 0.")
    assert "verified 1.00" in hit.headers["x-unitcost-cache"]
    briefed = [{"role": "system", "content": "Answer in French."}, *same]
    acme.chat.completions.create(model="fake", messages=briefed, temperature=0)
    near_miss = [{"role": "user", "content": "What is the capital of Germany?"}]
    acme.chat.completions.create(model="fake", messages=near_miss, temperature=0)
    assert fake_upstream.behaviour.calls == 4  # a new system prompt, another question: misses
    row = gw.records(expect=5)[2]
    assert row.status == "cache_hit" and row.route_reason.startswith("cache hit (semantic")


def test_redis_cache_is_shared_by_two_gateway_processes(tmp_path: Path) -> None:
    import redis

    tenant = f"t{uuid.uuid4().hex[:8]}"  # fresh keys in a shared Redis
    loop = LoopThread()
    upstream = loop.run(FakeUpstream().start())
    procs, urls = [], []
    try:
        for i in range(2):
            port = free_port()
            config = tmp_path / f"g{i}.yaml"
            config.write_text(f"""
port: {port}
ledger: {{url: "sqlite:///{tmp_path}/ledger{i}.db"}}
tenants: [{{name: {tenant}, keys: [k]}}]
cache: {{exact: true, backend: redis, redis_url: "redis://127.0.0.1:6379/0", ttl_s: 60}}
deployments:
  - name: fake
    backend: openai
    options: {{url: "{upstream.url}", model: m}}
    price: {{list_price: {{input_usd_per_m: 1, output_usd_per_m: 1}}}}
""")
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "unitcost", "serve", "--config", str(config)],
                    stderr=subprocess.PIPE,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            wait_http(url + "/healthz", proc=proc)
        body = {"model": "fake", "messages": Q, "temperature": 0}
        headers = {"authorization": "Bearer k"}
        first = httpx.post(urls[0] + "/v1/chat/completions", json=body, headers=headers)
        second = httpx.post(urls[1] + "/v1/chat/completions", json=body, headers=headers)
        assert first.status_code == second.status_code == 200
        assert "x-unitcost-cache" not in first.headers
        assert second.headers["x-unitcost-cache"] == "exact"
        assert second.json() == first.json()
        assert upstream.behaviour.calls == 1
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(15)
        loop.run(upstream.close())
        loop.stop()
        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        for key in client.scan_iter(f"unitcost:cache:{tenant}:*"):
            client.delete(key)
