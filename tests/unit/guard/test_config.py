"""Overrides merge field by field; a bad field fails at load with its path."""

from __future__ import annotations

import pytest

from unitcost.errors import InputError
from unitcost.guard import GuardConfig, load_guard_config


def test_overrides_merge_in_order_default_deployment_tenant_key() -> None:
    cfg = GuardConfig.model_validate(
        {
            "default": {"secrets": "redact", "pii": {"block": True}},
            "deployments": {"d": {"canary": False, "secrets": "off"}},
            "tenants": {"acme": {"pii": {"mask_upstream": True}, "secrets": "block"}},
            "keys": {"k": {"caps": {"max_tokens": 64}}},
        }
    )
    p = cfg.policy(tenant="acme", key_id="k", deployment="d")
    assert p.pii.block and p.pii.mask_upstream and p.pii.redact_records  # merged, not replaced
    assert p.secrets == "block" and not p.canary and p.caps.max_tokens == 64
    assert cfg.policy(tenant="other", deployment="d").secrets == "off"
    assert cfg.policy().secrets == "redact"
    assert cfg.policy(tenant="acme", key_id="k", deployment="d") is p  # resolved once


def test_the_policy_cache_is_bounded_and_answers_as_resolving_does() -> None:
    cfg = GuardConfig.model_validate(
        {"default": {"secrets": "redact"}, "deployments": {"d": {"secrets": "off"}}}
    )
    for i in range(5000):  # the deployment is the client's model name: any string at all
        assert cfg.policy(tenant="acme", deployment=f"model-{i}").secrets == "redact"
    assert cfg._resolve.cache_info().currsize <= 4096
    assert cfg.policy(tenant="acme", deployment="d").secrets == "off"
    assert cfg.policy(tenant="acme", deployment="d") is cfg.policy(tenant="acme", deployment="d")


@pytest.mark.parametrize(
    "data, where",
    [
        (
            {"tenants": {"acme": {"pii": {"mask_upstrem": True}}}},
            "guard.tenants.acme.pii.mask_upstrem",
        ),
        ({"default": {"secrets": "maybe"}}, "guard.default.secrets"),
        ({"keys": {"k": {"caps": {"max_tokens": 0}}}}, "guard.keys.k.caps.max_tokens"),
        ({"unknown": 1}, "guard.unknown"),
    ],
)
def test_bad_fields_name_their_path(data: dict[str, object], where: str) -> None:
    with pytest.raises(InputError) as err:
        load_guard_config(data)
    assert str(err.value).startswith(where)


def test_config_is_frozen() -> None:
    cfg = GuardConfig()
    with pytest.raises(Exception):  # noqa: B017  (pydantic's frozen-instance error)
        cfg.enabled = False  # type: ignore[misc]
