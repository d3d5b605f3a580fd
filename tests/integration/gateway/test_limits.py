"""Per-tenant rate limits and monthly budgets, answered with OpenAI's 429."""

from __future__ import annotations

import openai
import pytest

from tests.conftest import TENANT_KEYS, fake_deployment, serving
from unitcost.gateway.settings import load_settings

HI = [{"role": "user", "content": "hi"}]


def settings(tmp_path, upstream, **tenant: object):  # type: ignore[no-untyped-def]
    return load_settings(
        None,
        ledger={"url": f"sqlite:///{tmp_path}/l.db", "interval_s": 0.01},
        tenants=[
            {"name": "acme", "keys": [TENANT_KEYS["acme"]], **tenant},
            {"name": "globex", "keys": [TENANT_KEYS["globex"]]},
        ],
        deployments=[fake_deployment(upstream)],
    )


def test_requests_per_minute(tmp_path, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    with serving(settings(tmp_path, fake_upstream, requests_per_minute=3)) as gw:
        for _ in range(3):
            gw.client().chat.completions.create(model="fake", messages=HI)
        with pytest.raises(openai.RateLimitError) as info:
            gw.client().chat.completions.create(model="fake", messages=HI)
        assert "over its 3 requests per minute" in info.value.body["message"]
        gw.client(key=TENANT_KEYS["globex"]).chat.completions.create(model="fake", messages=HI)
        assert fake_upstream.behaviour.calls == 4


def test_monthly_budget_survives_a_restart(tmp_path, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    cost = (12 * 1.0 + 10 * 2.0) / 1e6  # fake usage at the test card's prices
    config = settings(tmp_path, fake_upstream, budget_usd_per_month=cost * 2.5)
    with serving(config) as gw:
        for _ in range(3):  # admitted while spend < budget: the third overshoots it
            gw.client().chat.completions.create(model="fake", messages=HI)
        with pytest.raises(openai.RateLimitError) as info:
            gw.client().chat.completions.create(model="fake", messages=HI)
        assert "budget for the month starting" in info.value.body["message"]
        gw.flush()
    with serving(config) as gw, pytest.raises(openai.RateLimitError):  # spend from the ledger
        gw.client().chat.completions.create(model="fake", messages=HI)
    assert fake_upstream.behaviour.calls == 3
