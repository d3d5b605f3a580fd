"""API keys to tenants. Keys are compared by their SHA-256; no key is stored or logged."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from unitcost.errors import AuthError
from unitcost.gateway.settings import GatewaySettings

__all__ = ["ANONYMOUS", "Keyring", "Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: str
    admin: bool = False


ANONYMOUS = Principal("anonymous")


class Keyring:
    def __init__(self, settings: GatewaySettings) -> None:
        self.tenants: dict[str, Principal] = {}
        for tenant in settings.tenants:
            for digest in tenant.hashes():
                self.tenants[digest.lower()] = Principal(tenant.name)
        self.admin_digest = (
            hashlib.sha256(settings.admin_key.get_secret_value().encode()).hexdigest()
            if settings.admin_key is not None
            else None
        )
        #: with no keys configured at all, the gateway is open (development only)
        self.open = not self.tenants and self.admin_digest is None

    def authenticate(self, authorization: bytes | None) -> Principal:
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
        if self.open:
            return ANONYMOUS
        raise AuthError("invalid API key")
