"""What every backend provides: `Upstream` (the base class), `Call` and `Reply`.

Backends are found by kind in `registry.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from unitcost.economics.pricing import PriceCard

__all__ = ["Call", "Reply", "Upstream"]


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
    #: seconds from sending a call to its first token, streams included (None: no limit)
    first_token_timeout: float | None = None

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

    def default_max_output_tokens(self) -> int | None:
        """The most a call may generate when the deployment sets no `max_output_tokens`."""
        return None

    def default_tokenizer(self) -> str | None:
        """The tokenizer spec a deployment uses when its config names none (local: its GGUF)."""
        return None

    def prompt_tokens(self, body: dict[str, Any]) -> int | None:
        """The prompt's exact token count where the backend knows it (replay does)."""
        return None
