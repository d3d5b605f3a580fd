"""Turn an API key into a principal (a tenant and its key), or refuse with 401."""

from __future__ import annotations

from unitcost.errors import PermissionDenied
from unitcost.gateway.auth import Keyring, Principal

__all__ = ["authenticate"]


def authenticate(keyring: Keyring, authorization: bytes | None) -> Principal:
    principal = keyring.authenticate(authorization)
    if principal.metrics_only:
        raise PermissionDenied("the metrics key may read /metrics only")
    return principal
