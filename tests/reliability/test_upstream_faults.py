"""What an upstream says is input too: each fault gets a clear answer and exactly one row."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.conftest import TENANT_KEYS, fake_deployment
from unitcost.testing import FakeUpstream

HI = [{"role": "user", "content": "hi"}]


def chain(primary: FakeUpstream, backup: FakeUpstream, **options: object) -> dict[str, object]:
    return {
        "deployments": [
            fake_deployment(primary, "primary", **options),
            fake_deployment(backup, "backup"),
        ],
        "routes": [
            {
                "name": "chain",
                "policy": "fallback",
                "deployments": ["primary", "backup"],
                "retry_budget": 1.0,
            }
        ],
    }


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": 12, "completion_tokens": 2.5},
        {"prompt_tokens": "12"},
        {"prompt_tokens": -1},
    ],
)
def test_usage_that_is_not_a_count_is_metered_with_the_tokenizer(
    run_gateway, fake_upstream, usage
) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway([fake_deployment(fake_upstream)])
    fake_upstream.behaviour.usage_override = usage
    reply = gw.client().chat.completions.create(model="fake", messages=HI)
    assert reply.choices[0].message.content  # the client still gets its answer
    (row,) = gw.records(expect=1)
    assert row.status == "ok" and row.tokens_estimated and row.cost_nanos > 0
    assert row.prompt_tokens > 0 and row.completion_tokens > 0


def test_a_truncated_body_is_a_502_and_falls_back(
    run_gateway, fake_upstream, second_upstream
) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway(**chain(fake_upstream, second_upstream))
    fake_upstream.behaviour.truncate_body = 40
    reply = gw.client().chat.completions.with_raw_response.create(model="chain", messages=HI)
    assert reply.headers["x-unitcost-deployment"] == "backup"
    first, second = gw.records(expect=2)
    assert (first.deployment, first.status, first.http_status) == ("primary", "upstream_error", 502)
    assert second.status == "ok"
    plain = run_gateway([fake_deployment(fake_upstream)])
    with pytest.raises(openai.APIStatusError) as info:
        plain.client().chat.completions.create(model="fake", messages=HI)
    assert info.value.status_code == 502


def test_a_stream_of_garbage_is_a_502_before_commit_and_falls_back(
    run_gateway, fake_upstream, second_upstream
) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway(**chain(fake_upstream, second_upstream))
    fake_upstream.behaviour.garbage_stream = True
    chunks = list(gw.client().chat.completions.create(model="chain", messages=HI, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "This is a fixed answer from a fake upstream."
    first, second = gw.records(expect=2)
    assert first.status == "upstream_error" and "malformed" in (first.error or "")
    assert (second.deployment, second.status) == ("backup", "ok")
    alone = run_gateway([fake_deployment(fake_upstream)])
    raw = httpx.post(
        f"{alone.url}/v1/chat/completions",
        json={"model": "fake", "messages": HI, "stream": True},
        headers={"authorization": f"Bearer {TENANT_KEYS['acme']}"},
    )
    assert raw.status_code == 502 and raw.json()["error"]["type"] == "upstream_error"


def test_a_stream_that_dies_after_its_first_token_ends_with_an_error_event(
    run_gateway, fake_upstream
) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway([fake_deployment(fake_upstream)])
    fake_upstream.behaviour.die_after_chunks = 3
    with httpx.stream(
        "POST",
        f"{gw.url}/v1/chat/completions",
        json={"model": "fake", "messages": HI, "stream": True},
        headers={"authorization": f"Bearer {TENANT_KEYS['acme']}"},
    ) as reply:
        body = b"".join(reply.iter_bytes())
    assert reply.status_code == 200
    assert b'"error"' in body and body.endswith(b"data: [DONE]\n\n")
    (row,) = gw.records(expect=1)
    assert row.status == "upstream_error" and row.completion_tokens == 3


def test_an_upstream_that_read_the_request_is_never_sent_it_again(
    run_gateway, fake_upstream
) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway([fake_deployment(fake_upstream)])
    gw.client().chat.completions.create(model="fake", messages=HI)  # a keep-alive socket now
    fake_upstream.behaviour.reset_after_reading = True
    with pytest.raises(openai.APIStatusError) as info:
        gw.client().chat.completions.create(model="fake", messages=HI)
    assert info.value.status_code == 502
    assert fake_upstream.behaviour.calls == 2  # one generation for the second request, not two
    rows = gw.records(expect=2)
    assert [r.status for r in rows] == ["ok", "upstream_error"]


def test_headers_then_silence_times_out_before_commit_and_falls_back(
    run_gateway, fake_upstream, second_upstream
) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway(**chain(fake_upstream, second_upstream, timeouts={"first_token": 0.3}))
    fake_upstream.behaviour.silent_after_headers = True
    started = time.perf_counter()
    chunks = list(gw.client().chat.completions.create(model="chain", messages=HI, stream=True))
    assert time.perf_counter() - started < 5  # not the between-tokens timeout (60 s)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    first, second = gw.records(expect=2)
    assert (first.status, first.http_status) == ("upstream_timeout", 504)
    assert "first-token timeout" in (first.error or "") and first.cost_nanos == 0
    assert (second.deployment, second.status) == ("backup", "ok")


def test_upstream_error_text_never_reaches_the_ledger(run_gateway, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway([fake_deployment(fake_upstream)])
    fake_upstream.behaviour.fail_next, fake_upstream.behaviour.fail_status = 1, 400
    with pytest.raises(openai.BadRequestError) as info:
        gw.client().chat.completions.create(model="fake", messages=HI)
    assert "fake upstream failure (injected)" in str(info.value)  # the client may see it
    (row,) = gw.records(expect=1)
    assert row.status == "upstream_rejected" and row.error == "upstream answered 400 server_error"
