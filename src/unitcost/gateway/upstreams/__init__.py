"""Backends, registered by kind (see `registry.BUILTIN`): `openai` and `replay`."""

from unitcost.gateway.upstreams.base import Call, Reply, Upstream
from unitcost.gateway.upstreams.registry import BACKENDS, create_upstream, register

__all__ = ["BACKENDS", "Call", "Reply", "Upstream", "create_upstream", "register"]
