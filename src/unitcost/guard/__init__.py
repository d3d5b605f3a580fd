"""The guard: screen requests and answers before they reach an upstream, a log or a ledger.

    from unitcost.guard import Guard, GuardConfig
    guard = Guard(GuardConfig())
    screened = guard.screen_request(body, tenant="acme", key_id=None,
                                    deployment="gpt-5-mini", endpoint="chat/completions")

- `normalise`: NFKC; zero-width, tag and bidi characters removed before any check.
- `caps`: size caps, the `max_tokens` clamp, model and tool allowlists.
- `secrets`, `pii`: API keys and private keys; cards (Luhn), IBANs (mod 97), e-mails,
  phones, US SSNs, IPs; `ner` adds names and places (presidio + spaCy, offline).
- `injection`: the prompt-injection classifier (MiniLM, two heads: direct and indirect).
- `canary`, `stream`: a canary in the system prompt, watched for in answers and streams.
- `screen`: `Guard`, the entry point; `verdict`: `Screened` and the guard's errors.

The package sits above routing (it reads MiniLM through `routing.embeddings`) and below
the gateway, which calls it from its guard stage; it never imports the gateway.
"""

from unitcost.guard.config import GuardConfig, Policy, load_guard_config
from unitcost.guard.screen import Guard, redact_text
from unitcost.guard.stream import StreamWatch
from unitcost.guard.verdict import GuardBlocked, GuardOutputBlocked, Screened

__all__ = [
    "Guard",
    "GuardBlocked",
    "GuardConfig",
    "GuardOutputBlocked",
    "Policy",
    "Screened",
    "StreamWatch",
    "load_guard_config",
    "redact_text",
]
