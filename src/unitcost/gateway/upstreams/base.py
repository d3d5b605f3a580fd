"""What every backend provides, and the registry that picks one by `kind`.

    @register("my-backend")
    class MyBackend(Upstream):
        class Options(BaseModel): url: str
        async def send(self, call: Call) -> Reply: ...

A deployment's `backend:` names the kind and its `options:` are validated by the
backend's own `Options` model, so a new backend is one module and no change elsewhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from unitcost.economics.pricing import PriceCard
from unitcost.errors import InputError, describe_validation_error

__all__ = ["BACKENDS", "Call", "Reply", "Upstream", "create_upstream", "register"]


@dataclass(slots=True)
class Call:
    """One request to send upstream. `body` is the client's JSON with `model` rewritten."""

    endpoint: str  # "chat/completions", "completions" or "embeddings"
    body: dict[str, Any]
    stream: bool
    call_id: str  # this call's ledger id, sent upstream as x-request-id (a UUID in hex)


class Reply(Protocol):
    """An upstream's answer: status and content type first, then the body."""

    status: int
    content_type: bytes

    async def read(self, timeout: float | None = None) -> bytes: ...

    def chunks(self, timeout: float | None = None) -> AsyncIterator[bytes]: ...

    def abort(self) -> None: ...


class Upstream:
    """Base class of backends; `Options` validates the deployment's `options:`."""

    kind: ClassVar[str]
    Options: ClassVar[type[BaseModel]]
    #: seconds allowed between two streamed chunks (None: no limit)
    between_tokens_timeout: float | None = None

    def __init__(self, deployment: str, options: Any) -> None:
        self.deployment = deployment
        self.options = options

    async def start(self) -> None:
        """Open pools or load data; called once before serving."""

    async def close(self) -> None:
        """Release what start() opened."""

    async def send(self, call: Call) -> Reply:
        raise NotImplementedError

    def models(self) -> list[str]:
        """Upstream model names this backend serves (for `GET /v1/models` metadata)."""
        return []

    def default_price(self) -> PriceCard | None:
        """A price card the backend knows itself (replay: the recorded list price)."""
        return None


BACKENDS: dict[str, type[Upstream]] = {}
U = TypeVar("U", bound=type[Upstream])


def register(kind: str) -> Callable[[U], U]:
    def add(cls: U) -> U:
        cls.kind = kind
        BACKENDS[kind] = cls
        return cls

    return add


def create_upstream(deployment: str, kind: str, options: dict[str, Any], where: str) -> Upstream:
    # Built-in backends register themselves on import.
    from unitcost.gateway.upstreams import openai, replay  # noqa: F401

    cls = BACKENDS.get(kind)
    if cls is None:
        raise InputError(
            f"{where}.backend: unknown {kind!r}; accepted: {', '.join(sorted(BACKENDS))}"
        )
    try:
        parsed = cls.Options.model_validate(options)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, prefix=f"{where}.options")) from None
    return cls(deployment, parsed)
