from pathlib import Path

import pytest

from unitcost.errors import AuthError, InputError
from unitcost.gateway.auth import Keyring
from unitcost.gateway.server import startup_line
from unitcost.gateway.settings import GatewaySettings, hash_key, load_settings

DEPLOYMENT = {"name": "d", "backend": "replay", "options": {"model": "gpt-5-mini"}}


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "g.yaml"
    f.write_text("port: 8100\nadmin_key: s3cret\ndeployments:\n  - {name: d, backend: replay}\n")
    assert load_settings(f).port == 8100
    monkeypatch.setenv("UNITCOST_PORT", "8200")
    settings = load_settings(f)
    assert settings.port == 8200
    assert "s3cret" not in repr(settings)  # secrets never print


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"deployments": []}, "deployments: List should have at least 1 item"),
        ({"deployments": [DEPLOYMENT, DEPLOYMENT]}, "deployments: duplicate name 'd'"),
        ({"deployments": [DEPLOYMENT], "port": 70000}, "port: Input should be less than or equal"),
        ({"deployments": [DEPLOYMENT], "colour": 1}, "colour: Extra inputs are not permitted"),
        # a list item with a name is named by it (the config's reader searches for it)
        ({"deployments": [{**DEPLOYMENT, "backend": "x"}]}, r"deployments\[d\]\.backend: unknown"),
        ({"deployments": [{"backend": "openai"}]}, r"deployments\.0\.name: Field required"),
        (
            {"deployments": [DEPLOYMENT], "tenants": [{"name": "acme", "rpm": 0}]},
            r"tenants\[acme\]\.rpm: Extra inputs",
        ),
    ],
)
def test_bad_settings_name_the_field(values: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_settings(None, **values)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("port: [1,\n")
    with pytest.raises(InputError, match="not valid YAML at line"):
        load_settings(bad)


def test_keys_are_matched_by_hash() -> None:
    settings = load_settings(
        None,
        deployments=[DEPLOYMENT],
        admin_key="adm",
        tenants=[
            {"name": "acme", "key_sha256": [hash_key("k1")]},
            {"name": "globex", "keys": ["k2"]},
        ],
    )
    ring = Keyring(settings)
    assert ring.authenticate(b"Bearer k1").tenant == "acme"
    assert ring.authenticate(b"bearer k2").tenant == "globex"
    assert ring.authenticate(b"Bearer adm").admin
    assert "k1" not in str(ring.tenants)
    for header, message in (
        (None, "missing API key"),
        (b"Basic k1", "malformed"),
        (b"Bearer nope", "invalid API key"),
    ):
        with pytest.raises(AuthError, match=message):
            ring.authenticate(header)


def test_a_gateway_with_no_keys_is_open() -> None:
    ring = Keyring(load_settings(None, deployments=[DEPLOYMENT]))
    assert ring.open and ring.authenticate(None).tenant == "anonymous"


def test_an_unset_variable_is_a_start_up_error_naming_it(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("UNITCOST_TEST_ADMIN", raising=False)
    path = tmp_path / "gateway.yaml"
    path.write_text(
        "admin_key: ${UNITCOST_TEST_ADMIN}\n"
        "deployments: [{name: d, backend: replay, options: {model: gpt-5-mini}}]\n"
    )
    with pytest.raises(InputError, match=r"gateway.yaml:1: \$\{UNITCOST_TEST_ADMIN\} is not set"):
        load_settings(path)
    monkeypatch.setenv("UNITCOST_TEST_ADMIN", "sk-admin")
    assert load_settings(path).admin_key.get_secret_value() == "sk-admin"  # type: ignore[union-attr]
    path.write_text(path.read_text().replace("ADMIN}", "ADMIN:-}"))
    monkeypatch.delenv("UNITCOST_TEST_ADMIN")
    assert load_settings(path).admin_key is None  # an explicit empty default: no admin key


def test_budgets_across_workers_need_redis() -> None:
    with pytest.raises(InputError, match="limits.backend: memory cannot share budgets"):
        load_settings(
            None,
            workers=2,
            deployments=[DEPLOYMENT],
            tenants=[{"name": "acme", "keys": ["k"], "budget_usd_per_month": 5}],
        )
    ok = load_settings(
        None,
        workers=2,
        limits={"backend": "redis"},
        deployments=[DEPLOYMENT],
        tenants=[{"name": "acme", "keys": ["k"], "budget_usd_per_month": 5}],
    )
    assert ok.workers == 2


def test_named_keys_carry_their_own_id_and_the_metrics_key_reads_metrics_only() -> None:
    settings = load_settings(
        None,
        deployments=[DEPLOYMENT],
        metrics_key="sk-metrics",
        tenants=[
            {"name": "acme", "api_keys": [{"name": "ci-bot", "key": "sk-bot"}], "keys": ["k"]}
        ],
    )
    ring = Keyring(settings)
    assert ring.authenticate(b"Bearer sk-bot").key_id == "ci-bot"
    assert ring.authenticate(b"Bearer k").key_id == hash_key("k")[:12]
    assert ring.authenticate(b"Bearer sk-metrics").metrics_only
    with pytest.raises(InputError, match="the same API key is configured twice"):
        load_settings(
            None,
            deployments=[DEPLOYMENT],
            tenants=[{"name": "a", "keys": ["same"]}, {"name": "b", "keys": ["same"]}],
        )


def test_the_startup_line_agrees_in_number_and_fits_80_columns() -> None:
    settings = GatewaySettings.model_validate(
        {
            "deployments": [DEPLOYMENT, {**DEPLOYMENT, "name": "e"}],
            "routes": [{"name": "auto", "policy": "fallback", "deployments": ["d", "e"]}],
            "ledger": {"url": "postgresql://ledger:s3cret@db.internal:5432/unitcost_ledger"},
        }
    )
    text = startup_line(settings)
    assert "2 deployments, 1 route, " in text and text.endswith("1 worker")
    assert "s3cret" not in text and all(len(line) <= 80 for line in text.splitlines())
