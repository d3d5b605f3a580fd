"""Workload classes end to end: named by model or header, SLO and sensitivity, fallback,
the class on every row (the openai SDK against protocol fakes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from unitcost.testing import AnthropicProtocolServer, OpenAIProtocolServer, in_thread

ASK = [{"role": "user", "content": "hello"}]


@pytest.fixture
def servers() -> Iterator[tuple[OpenAIProtocolServer, AnthropicProtocolServer]]:
    with in_thread(OpenAIProtocolServer()) as own, in_thread(AnthropicProtocolServer()) as api:
        yield own, api


def deployments(own: OpenAIProtocolServer, api: AnthropicProtocolServer) -> list[dict[str, Any]]:
    return [
        {
            "name": "llama-own",  # our machines: priced by the seed method, so self-hosted
            "backend": "openai",
            "options": {"url": own.url, "model": "llama"},
            "price": {"seed": {"tco_usd_per_hour": 2.0, "tokens_per_s": 400}},
        },
        {
            "name": "claude-api",
            "backend": "anthropic",
            "options": {"url": api.url, "model": "claude-haiku-4-5", "api_key": "k"},
            "price": {"list_price": {"input_usd_per_m": 1.0, "output_usd_per_m": 5.0}},
        },
    ]


CLASSES = [
    {
        "name": "chat",
        "latency_slo": {"latency_p95_ms": 250},
        "options": ["claude-api", "llama-own"],
    },
    {
        "name": "records",
        "sensitivity": {"pii": "self_hosted_only"},
        "options": ["claude-api", "llama-own"],
    },
    {"name": "lonely", "options": ["claude-api"]},
]


@pytest.fixture
def gateway(run_gateway: Any, servers: Any) -> Any:
    return run_gateway(deployments(*servers), classes=CLASSES, port=0)


def rows(gateway: Any, expect: int) -> list[Any]:
    return sorted((r for r in gateway.records(expect=expect) if r.deployment), key=lambda r: r.ts)


def test_a_class_named_by_model_or_header_is_on_every_row(gateway: Any) -> None:
    client = gateway.client()
    client.chat.completions.create(model="chat", messages=ASK)
    client.chat.completions.create(
        model="anything", messages=ASK, extra_headers={"x-unitcost-class": "records"}
    )
    first, second = rows(gateway, 2)
    assert (first.workload_class, first.deployment) == ("chat", "claude-api")
    assert first.route_reason.startswith("class chat: claude-api")
    assert (second.workload_class, second.deployment) == ("records", "llama-own")
    assert "1 API option excluded (pii: self_hosted_only)" in second.route_reason


def test_falls_back_to_the_next_option_and_records_both_calls(gateway: Any, servers: Any) -> None:
    _, api = servers
    api.script.fail_next, api.script.fail_status = 1, 529
    answer = gateway.client().chat.completions.create(model="chat", messages=ASK)
    assert answer.choices[0].message.content == servers[0].script.text
    failed, served = rows(gateway, 2)
    assert (failed.deployment, failed.status, failed.workload_class) == (
        "claude-api",
        "upstream_error",
        "chat",
    )
    assert (served.deployment, served.status, served.workload_class) == ("llama-own", "ok", "chat")


def test_an_option_that_misses_the_slo_moves_behind_one_that_meets_it(
    gateway: Any, servers: Any
) -> None:
    _, api = servers
    client = gateway.client()
    api.script.delay_s = 0.4  # the API option now takes > 250 ms
    client.chat.completions.create(model="chat", messages=ASK)
    api.script.delay_s = 0.0
    client.chat.completions.create(model="chat", messages=ASK)
    first, second = rows(gateway, 2)
    assert first.deployment == "claude-api" and first.latency_ms > 250
    assert second.deployment == "llama-own"  # measured llama: none yet, so it meets the SLO
    assert "behind the SLO: claude-api (latency p95" in second.route_reason


def test_unknown_class_header_is_404_naming_the_classes(gateway: Any) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        gateway.client().chat.completions.create(
            model="chat", messages=ASK, extra_headers={"x-unitcost-class": "nope"}
        )
    message = info.value.body["message"]
    assert "x-unitcost-class: 'nope' is not a workload class" in message
    assert "chat, lonely, records" in message


def test_start_up_warns_about_thin_classes(gateway: Any) -> None:
    warnings = gateway.app.class_warnings
    assert any(w.startswith("classes.lonely: 1 viable option") for w in warnings)
    assert any(w.startswith("classes.lonely: no open-weight option") for w in warnings)
    assert any(w.startswith("classes.records: 1 viable option") for w in warnings)
    assert not any(w.startswith("classes.chat") for w in warnings)
