"""API keys to tenants. Keys are compared by their SHA-256; no key is stored or logged.

    keyring = Keyring(settings)
    keyring.authenticate(b"Bearer sk-...")   # Principal(tenant="acme", key_id="ci-bot")

A key's `key_id` (the ledger's attribution for "which key") is its configured name, or the
first 12 hex digits of its SHA-256 for unnamed keys: enough to tell keys apart, useless to
an attacker.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import SecretStr

from unitcost.errors import AuthError, InputError
from unitcost.gateway.settings import GatewaySettings

__all__ = ["ANONYMOUS", "TWO_KEYS", "Keyring", "Principal", "key_header"]

#: what a request that sent its key header twice presents: refused, whichever copy is good
#: (a proxy in front that reads the first copy and the gateway the last would disagree on
#: who is calling)
TWO_KEYS = b"\x00two key headers"


def key_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The one value of header `name`; `TWO_KEYS` when it came more than once."""
    found = None
    for key, value in headers:
        if key == name:
            found = value if found is None else TWO_KEYS
    return found


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: str
    admin: bool = False
    key_id: str | None = None
    metrics_only: bool = False


ANONYMOUS = Principal("anonymous")


class Keyring:
    def __init__(self, settings: GatewaySettings) -> None:
        self.tenants: dict[str, Principal] = {}
        for tenant in settings.tenants:
            for digest in tenant.hashes():
                self.tenants[digest.lower()] = Principal(tenant.name, key_id=digest.lower()[:12])
            for key in tenant.api_keys:
                self.tenants[key.digest()] = Principal(tenant.name, key_id=key.name)
        self.admin_digest = _digest(settings.admin_key)
        self.metrics_digest = _digest(settings.metrics_key)
        #: with no keys configured at all, the gateway is open (development only)
        self.open = not self.tenants and self.admin_digest is None

    def authenticate(self, authorization: bytes | None) -> Principal:
        if authorization is TWO_KEYS:
            raise InputError(
                "authorization: the key came more than once (two Authorization or x-api-key "
                "headers, or both with different keys); send it once",
                param="authorization",
            )
        if authorization is None:
            if self.open:
                return ANONYMOUS
            raise AuthError("missing API key; send `Authorization: Bearer <key>`")
        scheme, _, key = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise AuthError("malformed Authorization header; accepted: `Bearer <key>`")
        digest = hashlib.sha256(key.strip().encode()).hexdigest()
        found = self.tenants.get(digest)
        if found is not None:
            return found
        if self.admin_digest is not None and hmac.compare_digest(digest, self.admin_digest):
            return Principal("admin", admin=True)
        if self.metrics_digest is not None and hmac.compare_digest(digest, self.metrics_digest):
            return Principal("metrics", metrics_only=True)
        if self.open:
            return ANONYMOUS
        raise AuthError("invalid API key")


def _digest(secret: SecretStr | None) -> str | None:
    return (
        None if secret is None else hashlib.sha256(secret.get_secret_value().encode()).hexdigest()
    )
