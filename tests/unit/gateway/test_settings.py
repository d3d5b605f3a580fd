from pathlib import Path

import pytest

from unitcost.errors import AuthError, InputError
from unitcost.gateway.auth import Keyring
from unitcost.gateway.settings import hash_key, load_settings

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
