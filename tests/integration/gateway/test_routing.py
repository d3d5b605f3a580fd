"""Routes in the gateway: fallback, retries only before the first byte, rules, weights,
cascade and the learned router, each decision recorded in the ledger with its reason."""

from __future__ import annotations

import openai
import pytest

from tests.conftest import fake_deployment
from unitcost.catalog.replay import load_replay_set

HI = [{"role": "user", "content": "hi"}]


def fallback(name: str = "chain", **extra: object) -> dict[str, object]:
    return {"name": name, "policy": "fallback", "deployments": ["primary", "backup"], **extra}


def test_fallback_on_a_failing_upstream(run_gateway, fake_upstream, second_upstream) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway(
        [fake_deployment(fake_upstream, "primary"), fake_deployment(second_upstream, "backup")],
        routes=[fallback()],
    )
    fake_upstream.behaviour.fail_next = 1
    reply = gw.client().chat.completions.with_raw_response.create(model="chain", messages=HI)
    assert reply.headers["x-unitcost-deployment"] == "backup"
    first, second = gw.records(expect=2)
    assert (first.deployment, first.status, first.http_status) == ("primary", "upstream_error", 503)
    assert (second.deployment, second.status) == ("backup", "ok")
    assert first.request_id == second.request_id and first.requested == "chain"
    assert second.route_reason == "fallback: primary → backup; primary answered 503 → backup"
    assert second_upstream.behaviour.calls == 1


def test_timeouts_and_rate_limits_fall_back_too(
    run_gateway, fake_upstream, second_upstream
) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway(
        [
            fake_deployment(fake_upstream, "primary", timeouts={"first_token": 0.2}),
            fake_deployment(second_upstream, "backup"),
        ],
        routes=[fallback()],
    )
    fake_upstream.behaviour.delay_s = 1.0
    assert gw.client().chat.completions.create(model="chain", messages=HI).choices
    fake_upstream.behaviour.delay_s = 0.0
    fake_upstream.behaviour.fail_next, fake_upstream.behaviour.fail_status = 1, 429
    assert gw.client().chat.completions.create(model="chain", messages=HI).choices
    statuses = [(r.deployment, r.status) for r in gw.records(expect=4)]
    assert statuses == [
        ("primary", "upstream_timeout"),
        ("backup", "ok"),
        ("primary", "upstream_error"),
        ("backup", "ok"),
    ]


def test_no_retry_after_the_first_byte(run_gateway, fake_upstream, second_upstream) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway(
        [fake_deployment(fake_upstream, "primary"), fake_deployment(second_upstream, "backup")],
        routes=[fallback()],
    )
    fake_upstream.behaviour.die_after_chunks = 2
    with pytest.raises(openai.APIError):
        for _ in gw.client().chat.completions.create(model="chain", messages=HI, stream=True):
            pass
    (record,) = gw.records()
    assert record.deployment == "primary" and record.status == "upstream_error"
    assert second_upstream.behaviour.calls == 0  # bytes had reached the client: no retry


def test_the_retry_budget_caps_fallbacks(run_gateway, fake_upstream, second_upstream) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway(
        [fake_deployment(fake_upstream, "primary"), fake_deployment(second_upstream, "backup")],
        routes=[fallback(retry_budget=0.0)],
    )
    fake_upstream.behaviour.fail_next = 1000
    answered = failed = 0
    for _ in range(14):
        try:
            gw.client().chat.completions.create(model="chain", messages=HI)
            answered += 1
        except openai.APIStatusError as exc:
            assert exc.status_code == 502
            failed += 1
    assert (answered, failed) == (10, 4)  # a burst of 10 retries, then none earned back
    assert second_upstream.behaviour.calls == 10


