"""Credentials by their published shapes: found, redacted, and ordinary text left alone."""

from __future__ import annotations

import pytest

from unitcost.guard.secrets import find_secrets, redact_secrets

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    "secret, kind",
    [
        ("sk-proj-" + "a1B2" * 10, "openai_key"),
        ("sk-ant-api03-" + "x9Y8" * 10, "anthropic_key"),
        ("AKIAIOSFODNN7EXAMPLE", "aws_access_key"),
        ("ghp_" + "a" * 36, "github_token"),
        ("xoxb-1234567890-abcdefghij", "slack_token"),
        ("AIza" + "B" * 35, "google_api_key"),
        ("sk_live_" + "c" * 24, "stripe_key"),
        ("hf_" + "d" * 34, "huggingface_token"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "jwt"),
        (PEM, "private_key"),
    ],
)
def test_each_shape_is_found_and_redacted(secret: str, kind: str) -> None:
    text = f"before {secret} after"
    assert [s.kind for s in find_secrets(text)] == [kind]
    assert redact_secrets(text) == f"before <SECRET:{kind}> after"


def test_a_private_key_header_alone_is_found() -> None:
    assert [s.kind for s in find_secrets("-----BEGIN OPENSSH PRIVATE KEY-----")] == ["private_key"]


@pytest.mark.parametrize(
    "text",
    [
        "ask the desk-clerk",
        "sk-short",
        "the AKIA prefix alone",
        "a public key -----BEGIN PUBLIC KEY-----",
    ],
)
def test_ordinary_text_is_not_a_secret(text: str) -> None:
    assert find_secrets(text) == []
