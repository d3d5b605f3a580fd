"""The guard's entry point: allowlists, caps, clamp, secrets, PII policies, mask/restore."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from unitcost.guard import Guard, GuardBlocked, GuardConfig, Screened, redact_text

OFF = {"injection": {"policy": "off"}, "canary": False}


def guard(**default: Any) -> Guard:
    return Guard(GuardConfig.model_validate({"default": {**OFF, **default}}))


def chat(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-5-mini", "messages": list(messages), **extra}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def screen(
    g: Guard, body: dict[str, Any], tenant: str = "acme", key: str | None = None
) -> Screened:
    return g.screen_request(
        body, tenant=tenant, key_id=key, deployment="gpt-5-mini", endpoint="chat/completions"
    )


WEATHER = {"type": "function", "function": {"name": "weather", "parameters": {}}}
SHELL = {"type": "function", "function": {"name": "shell", "parameters": {}}}


def test_a_tool_outside_the_allowlist_is_refused_before_any_text_is_read() -> None:
    g = Guard(
        GuardConfig.model_validate({"default": OFF, "keys": {"k1": {"allowed_tools": ["weather"]}}})
    )
    ok = screen(g, chat(user("hi"), tools=[WEATHER]), key="k1")
    assert ok.action == "allow"
    bad = screen(g, chat(user("hi"), tools=[WEATHER, SHELL]), key="k1")
    assert bad.blocked and bad.reasons == ["tool_not_allowed:shell"]
    assert isinstance(bad.error(), GuardBlocked) and bad.error().status_code == 400
    assert screen(g, chat(user("hi"), tools=[SHELL]), key="other").action == "allow"


def test_a_model_outside_the_tenants_allowlist_is_refused() -> None:
    g = Guard(
        GuardConfig.model_validate(
            {"default": OFF, "tenants": {"acme": {"allowed_models": ["cheap"]}}}
        )
    )
    assert screen(g, chat(user("hi"))).reasons == ["model_not_allowed"]
    assert screen(g, {**chat(user("hi")), "model": "cheap"}).action == "allow"


def test_caps_refuse_oversized_requests() -> None:
    g = guard(caps={"max_messages": 2, "max_message_chars": 10})
    s = screen(g, chat(user("a"), user("b"), user("c" * 11)))
    assert s.blocked and s.reasons == ["caps:messages>2", "caps:message_chars>10"]


def test_max_tokens_is_clamped_and_set_when_absent() -> None:
    g = guard(caps={"max_tokens": 100})
    s = screen(g, chat(user("hi")))
    assert s.body["max_tokens"] == 100 and s.reasons == ["caps:max_tokens"]
    s = screen(g, chat(user("hi"), max_completion_tokens=5000))
    assert s.body["max_completion_tokens"] == 100 and "max_tokens" not in s.body
    s = screen(g, chat(user("hi"), max_tokens=50))
    assert s.body["max_tokens"] == 50 and s.action == "allow"


def test_secrets_are_blocked_or_redacted_by_policy() -> None:
    key = "sk-proj-" + "Ab1" * 10
    s = screen(guard(), chat(user(f"use {key} for it")))
    assert s.blocked and s.reasons == ["secret:openai_key"]
    assert key not in s.error().message
    s = screen(guard(secrets="redact"), chat(user(f"use {key} for it")))
    assert s.action == "redact"
    assert s.body["messages"][0]["content"] == "use <SECRET:openai_key> for it"


def test_pii_is_flagged_by_default_and_blocked_where_the_policy_says() -> None:
    body = chat(user("my card is 4111 1111 1111 1111"))
    s = screen(guard(), body)
    assert s.action == "flag" and s.reasons == ["pii:card"]
    assert s.body["messages"][0]["content"] == "my card is 4111 1111 1111 1111"
    assert not s.cacheable  # raw PII went upstream and records are redacted
    b = screen(guard(pii={"block": True}), body)
    assert b.blocked and "4111" not in b.error().message


def test_mask_upstream_round_trip_non_streaming() -> None:
    g = guard(pii={"mask_upstream": True})
    s = screen(g, chat(user("Email ana@example.org and bo@example.org, then ana@example.org")))
    assert s.action == "redact"
    sent = s.body["messages"][0]["content"]
    assert sent == "Email <EMAIL_1> and <EMAIL_2>, then <EMAIL_1>"
    assert "ana@example.org" not in orjson.dumps(s.body).decode()
    assert s.cacheable
    answer = orjson.dumps(
        {
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "Sent to <EMAIL_2> and <EMAIL_1>; <EMAIL_9> unknown",
                    },
                }
            ]
        }
    )
    back = orjson.loads(g.screen_answer(answer, s))
    assert back["choices"][0]["message"]["content"] == (
        "Sent to bo@example.org and ana@example.org; <EMAIL_9> unknown"
    )
    assert "ana@example.org" not in repr(s)  # the originals never reach a log via repr


def test_same_request_with_other_data_masks_to_the_same_upstream_body() -> None:
    g = guard(pii={"mask_upstream": True})
    a = screen(g, chat(user("call +1-984-182-0190")))
    b = screen(g, chat(user("call +1-212-555-0147")))
    assert a.body == b.body and a.originals != b.originals


def test_record_fields_and_header_carry_labels_only() -> None:
    s = screen(guard(), chat(user("ssn 123-45-6789 at 10.0.0.7")))
    fields = s.record_fields()
    assert fields["guard_action"] == "flag"
    assert fields["guard_reasons"] == "pii:us_ssn,pii:ip"
    assert fields["guard_ms"] >= 0
    name, value = s.header()
    assert name == b"x-unitcost-guard-ms" and float(value) >= 0


def test_redact_for_sinks_respects_the_scope() -> None:
    g = Guard(
        GuardConfig.model_validate(
            {"default": OFF, "tenants": {"lab": {"pii": {"redact_records": False}}}}
        )
    )
    text = "upstream said: bad input 4111 1111 1111 1111 from ana@example.org"
    assert g.redact(text, tenant="acme") == "upstream said: bad input <CARD> from <EMAIL>"
    assert g.redact(text, tenant="lab") == text
    assert redact_text("key sk-proj-" + "x1" * 12) == "key <SECRET:openai_key>"


def test_other_endpoints_are_screened_too() -> None:
    g = guard(pii={"mask_upstream": True})
    s = g.screen_request(
        {"model": "e", "input": ["ana@example.org", "hello"]},
        tenant="t",
        key_id=None,
        deployment="e",
        endpoint="embeddings",
    )
    assert s.body["input"] == ["<EMAIL_1>", "hello"]
    s = g.screen_request(
        {"model": "c", "prompt": "ssn 123-45-6789"},
        tenant="t",
        key_id=None,
        deployment="c",
        endpoint="completions",
    )
    assert s.body["prompt"] == "ssn <US_SSN_1>"


def test_disabled_guard_passes_everything() -> None:
    g = Guard(GuardConfig.model_validate({"enabled": False}))
    body = chat(user("sk-proj-" + "Ab1" * 10))
    s = screen(g, body)
    assert s.action == "allow" and s.body is body


@pytest.mark.parametrize(
    "content",
    [
        [
            {"type": "text", "text": "card 4111 1111 1111 1111"},
            {"type": "image_url", "image_url": {}},
        ],
    ],
)
def test_content_parts_are_screened(content: list[dict[str, Any]]) -> None:
    g = guard(pii={"mask_upstream": True})
    s = screen(g, chat({"role": "user", "content": content}))
    parts = s.body["messages"][0]["content"]
    assert parts[0]["text"] == "card <CARD_1>" and parts[1] == content[1]


def test_tool_call_arguments_and_tool_results_are_screened() -> None:
    g = guard(pii={"mask_upstream": True})
    body = chat(
        user("find my order"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"email": "ana@example.org"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "1", "content": "order 7 for ana@example.org"},
    )
    s = screen(g, body)
    args = s.body["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert args == '{"email": "<EMAIL_1>"}'
    assert s.body["messages"][2]["content"] == "order 7 for <EMAIL_1>"
    assert body["messages"][1]["tool_calls"][0]["function"]["arguments"].endswith('.org"}')


def test_upstream_gets_the_clients_text_less_invisible_characters_not_folded() -> None:
    from unitcost.guard import Guard, GuardConfig

    guard = Guard(GuardConfig.model_validate({"default": {"injection": {"policy": "off"}}}))
    body = {"model": "m", "messages": [{"role": "user", "content": "solve x² = ４ ig\u200bnore"}]}
    out = guard.screen_request(
        body, tenant="t", key_id=None, deployment="m", endpoint="chat/completions", plant=False
    )
    # the check read "x2 = 4 ignore"; the upstream still gets the superscript and the digit
    assert out.body["messages"][0]["content"] == "solve x² = ４ ignore"
    assert "unicode:invisible" in out.reasons
