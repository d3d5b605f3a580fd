"""Turn an API key into a principal (a tenant and its key), or refuse with 401 or 403."""

from __future__ import annotations

from unitcost.errors import PermissionDenied
from unitcost.gateway.auth import Keyring, Principal

__all__ = ["authenticate"]


def authenticate(keyring: Keyring, authorization: bytes | None) -> Principal:
    """The caller of a model endpoint: a tenant's key (or anyone, on an open gateway). The
    operators' keys do not spend: a call on them would bill a pseudo-tenant no budget binds."""
    principal = keyring.authenticate(authorization)
    if principal.metrics_only:
        raise PermissionDenied("the metrics key may read /metrics only")
    if principal.admin:
        raise PermissionDenied(
            "the admin key reads usage, metrics and the dashboard; model calls need a tenant's key"
        )
    return principal
