"""Credentials in prompts: API keys and private keys, found by their published shapes.

    find_secrets("my key is sk-proj-abc...xyz")   # [Secret("openai_key", 10, 52)]
    redact_secrets(text)                          # "my key is <SECRET:openai_key>"

Each pattern is a vendor's documented prefix and alphabet, so ordinary text does not match;
a key without a recognisable shape (a bare 32-character hex string) is not caught.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["PATTERNS", "Secret", "find_secrets", "redact_secrets"]

PATTERNS: dict[str, re.Pattern[str]] = {
    "private_key": re.compile(
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----)?"
    ),
    "anthropic_key": re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
    "openai_key": re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    "aws_access_key": re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
    "github_token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
    "slack_token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "google_api_key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
    "stripe_key": re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}"),
    "huggingface_token": re.compile(r"\bhf_[A-Za-z]{34}\b"),
    "jwt": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
}
# one pass over the text instead of ten: a cheap pre-filter on what every pattern starts with
_ANY = re.compile(
    r"-----BEGIN|sk-|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|xox|AIza|"
    r"[sr]k_(?:live|test)_|hf_|eyJ"
)


class Secret(NamedTuple):
    kind: str
    start: int
    end: int


def find_secrets(text: str) -> list[Secret]:
    if not _ANY.search(text):
        return []
    found: list[Secret] = []
    for kind, pattern in PATTERNS.items():
        for m in pattern.finditer(text):
            if not any(s.start < m.end() and m.start() < s.end for s in found):
                found.append(Secret(kind, m.start(), m.end()))
    return sorted(found, key=lambda s: s.start)


def redact_secrets(text: str, found: list[Secret] | None = None) -> str:
    found = find_secrets(text) if found is None else found
    for s in reversed(found):
        text = f"{text[: s.start]}<SECRET:{s.kind}>{text[s.end :]}"
    return text
