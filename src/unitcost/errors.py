"""The one exception tree of unitcost.

    UnitcostError
    ├── InputError            bad input from a person: CLI exit code 2, HTTP 400
    │   ├── CatalogLookupError    unknown accelerator / model / preset (lists what is known)
    │   ├── NotFoundError         unknown model or route over HTTP (404)
    │   └── MethodNotAllowed      a known path asked with the wrong method (405, Allow)
    ├── AuthError             missing or wrong API key (401)
    ├── PermissionDenied      a tenant key asking for another tenant's data (403)
    ├── PayloadTooLarge       request body over the configured limit (413)
    ├── LimitExceeded         rate limit exhausted (429, Retry-After)
    │   └── BudgetExceeded        a budget or cost cap would be exceeded (429, budget_exceeded)
    ├── Unavailable           a dependency the gateway needs is down (503), e.g. Redis
    ├── GuardBlocked          the guard's policy refuses the request (400, guard_blocked)
    ├── UpstreamError         an upstream answered with an error or broke (502)
    │   ├── UpstreamTimeout       connect, first-token or between-token timeout (504)
    │   └── GuardOutputBlocked    an answer withheld: it repeated the canary (502)
    └── LedgerError           the ledger could not be read or written

Every message is one line that says what was wrong and what is accepted, so the CLI
can print it as is and the gateway can put it in an OpenAI-shaped error body.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

__all__ = [
    "AuthError",
    "BudgetExceeded",
    "CatalogLookupError",
    "GuardBlocked",
    "GuardOutputBlocked",
    "InputError",
    "LedgerError",
    "LimitExceeded",
    "MethodNotAllowed",
    "NotFoundError",
    "PayloadTooLarge",
    "PermissionDenied",
    "Unavailable",
    "UnitcostError",
    "UpstreamError",
    "UpstreamTimeout",
    "describe_validation_error",
]


class UnitcostError(Exception):
    """Base of every error unitcost raises on purpose."""

    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code  # an instance's code overrides its class's
        #: response headers this error asks for, e.g. {"retry-after": "3"}
        self.headers = headers or {}

    def to_openai(self) -> dict[str, Any]:
        """The error as OpenAI's API shapes it: {"error": {message, type, param, code}}."""
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


class InputError(UnitcostError):
    """Input that cannot be used: a malformed file, a bad flag, an invalid field."""

    status_code = 400
    error_type = "invalid_request_error"


class CatalogLookupError(InputError):
    """A name the catalog does not know; the message lists the names it does."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        names = ", ".join(sorted(known))
        super().__init__(f"unknown {kind} {name!r}; the catalog knows: {names}", param=kind)


class NotFoundError(InputError):
    status_code = 404
    code = "model_not_found"


class MethodNotAllowed(InputError):
    status_code = 405
    code = "method_not_allowed"


class AuthError(UnitcostError):
    status_code = 401
    error_type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(UnitcostError):
    status_code = 403
    error_type = "permission_error"


class PayloadTooLarge(InputError):
    status_code = 413
    code = "request_too_large"


class LimitExceeded(UnitcostError):
    status_code = 429
    error_type = "rate_limit_error"
    code = "rate_limit_exceeded"


class BudgetExceeded(LimitExceeded):
    """Admitting the call could spend more than a budget has left (or its per-request cap)."""

    error_type = "insufficient_quota"
    code = "budget_exceeded"


class Unavailable(UnitcostError):
    status_code = 503
    error_type = "service_unavailable"
    code = "unavailable"


class UpstreamError(UnitcostError):
    status_code = 502
    error_type = "upstream_error"


class UpstreamTimeout(UpstreamError):
    status_code = 504
    code = "upstream_timeout"


class LedgerError(UnitcostError):
    pass


class GuardBlocked(UnitcostError):
    """A request the guard's policy refuses (HTTP 400)."""

    status_code = 400
    error_type = "invalid_request_error"
    code = "guard_blocked"

    def __init__(self, reasons: list[str], scope: str) -> None:
        super().__init__(
            f"request blocked by the guard ({', '.join(reasons)}); remove what is named, or"
            f" ask an admin to change the guard policy for {scope}",
            param="messages",
        )
        self.reasons = reasons


class GuardOutputBlocked(UpstreamError):
    """An answer withheld because it repeated the deployment's canary (HTTP 502)."""

    code = "guard_canary"

    def __init__(self, deployment: str) -> None:
        super().__init__(
            f"answer from {deployment!r} withheld by the guard: it repeated the system"
            " prompt's canary (a prompt leak); the request was recorded"
        )
        self.reasons = ["canary:leak"]


_TYPE_MISMATCH = {
    "float_type",
    "float_parsing",
    "model_type",
    "dict_type",
    "int_type",
    "int_parsing",
    "model_attributes_type",
}
_UNION_TAGS = {"float", "int", "Range", "str", "none", "constrained-float"}


def _path(parts: list[Any], data: Any) -> str:
    """`deployments[fast].backend` where the list item has a name, `items.3.x` otherwise:
    a config's reader finds `name: fast`, not the fourth entry, by searching."""
    out, node = "", data
    for part in parts:
        label = f".{part}"
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            name = node.get("name") if isinstance(node, dict) else None
            if isinstance(name, str) and name:
                label = f"[{name}]"
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            node = None
        out += label
    return out.removeprefix(".")


def describe_validation_error(exc: Any, prefix: str = "", data: Any = None) -> str:
    """One line from a pydantic ValidationError: `field.path: what was wrong (got X)`.
    With the validated `data`, a list item that has a `name` is named by it.

    A field that takes "a number or a range" fails both branches of the union; the branch
    that matches the input's shape says what was really wrong, so type mismatches of the
    other branch are dropped.
    """
    errors = exc.errors()
    real = [e for e in errors if e["type"] not in _TYPE_MISMATCH] or errors
    first = real[0]
    parts = [
        p for p in first["loc"] if str(p) not in _UNION_TAGS and not str(p).startswith("function-")
    ]
    loc = _path(parts, data)
    where = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "input")
    msg = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] in _TYPE_MISMATCH and len(real) > 1:
        msg = "expected a number or a range {low, mode, high}"
    got = first.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    more = len({tuple(e["loc"][:1]) for e in real}) - 1
    tail = f" [+{more} more]" if more > 0 else ""
    return f"{where}: {msg}{shown}{tail}"
