"""Backends by kind: the one place that knows which module serves each `backend:` name.

    @register("my-backend")
    class MyBackend(Upstream):
        class Options(BaseModel): url: str
        async def send(self, call: Call) -> Reply: ...

A deployment's `backend:` names the kind and its `options:` are validated by the backend's
own `Options` model. Built-in backends are imported only when a deployment names them (so
an optional dependency loads only when used, and no backend module imports this registry's
callers); a plugin registers itself with `@register` on import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from unitcost.errors import InputError, describe_validation_error
from unitcost.gateway.upstreams.base import Upstream

__all__ = ["BACKENDS", "BUILTIN", "create_upstream", "register"]

#: kind → the module that registers it
BUILTIN = {
    "openai": "unitcost.gateway.upstreams.openai",
    "replay": "unitcost.gateway.upstreams.replay",
    "local": "unitcost.gateway.upstreams.local",
    "anthropic": "unitcost.gateway.upstreams.anthropic",
    "ollama": "unitcost.gateway.upstreams.ollama",
    "triton": "unitcost.gateway.upstreams.triton",
}
BACKENDS: dict[str, type[Upstream]] = {}
U = TypeVar("U", bound=type[Upstream])


def register(kind: str) -> Callable[[U], U]:
    def add(cls: U) -> U:
        cls.kind = kind
        BACKENDS[kind] = cls
        return cls

    return add


def create_upstream(deployment: str, kind: str, options: dict[str, Any], where: str) -> Upstream:
    if kind not in BACKENDS and kind in BUILTIN:
        importlib.import_module(BUILTIN[kind])
    cls = BACKENDS.get(kind)
    if cls is None:
        accepted = sorted({*BUILTIN, *BACKENDS})
        raise InputError(f"{where}.backend: unknown {kind!r}; accepted: {', '.join(accepted)}")
    try:
        parsed = cls.Options.model_validate(options)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, prefix=f"{where}.options")) from None
    return cls(deployment, parsed)