def test_rules_and_weights(run_gateway, fake_upstream, second_upstream) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway(
        [fake_deployment(fake_upstream, "small"), fake_deployment(second_upstream, "large")],
        routes=[
            {
                "name": "by-length",
                "policy": "rules",
                "default": "small",
                "rules": [
                    {"deployment": "large", "min_prompt_tokens": 50},
                    {"deployment": "large", "tools": True},
                ],
            },
            {"name": "split", "policy": "weighted", "weights": {"small": 3, "large": 1}},
        ],
    )
    client = gw.client()
    client.chat.completions.create(model="by-length", messages=HI)
    client.chat.completions.create(
        model="by-length", messages=[{"role": "user", "content": "word " * 80}]
    )
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    client.chat.completions.create(model="by-length", messages=HI, tools=[tool])
    rows = gw.records(expect=3)
    assert [r.deployment for r in rows] == ["small", "large", "large"]
    assert rows[0].route_reason == "rules: no rule matched → default"
    assert rows[1].route_reason.startswith("rules[0]: prompt 8")
    assert rows[2].route_reason == "rules[1]: tools → large"
    for _ in range(200):
        client.chat.completions.create(model="split", messages=HI)
    split = [r.deployment for r in gw.records(expect=203)][3:]
    assert 120 <= split.count("small") <= 180  # 3:1 by weight


def test_cascade_escalates_when_the_cheap_answer_fails_its_check(
    run_gateway, fake_upstream, second_upstream
) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway(
        [fake_deployment(fake_upstream, "cheap"), fake_deployment(second_upstream, "strong")],
        routes=[
            {
                "name": "careful",
                "policy": "cascade",
                "deployments": ["cheap", "strong"],
                "check": {"require_regex": "Answer: [A-D]"},
            },
            {
                "name": "easy",
                "policy": "cascade",
                "deployments": ["cheap", "strong"],
                "check": {"require_regex": "fixed answer"},
            },
        ],
    )
    chunks = list(gw.client().chat.completions.create(model="careful", messages=HI, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    cheap, strong = gw.records(expect=2)
    assert cheap.deployment == "cheap" and "failed the cascade check" in cheap.route_reason
    assert cheap.cost_usd > 0  # the cheap call was paid for even though it was discarded
    assert strong.deployment == "strong" and "→ strong" in strong.route_reason
    gw.client().chat.completions.create(model="easy", messages=HI)
    assert gw.records(expect=3)[-1].deployment == "cheap"
    assert second_upstream.behaviour.calls == 1


def test_learned_route_sends_hard_prompts_to_the_strong_model(run_gateway) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway(
        [
            {"name": "mini", "backend": "replay", "options": {"model": "gpt-5-mini"}},
            {"name": "pro", "backend": "replay", "options": {"model": "gemini-3.1-pro-preview"}},
        ],
        routes=[
            {
                "name": "auto",
                "policy": "learned",
                "weak": "mini",
                "strong": "pro",
                "strong_share": 0.5,
            }
        ],
    )
    data = load_replay_set()
    for qid in list(data.questions)[:20]:
        gw.client().chat.completions.create(
            model="auto", messages=[{"role": "user", "content": data.questions[qid]["prompt"]}]
        )
    rows = gw.records(expect=20)
    assert {r.deployment for r in rows} <= {"mini", "pro"}
    assert all(r.route_reason.startswith("learned: P(strong needed)") for r in rows)
    assert all(r.requested == "auto" for r in rows)
    models = gw.client().models.list().data
    assert {m.id for m in models} == {"mini", "pro", "auto"}


def test_route_members_must_be_deployments(run_gateway, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    from unitcost.errors import InputError

    with pytest.raises(InputError, match="routes.chain: 'backup' is not a deployment"):
        run_gateway([fake_deployment(fake_upstream, "primary")], routes=[fallback()])


def test_cascade_escalates_when_the_verifier_doubts_the_cheap_answer(
    run_gateway, fake_upstream, second_upstream
) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway(
        [fake_deployment(fake_upstream, "cheap"), fake_deployment(second_upstream, "strong")],
        routes=[
            {
                "name": "doubtful",
                "policy": "cascade",
                "deployments": ["cheap", "strong"],
                "check": {"max_doubt": 0.0},  # every answer is doubted: always escalates
            },
            {
                "name": "trusting",
                "policy": "cascade",
                "deployments": ["cheap", "strong"],
                "check": {"max_doubt": 1.0},
            },
        ],
    )
    gw.client().chat.completions.create(model="doubtful", messages=HI)
    cheap, strong = gw.records(expect=2)
    assert "verifier doubts the answer" in cheap.route_reason and cheap.cost_usd > 0
    assert strong.deployment == "strong"
    gw.client().chat.completions.create(model="trusting", messages=HI)
    assert gw.records(expect=3)[-1].deployment == "cheap"
