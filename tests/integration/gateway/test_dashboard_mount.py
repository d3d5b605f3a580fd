"""The dashboard on the gateway: the page is public, its API needs the admin key."""

from __future__ import annotations

import time

import httpx

from tests.conftest import ADMIN_KEY, TENANT_KEYS, fake_deployment


def test_the_gateway_serves_its_dashboard_behind_the_admin_key(run_gateway, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway([fake_deployment(fake_upstream)])
    gw.client().chat.completions.create(model="fake", messages=[{"role": "user", "content": "hi"}])
    gw.flush()
    page = httpx.get(gw.url + "/dashboard")
    assert page.status_code == 200 and "<html" in page.text.lower()
    api = gw.url + "/dashboard/api/summary"
    assert httpx.get(api).status_code == 401
    tenant = httpx.get(api, headers={"authorization": f"Bearer {TENANT_KEYS['acme']}"})
    assert tenant.status_code == 401  # a tenant's key is not the admin's
    # refusals in the gateway's OpenAI shape, like every other endpoint's
    assert set(tenant.json()["error"]) == {"message", "type", "param", "code"}
    posted = httpx.post(api)
    assert posted.status_code == 405 and posted.json()["error"]["code"] == "method_not_allowed"
    admin = f"Bearer {ADMIN_KEY}"
    twice = httpx.get(api, headers=[("authorization", "Bearer x"), ("authorization", admin)])
    assert twice.status_code == 400 and twice.json()["error"]["param"] == "authorization"
    missing = httpx.get(gw.url + "/dashboard/api/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    deadline = time.time() + 20
    while True:  # the dashboard refreshes from the ledger in the background
        data = httpx.get(api, headers={"authorization": f"Bearer {ADMIN_KEY}"}).json()
        if "acme" in str(data) or time.time() > deadline:
            break
        time.sleep(0.2)
    assert "acme" in str(data)
