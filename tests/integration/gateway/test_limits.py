"""Budgets with holds, rate limits and cost caps, answered with OpenAI's 429."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from tests.conftest import TENANT_KEYS, fake_deployment, serving
from unitcost.gateway.settings import load_settings
from unitcost.testing import FakeUpstream

HI = [{"role": "user", "content": "hi"}]
#: the fake answers 10 completion tokens; at $200/M output and $0 input a call is $0.002
CALL_USD = 0.002


def priced(upstream: FakeUpstream, **options: object) -> dict[str, object]:
    dep = fake_deployment(upstream, **options)
    dep["price"] = {
        "list_price": {"input_usd_per_m": 0.0, "output_usd_per_m": 200.0, "source": "test card"}
    }
    return dep


def settings(tmp_path, upstream, deployment=None, **tenant: object):  # type: ignore[no-untyped-def]
    return load_settings(
        None,
        port=0,
        ledger={"url": f"sqlite:///{tmp_path}/l.db", "interval_s": 0.01},
        tenants=[
            {"name": "acme", "keys": [TENANT_KEYS["acme"]], **tenant},
            {"name": "globex", "keys": [TENANT_KEYS["globex"]]},
        ],
        deployments=[deployment or priced(upstream)],
    )


async def _race(url: str, key: str, n: int, **extra: object) -> list[httpx.Response]:
    body = {"model": "fake", "messages": HI, "max_tokens": 10, **extra}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=n)) as client:
        return await asyncio.gather(
            *(
                client.post(
                    f"{url}/v1/chat/completions",
                    json=body,
                    headers={"authorization": f"Bearer {key}"},
                )
                for _ in range(n)
            )
        )


def test_a_200_way_race_admits_exactly_what_the_budget_holds(tmp_path, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    fake_upstream.behaviour.delay_s = 0.2  # every call is in flight while the others arrive
    with serving(settings(tmp_path, fake_upstream, budget_usd_per_month=5 * CALL_USD)) as gw:
        replies = asyncio.run(_race(gw.url, TENANT_KEYS["acme"], 200))
        ok = [r for r in replies if r.status_code == 200]
        refused = [r for r in replies if r.status_code == 429]
        assert len(ok) == 5 and len(refused) == 195
        error = refused[0].json()["error"]
        assert error["code"] == "budget_exceeded" and error["type"] == "insufficient_quota"
        assert "budget for" in error["message"] and "$0.0100" in error["message"]
        assert refused[0].headers["retry-after"].isdigit()
        rows = gw.records(expect=200)
        assert sum(r.cost_nanos for r in rows) <= 5 * CALL_USD * 1e9
        assert sum(1 for r in rows if r.status == "ok") == 5
        assert sum(1 for r in rows if r.status == "rejected" and r.http_status == 429) == 195
        assert {r.hold_micros for r in rows if r.status == "ok"} == {2_000}
        assert fake_upstream.behaviour.calls == 5


def test_max_tokens_is_sent_and_clamped_so_the_hold_covers_the_call(
    tmp_path, fake_upstream
) -> None:  # type: ignore[no-untyped-def]
    fake_upstream.behaviour.keep_bodies = True
    dep = priced(fake_upstream)
    dep["max_output_tokens"] = 10
    with serving(settings(tmp_path, fake_upstream, dep, budget_usd_per_month=1.0)) as gw:
        client = gw.client()
        client.chat.completions.create(model="fake", messages=HI)  # no max_tokens given
        client.chat.completions.create(model="fake", messages=HI, max_tokens=5000)
        import json

        sent = [json.loads(b) for b in fake_upstream.behaviour.bodies]
        assert [b["max_tokens"] for b in sent] == [10, 10]
        rows = gw.records(expect=2)
        assert all(r.cost_nanos <= r.hold_micros * 1000 for r in rows)


def test_best_of_is_held_for_every_candidate_it_bills(tmp_path, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    """A completion with best_of=5 generates (and bills) five candidates: the hold covers
    five, so a budget that fits three calls refuses it (it was held as one and admitted)."""
    with serving(settings(tmp_path, fake_upstream, budget_usd_per_month=3 * CALL_USD)) as gw:
        client = gw.client()
        with pytest.raises(openai.RateLimitError) as info:
            client.completions.create(model="fake", prompt="hi", max_tokens=10, best_of=5)
        assert info.value.body["code"] == "budget_exceeded"
        client.completions.create(model="fake", prompt="hi", max_tokens=10, best_of=2)
        ok = [r for r in gw.records(expect=2) if r.status == "ok"]
        assert [r.hold_micros for r in ok] == [2 * 2_000]
        with pytest.raises(openai.BadRequestError, match="best_of: must be an integer from 1"):
            client.completions.create(model="fake", prompt="hi", max_tokens=10, best_of=10**6)


def test_an_upstream_that_bills_past_max_tokens_is_recorded_as_billed_and_logged(
    tmp_path, fake_upstream, caplog
) -> None:  # type: ignore[no-untyped-def]
    fake_upstream.behaviour.completion_tokens = 1_000  # sent max_tokens=10, generates 1,000
    with serving(settings(tmp_path, fake_upstream, budget_usd_per_month=1.0)) as gw:
        with caplog.at_level("WARNING", logger="unitcost.gateway"):
            gw.client().chat.completions.create(model="fake", messages=HI, max_tokens=10)
        (row,) = gw.records(expect=1)
        assert row.completion_tokens == 1_000 and row.cost_nanos == 200_000_000  # as billed
        assert row.hold_micros == 2_000
        assert any(
            "deployment fake billed 1000 output tokens for a call sent max_tokens allowing 10"
            in r.getMessage()
            for r in caplog.records
        )


def test_a_call_sent_no_max_tokens_is_not_warned_about(tmp_path, fake_upstream, caplog) -> None:  # type: ignore[no-untyped-def]
    """A tenant with only a tokens-per-minute limit counts tokens but is sent no max_tokens:
    its hold covers the prompt alone, and that is no upstream's fault."""
    with serving(settings(tmp_path, fake_upstream, tokens_per_minute=1_000_000)) as gw:
        with caplog.at_level("WARNING", logger="unitcost.gateway"):
            gw.client().chat.completions.create(model="fake", messages=HI)
        (row,) = gw.records(expect=1)
        assert row.completion_tokens == 10 and row.cost_nanos > row.hold_micros * 1000
        assert not [r for r in caplog.records if "output tokens" in r.getMessage()]


