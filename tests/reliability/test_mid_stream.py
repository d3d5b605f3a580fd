"""Streams that end badly still leave exactly one ledger row per upstream call."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import httpx
import openai
import pytest

from tests.conftest import TENANT_KEYS, fake_deployment, llama_deployment, start_llama_server
from unitcost.testing import FakeUpstream

LONG = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]


def test_upstream_killed_mid_stream(run_gateway) -> None:  # type: ignore[no-untyped-def]
    server = start_llama_server()  # our own, since this test kills it
    try:
        gw = run_gateway([llama_deployment(server)])
        stream = gw.client().chat.completions.create(
            model="smollm2", messages=LONG, max_tokens=400, temperature=0, stream=True
        )
        received = 0
        with pytest.raises(openai.APIError) as info:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    received += 1
                    if received == 5:
                        os.kill(server.proc.pid, signal.SIGKILL)
        assert "upstream closed the connection" in str(info.value)
    finally:
        server.proc.kill()
        server.proc.wait(10)
    (record,) = gw.records()
    assert record.status == "upstream_error" and record.http_status == 502
    assert record.tokens_estimated
    assert 5 <= record.completion_tokens < 400
    assert record.prompt_tokens > 0 and record.cost_usd > 0


def test_client_disconnect_mid_stream_cancels_the_real_upstream(run_gateway, llama_server) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway([llama_deployment(llama_server)])
    received = 0
    with httpx.stream(
        "POST",
        gw.url + "/v1/chat/completions",
        headers={"authorization": f"Bearer {TENANT_KEYS['acme']}"},
        json={
            "model": "smollm2",
            "messages": LONG,
            "max_tokens": 400,
            "stream": True,
            "temperature": 0,
        },
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                choices = json.loads(line[6:]).get("choices") or [{}]
                received += bool(choices[0].get("delta", {}).get("content"))
            if received == 5:
                break  # leaving the block closes the connection mid-stream
    started = time.perf_counter()
    (record,) = gw.records()
    assert record.status == "client_disconnected" and record.http_status == 499
    assert record.tokens_estimated and 5 <= record.completion_tokens < 400
    # The upstream stopped generating: the same server answers a new request at once.
    quick = gw.client().chat.completions.create(
        model="smollm2", max_tokens=2, messages=[{"role": "user", "content": "hi"}]
    )
    assert quick.choices and time.perf_counter() - started < 20
    assert len(gw.records(expect=2)) == 2


def test_client_disconnect_closes_the_upstream_socket(
    run_gateway, fake_upstream: FakeUpstream
) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway([fake_deployment(fake_upstream)])
    fake_upstream.behaviour.completion_tokens = 1000
    fake_upstream.behaviour.token_interval_s = 0.01
    with httpx.stream(
        "POST",
        gw.url + "/v1/chat/completions",
        headers={"authorization": f"Bearer {TENANT_KEYS['acme']}"},
        json={"model": "fake", "messages": LONG, "stream": True},
    ) as response:
        for i, _ in enumerate(response.iter_lines()):
            if i == 6:
                break
    (record,) = gw.records()
    assert record.status == "client_disconnected"
    deadline = time.time() + 5
    while fake_upstream.connections and time.time() < deadline:
        time.sleep(0.05)
    assert not fake_upstream.connections  # the gateway closed its upstream connection


def test_fake_upstream_dying_mid_stream_is_one_record(
    run_gateway, fake_upstream: FakeUpstream
) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway([fake_deployment(fake_upstream)])
    fake_upstream.behaviour.die_after_chunks = 3
    parts = []
    with pytest.raises(openai.APIError):
        for chunk in gw.client().chat.completions.create(
            model="fake", messages=LONG, stream=True, stream_options={"include_usage": True}
        ):
            parts.append(chunk.choices[0].delta.content if chunk.choices else "")
    assert len(parts) == 3
    (record,) = gw.records()
    assert (record.status, record.completion_tokens, record.tokens_estimated) == (
        "upstream_error",
        3,
        True,
    )


def test_concurrent_streams_each_leave_one_record(run_gateway, fake_upstream: FakeUpstream) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway([fake_deployment(fake_upstream)])
    fake_upstream.behaviour.token_interval_s = 0.002
    client = gw.client()

    def one(i: int) -> None:
        for _ in client.chat.completions.create(
            model="fake", messages=LONG, stream=True, extra_headers={"x-request-id": f"req-{i}"}
        ):
            pass

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = gw.records(expect=20)
    assert sorted(r.request_id for r in records) == sorted(f"req-{i}" for i in range(20))
    assert all(r.status == "ok" and r.completion_tokens == 10 for r in records)
