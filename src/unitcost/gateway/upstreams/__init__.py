"""Backends, registered by kind: `openai` (any OpenAI-compatible server) and `replay`."""

from unitcost.gateway.upstreams.base import BACKENDS, Call, Reply, Upstream, register

__all__ = ["BACKENDS", "Call", "Reply", "Upstream", "register"]