def test_a_budget_survives_a_restart(tmp_path, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    config = settings(tmp_path, fake_upstream, budget_usd_per_month=3 * CALL_USD)
    with serving(config) as gw:
        for _ in range(3):
            gw.client().chat.completions.create(model="fake", messages=HI, max_tokens=10)
        with pytest.raises(openai.RateLimitError) as info:
            gw.client().chat.completions.create(model="fake", messages=HI, max_tokens=10)
        assert info.value.body["code"] == "budget_exceeded"
        gw.flush()
    with serving(config) as gw, pytest.raises(openai.RateLimitError):  # spend from the ledger
        gw.client().chat.completions.create(model="fake", messages=HI, max_tokens=10)
    assert fake_upstream.behaviour.calls == 3


def test_key_and_feature_budgets_apply_with_the_tenants(tmp_path, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    config = settings(
        tmp_path,
        fake_upstream,
        budget_usd_per_month=1.0,
        api_keys=[{"name": "ci-bot", "key": "sk-ci-bot", "budget_usd_per_month": CALL_USD}],
        feature_budgets_usd_per_month={"search": 2 * CALL_USD},
    )
    with serving(config) as gw:
        bot = gw.client(key="sk-ci-bot")
        bot.chat.completions.create(model="fake", messages=HI, max_tokens=10)
        with pytest.raises(openai.RateLimitError) as info:
            bot.chat.completions.create(model="fake", messages=HI, max_tokens=10)
        assert "key 'ci-bot' of tenant 'acme' budget" in info.value.body["message"]
        search = gw.client(default_headers={"x-unitcost-feature": "search"})
        for _ in range(2):
            search.chat.completions.create(model="fake", messages=HI, max_tokens=10)
        with pytest.raises(openai.RateLimitError) as info:
            search.chat.completions.create(model="fake", messages=HI, max_tokens=10)
        assert "feature 'search'" in info.value.body["message"]
        gw.client().chat.completions.create(model="fake", messages=HI, max_tokens=10)
        rows = [r for r in gw.records(expect=6) if r.status == "ok"]
        assert rows[0].key_id == "ci-bot"
        assert fake_upstream.behaviour.calls == 4


def test_a_per_call_cost_cap_names_max_tokens(tmp_path, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    with serving(settings(tmp_path, fake_upstream, max_request_usd=CALL_USD)) as gw:
        gw.client().chat.completions.create(model="fake", messages=HI, max_tokens=10)
        with pytest.raises(openai.RateLimitError) as info:
            gw.client().chat.completions.create(model="fake", messages=HI, max_tokens=11)
        assert info.value.body["param"] == "max_tokens" and "per call" in info.value.body["message"]
    assert fake_upstream.behaviour.calls == 1


def test_requests_per_minute_say_when_to_retry(tmp_path, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    with serving(settings(tmp_path, fake_upstream, requests_per_minute=3)) as gw:
        for _ in range(3):
            gw.client().chat.completions.create(model="fake", messages=HI)
        raw = httpx.post(
            f"{gw.url}/v1/chat/completions",
            json={"model": "fake", "messages": HI},
            headers={"authorization": f"Bearer {TENANT_KEYS['acme']}"},
        )
        assert raw.status_code == 429 and int(raw.headers["retry-after"]) >= 1
        assert raw.json()["error"]["code"] == "rate_limit_exceeded"
        assert "3 requests per minute" in raw.json()["error"]["message"]
        gw.client(key=TENANT_KEYS["globex"]).chat.completions.create(model="fake", messages=HI)
        assert fake_upstream.behaviour.calls == 4


def test_negative_usage_cannot_credit_a_budget(tmp_path, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    """An upstream claiming -3,000,000 tokens is metered with the tokenizer instead."""
    fake_upstream.behaviour.usage_override = {"prompt_tokens": -3_000_000, "completion_tokens": -5}
    with serving(settings(tmp_path, fake_upstream, budget_usd_per_month=2 * CALL_USD)) as gw:
        reply = gw.client().chat.completions.create(model="fake", messages=HI, max_tokens=10)
        assert reply.choices[0].message.content
        (row,) = gw.records(expect=1)
        assert row.tokens_estimated and row.cost_nanos > 0 and row.completion_tokens > 0
        fake_upstream.behaviour.usage_override = None
        gw.client().chat.completions.create(model="fake", messages=HI, max_tokens=10)
        with pytest.raises(openai.RateLimitError):
            gw.client().chat.completions.create(model="fake", messages=HI, max_tokens=10)
