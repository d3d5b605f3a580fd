"""The gateway's contract with clients, against the fault-injecting fake upstream."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from tests.conftest import ADMIN_KEY, TENANT_KEYS, fake_deployment
from unitcost.testing import FakeUpstream


@pytest.fixture
def gateway(run_gateway, fake_upstream: FakeUpstream):  # type: ignore[no-untyped-def]
    return run_gateway([fake_deployment(fake_upstream)], max_body_bytes=4096)


def test_tools_response_format_and_unknown_fields_reach_upstream_untouched(
    gateway, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.behaviour.keep_bodies = True
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "d",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
    ]
    gateway.client().chat.completions.create(
        model="fake",
        messages=[{"role": "user", "content": "hi"}],
        tools=tools,
        tool_choice="auto",
        response_format={"type": "json_object"},
        temperature=0.25,
        extra_body={"vendor_knob": {"nested": [1, 2.5, None]}, "top_k": 7},
    )
    sent = json.loads(fake_upstream.behaviour.bodies[-1])
    assert sent["model"] == "fake-model"  # rewritten to the upstream's name
    assert sent["tools"] == tools and sent["tool_choice"] == "auto"
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["vendor_knob"] == {"nested": [1, 2.5, None]} and sent["top_k"] == 7
    assert sent["temperature"] == 0.25


def test_stream_usage_is_read_from_the_final_chunk_and_hidden_unless_asked(
    gateway, fake_upstream: FakeUpstream
) -> None:
    client = gateway.client()
    chunks = list(
        client.chat.completions.create(
            model="fake", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert all(c.usage is None for c in chunks)  # the client did not ask for usage
    asked = list(
        client.chat.completions.create(
            model="fake",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert asked[-1].usage.completion_tokens == fake_upstream.behaviour.completion_tokens
    records = gateway.records(expect=2)
    assert len(records) == 2
    for r in records:
        assert not r.tokens_estimated
        assert (r.prompt_tokens, r.completion_tokens) == (12, 10)
        assert r.cost_usd == pytest.approx((12 * 1.0 + 10 * 2.0) / 1e6)


def test_embeddings_are_proxied_and_metered(gateway) -> None:
    result = gateway.client().embeddings.create(model="fake", input="hello")
    assert len(result.data[0].embedding) == 8
    (r,) = gateway.records()
    assert r.endpoint == "embeddings" and r.prompt_tokens == 12 and r.completion_tokens == 0


def test_missing_or_wrong_key_is_401(gateway) -> None:
    missing = httpx.post(
        gateway.url + "/v1/chat/completions",
        json={"model": "fake", "messages": [{"role": "user", "content": "x"}]},
    )
    assert missing.status_code == 401
    assert (
        missing.json()["error"]["message"] == "missing API key; send `Authorization: Bearer <key>`"
    )
    with pytest.raises(openai.AuthenticationError) as info:
        gateway.client(key="sk-wrong").chat.completions.create(
            model="fake", messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.body["type"] == "authentication_error"
    assert info.value.body["message"] == "invalid API key"


def test_unknown_model_is_404_naming_what_is_served(gateway) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        gateway.client().chat.completions.create(
            model="gpt-9", messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.body["message"] == "model 'gpt-9' is not served here; accepted: fake"
    assert info.value.body["param"] == "model"


def test_bad_json_bad_fields_and_oversized_bodies(gateway) -> None:
    headers = {"authorization": f"Bearer {TENANT_KEYS['acme']}", "content-type": "application/json"}
    url = gateway.url + "/v1/chat/completions"
    bad = httpx.post(url, content=b"{nope", headers=headers)
    assert bad.status_code == 400
    assert bad.json()["error"]["message"].startswith("request body is not valid JSON")
    missing = httpx.post(url, json={"model": "fake"}, headers=headers)
    assert missing.status_code == 400
    assert missing.json()["error"] == {
        "message": "messages: required for /v1/chat/completions",
        "type": "invalid_request_error",
        "param": "messages",
        "code": None,
    }
    stream = httpx.post(
        url,
        json={"model": "fake", "messages": [{"role": "user", "content": "x"}], "stream": "yes"},
        headers=headers,
    )
    assert stream.status_code == 400 and stream.json()["error"]["param"] == "stream"
    big = httpx.post(
        url,
        json={"model": "fake", "messages": [{"role": "user", "content": "x" * 5000}]},
        headers=headers,
    )
    assert big.status_code == 413
    assert "limit is 4096 bytes" in big.json()["error"]["message"]
    # nothing reached upstream and nothing was billed; each refusal is a zero-cost row
    rows = gateway.records(expect=4)
    assert {r.status for r in rows} == {"rejected"} and sum(r.cost_nanos for r in rows) == 0
    assert sorted(r.http_status for r in rows) == [400, 400, 400, 413]


def test_upstream_5xx_is_502_and_recorded(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.behaviour.fail_next = 1
    with pytest.raises(openai.APIStatusError) as info:
        gateway.client().chat.completions.create(
            model="fake", messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.status_code == 502
    assert "fake upstream failure (injected)" in info.value.body["message"]
    (r,) = gateway.records()
    assert (r.status, r.http_status, r.cost_usd) == ("upstream_error", 503, 0.0)


def test_unreachable_upstream_is_502(run_gateway) -> None:  # type: ignore[no-untyped-def]
    dead = {
        "name": "dead",
        "backend": "openai",
        "options": {"url": "http://127.0.0.1:9/v1", "model": "m"},
        "price": {"list_price": {"input_usd_per_m": 1, "output_usd_per_m": 1}},
    }
    gw = run_gateway([dead])
    with pytest.raises(openai.APIStatusError) as info:
        gw.client().chat.completions.create(
            model="dead", messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.status_code == 502
    assert "could not connect to 127.0.0.1:9" in info.value.body["message"]


def test_first_token_timeout_is_504(run_gateway, fake_upstream: FakeUpstream) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway([fake_deployment(fake_upstream, timeouts={"first_token": 0.2})])
    fake_upstream.behaviour.delay_s = 1.0
    started = time.perf_counter()
    with pytest.raises(openai.APIStatusError) as info:
        gw.client().chat.completions.create(
            model="fake", messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.status_code == 504 and time.perf_counter() - started < 0.9
    (r,) = gw.records()
    assert r.status == "upstream_timeout"


def test_between_tokens_timeout_ends_the_stream_with_an_error(
    run_gateway,
    fake_upstream: FakeUpstream,  # type: ignore[no-untyped-def]
) -> None:
    gw = run_gateway([fake_deployment(fake_upstream, timeouts={"between_tokens": 0.2})])
    fake_upstream.behaviour.token_interval_s = 0.5
    with pytest.raises(openai.APIError, match="between-token timeout"):
        for _ in gw.client().chat.completions.create(
            model="fake", messages=[{"role": "user", "content": "x"}], stream=True
        ):
            pass
    (r,) = gw.records()
    assert r.status == "upstream_timeout" and r.completion_tokens >= 1 and r.tokens_estimated


def test_usage_endpoint_isolates_tenants(gateway) -> None:
    for tenant, feature in (("acme", "a"), ("acme", "b"), ("globex", "a")):
        gateway.client(
            key=TENANT_KEYS[tenant], default_headers={"x-unitcost-feature": feature}
        ).chat.completions.create(model="fake", messages=[{"role": "user", "content": "x"}])
    gateway.flush()

    def usage(key: str, query: str) -> httpx.Response:
        return httpx.get(
            f"{gateway.url}/v1/usage?{query}", headers={"authorization": f"Bearer {key}"}
        )

    acme = usage(TENANT_KEYS["acme"], "group_by=tenant,feature").json()["data"]
    assert [(r["tenant"], r["feature"], r["requests"]) for r in acme] == [
        ("acme", "a", 1),
        ("acme", "b", 1),
    ]
    assert acme[0]["cost_usd"] == pytest.approx((12 + 20) / 1e6)
    assert usage(TENANT_KEYS["acme"], "tenant=globex").status_code == 403
    everyone = usage(ADMIN_KEY, "group_by=tenant,day").json()["data"]
    assert {r["tenant"]: r["requests"] for r in everyone} == {"acme": 2, "globex": 1}
    assert (
        usage(ADMIN_KEY, "group_by=colour")
        .json()["error"]["message"]
        .startswith("group_by: unknown 'colour'; accepted: tenant, key_id, feature")
    )
    assert usage(ADMIN_KEY, "since=yesterday").status_code == 400
    assert httpx.get(f"{gateway.url}/v1/usage").status_code == 401


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_metrics_count_requests_tokens_and_cost(gateway) -> None:
    gateway.client().chat.completions.create(
        model="fake", messages=[{"role": "user", "content": "x"}]
    )
    assert httpx.get(gateway.url + "/metrics").status_code == 401  # no key, no metrics
    tenant = httpx.get(gateway.url + "/metrics", headers=bearer(TENANT_KEYS["acme"]))
    assert tenant.status_code == 403  # tenants and their spend are the operator's to see
    text = httpx.get(gateway.url + "/metrics", headers=bearer(ADMIN_KEY)).text
    assert (
        'unitcost_rejections_total{http_status="401",reason="invalid_api_key",tenant="(unauthenticated)"} 1.0'
        in text
    )
    labels = 'deployment="fake",feature="(none)"'
    assert f'unitcost_requests_total{{{labels},status="ok",tenant="acme"}} 1.0' in text
    assert f'unitcost_tokens_total{{{labels},kind="completion",tenant="acme"}} 10.0' in text
    assert f'unitcost_cost_usd_total{{{labels},tenant="acme"}} 3.2e-05' in text
    assert "unitcost_request_seconds_bucket" in text


def test_healthz_and_unknown_routes(gateway) -> None:
    assert httpx.get(gateway.url + "/healthz").json()["status"] == "ok"
    missing = httpx.get(gateway.url + "/v2/things")
    assert (
        missing.status_code == 404 and "no route /v2/things" in missing.json()["error"]["message"]
    )


def test_a_key_header_sent_twice_is_refused_whichever_copy_is_good(gateway) -> None:
    """A proxy in front that reads the first copy and a gateway that reads the last would
    bill different tenants for one request (found by a black-box probe)."""
    good, other = TENANT_KEYS["acme"], TENANT_KEYS["globex"]
    chat = {"model": "fake", "messages": [{"role": "user", "content": "x"}]}
    for first, second in ((f"Bearer {other}", f"Bearer {good}"), (f"Bearer {good}", "Bearer x")):
        twice = [("authorization", first), ("authorization", second)]
        reply = httpx.post(gateway.url + "/v1/chat/completions", json=chat, headers=twice)
        assert reply.status_code == 400 and reply.json()["error"]["param"] == "authorization"
        assert httpx.get(gateway.url + "/v1/usage", headers=twice).status_code == 400
    messages = {"model": "fake", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    for twice in (
        [("x-api-key", good), ("x-api-key", other)],
        [("authorization", f"Bearer {good}"), ("x-api-key", other)],
    ):
        reply = httpx.post(gateway.url + "/v1/messages", json=messages, headers=twice)
        assert reply.status_code == 400 and "more than once" in reply.json()["error"]["message"]
    same = [("authorization", f"Bearer {good}"), ("x-api-key", good)]  # one key, two headers
    assert httpx.post(gateway.url + "/v1/messages", json=messages, headers=same).status_code == 200
    metrics = httpx.get(
        gateway.url + "/metrics", headers={"authorization": f"Bearer {ADMIN_KEY}"}
    ).text
    assert (
        'unitcost_rejections_total{http_status="400",reason="invalid_request_error",'
        'tenant="(unauthenticated)"} 6.0'
    ) in metrics


def test_a_request_id_is_echoed_only_when_it_looks_like_one(gateway) -> None:
    chat = {"model": "fake", "messages": [{"role": "user", "content": "x"}]}
    key = {"authorization": f"Bearer {TENANT_KEYS['acme']}"}
    url = gateway.url + "/v1/chat/completions"
    kept = httpx.post(url, json=chat, headers={**key, "x-request-id": "trace-0af7651916cd43dd"})
    assert kept.headers["x-request-id"] == "trace-0af7651916cd43dd"
    odd = httpx.post(url, json=chat, headers={**key, "x-request-id": '<script>\t"x"'})
    replaced = odd.headers["x-request-id"]
    assert replaced != '<script>\t"x"' and replaced.isalnum()
    rows = gateway.records(expect=2)
    assert {r.request_id for r in rows} == {"trace-0af7651916cd43dd", replaced}


def test_a_known_path_with_the_wrong_method_is_405_with_allow(gateway) -> None:
    reply = httpx.get(gateway.url + "/v1/chat/completions")
    assert reply.status_code == 405 and reply.headers["allow"] == "POST"
    assert reply.json()["error"]["code"] == "method_not_allowed"
    reply = httpx.post(gateway.url + "/healthz")
    assert reply.status_code == 405 and reply.headers["allow"] == "GET"


def test_the_admin_key_does_not_spend(gateway, fake_upstream: FakeUpstream) -> None:
    """A model call on the admin key billed a pseudo-tenant `admin` that no budget binds."""
    with pytest.raises(openai.PermissionDeniedError, match="model calls need a tenant's key"):
        gateway.client(key=ADMIN_KEY).chat.completions.create(
            model="fake", messages=[{"role": "user", "content": "x"}]
        )
    assert fake_upstream.behaviour.calls == 0
    usage = httpx.get(gateway.url + "/v1/usage", headers={"authorization": f"Bearer {ADMIN_KEY}"})
    assert usage.status_code == 200  # what the admin key is for
