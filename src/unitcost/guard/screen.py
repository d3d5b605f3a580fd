"""The guard's one entry point for the gateway: screen a request, its answer, its stream.

    guard = Guard(GuardConfig())
    s = guard.screen_request(body, tenant="acme", key_id="k1", deployment="gpt-5-mini",
                             endpoint="chat/completions")
    if s.blocked:
        raise s.error()
    answer = guard.screen_answer(upstream_bytes, s)     # restores placeholders; canary → 502
    watch = guard.stream_watch(s)                       # None when there is nothing to watch
    log.info(guard.redact(message))                      # every sink: no raw PII or secrets

Order inside `screen_request`, cheapest and most certain first: allowlists and caps (refuse
before reading any text), then per text: Unicode normalisation, secrets, personal data;
then prompt-injection scores on the newest user message and on tool or retrieved content
after the last assistant turn (earlier turns were screened when they were new); then the
`max_tokens` clamp and the canary. `deployment` is the name the client asked for in `model`
(a deployment or a route): policies are chosen before routing picks a deployment.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from unitcost.errors import InputError
from unitcost.guard.canary import canary_for, contains_canary, plant_canary
from unitcost.guard.caps import clamp_max_tokens, outside_allowlists, over_caps
from unitcost.guard.config import GuardConfig, Policy
from unitcost.guard.fields import Where, map_texts
from unitcost.guard.mask import Masker, restore
from unitcost.guard.normalise import normalise, strip_invisible
from unitcost.guard.pii import Finding, find_pii, redact_pii
from unitcost.guard.secrets import find_secrets, redact_secrets
from unitcost.guard.stream import StreamWatch
from unitcost.guard.verdict import Action, GuardOutputBlocked, Screened

__all__ = ["Guard", "redact_text"]

_LABEL = re.compile(r"[^a-z0-9_:.%<>=-]")


def redact_text(text: str) -> str:
    """Any text bound for a sink, with secrets and personal data replaced by their kind."""
    clean = normalise(text).text
    return redact_pii(redact_secrets(clean))


class Guard:
    def __init__(self, config: GuardConfig | None = None, classifier: Any = None) -> None:
        self.config = config or GuardConfig()
        self._classifier = classifier
        self._ner: Any = None
        self.injection_available = classifier is not None
        self._canaries: dict[str, str] = {}
        self._warming = threading.Lock()  # one load, however many requests arrive during it

    def warm(self) -> None:
        """Load the injection classifier (and the NER tier where a policy asks for it) now,
        not on the first request; fail at start-up if a blocking policy cannot run."""
        with self._warming:
            self._warm()

    def _warm(self) -> None:
        if self._classifier is None and self._wants_injection():
            try:
                from unitcost.guard.injection import default_classifier

                self._classifier = default_classifier()
                self.injection_available = True
            except (InputError, ImportError) as exc:
                if self._wants_injection(block_only=True):
                    raise InputError(
                        f"guard.injection.policy is block but the classifier cannot load: {exc}"
                    ) from None
        if self._ner is None and self._wants("ner"):
            from unitcost.guard.ner import NerTier

            self._ner = NerTier()

    def policies(self) -> list[Policy]:
        """Every policy the configuration can resolve to: the default and each override."""
        return self._policies()

    def _policies(self) -> list[Policy]:
        c = self.config
        named = [(s, n) for s in ("deployments", "tenants", "keys") for n in getattr(c, s)]
        return [c.default] + [
            c.policy(**{s[:-1] if s != "keys" else "key_id": n}) for s, n in named
        ]

    def _wants_injection(self, block_only: bool = False) -> bool:
        wanted = ("block",) if block_only else ("flag", "block")
        return any(p.injection.policy in wanted for p in self._policies())

    def _wants(self, what: str) -> bool:
        return what == "ner" and any(p.pii.ner for p in self._policies())

    def canary(self, deployment: str) -> str:
        if deployment not in self._canaries:
            self._canaries[deployment] = canary_for(deployment, self.config.canary_key())
        return self._canaries[deployment]

    def screen_request(
        self,
        body: dict[str, Any],
        *,
        tenant: str,
        key_id: str | None,
        deployment: str,
        endpoint: str,
        plant: bool = True,
    ) -> Screened:
        """`plant=False` leaves the canary out of the returned body (the caller plants it on
        the upstream's copy, after routing and caching have read the client's request)."""
        t0 = time.perf_counter()
        policy = self.config.policy(tenant=tenant, key_id=key_id, deployment=deployment)
        scope = f"tenant {tenant!r}"
        if not self.config.enabled:
            return Screened(body, "allow", [], 0.0, policy, scope, deployment)
        refused = outside_allowlists(body, policy) + over_caps(body, policy.caps)
        if refused:
            return self._done(t0, body, "block", refused, policy, scope, deployment)
        reasons: list[str] = []
        block = False
        masker = Masker() if policy.pii.mask_upstream else None
        screen_from = _newest_turn(body) if endpoint == "chat/completions" else 0
        to_score: list[tuple[str, str]] = []
        found_pii = False

        def check(original: str, at: Where) -> str:
            nonlocal block, found_pii
            norm = normalise(original)
            if norm.removed:
                _add(reasons, "unicode:invisible")
            text = norm.text  # every check reads the folded text
            if policy.secrets != "off" and (secrets := find_secrets(text)):
                for s in secrets:
                    _add(reasons, f"secret:{s.kind}")
                block |= policy.secrets == "block"
                text = redact_secrets(text, secrets)
            channel = _channel(at, policy)
            if channel and at.position >= screen_from and at.part == "content":
                to_score.append((text, channel))
            findings = find_pii(text, policy.pii.kinds)
            if self._ner is not None and policy.pii.ner:
                findings = _merge(findings, self._ner.find(text))
            if findings:
                found_pii = True
                for f in findings:
                    _add(reasons, f"pii:{f.kind}")
                block |= policy.pii.block
                if masker is not None:
                    text = masker.mask(text, findings)
            # Upstream gets the folded text only where a check rewrote it; otherwise the
            # client's own text, less its invisible characters (folding changes meaning:
            # superscripts, circled digits, ligatures).
            return strip_invisible(original) if text == norm.text else text

        new_body, _ = map_texts(body, endpoint, check)
        score = self._score_injection(to_score, policy, reasons) if to_score else None
        if score is not None and any(r.startswith("injection:") for r in reasons):
            block |= policy.injection.policy == "block"
        new_body, clamped = clamp_max_tokens(new_body, policy.caps.max_tokens)
        if clamped:
            _add(reasons, "caps:max_tokens")
        mark = None
        if policy.canary and endpoint == "chat/completions" and not block:
            mark = self.canary(deployment)
            if plant:
                new_body = plant_canary(new_body, mark)
        masked = masker is not None and bool(masker.originals)
        redacted = masked or (policy.secrets == "redact" and _has(reasons, "secret:"))
        action: Action = (
            "block" if block else "redact" if redacted else ("flag" if reasons else "allow")
        )
        out = self._done(t0, new_body, action, reasons, policy, scope, deployment)
        out.canary, out.injection_score, out.found_pii = mark, score, found_pii
        out.originals = masker.originals if masker is not None else {}
        return out

    def _score_injection(
        self, items: list[tuple[str, str]], policy: Policy, reasons: list[str]
    ) -> float | None:
        if policy.injection.policy == "off":
            return None
        if self._classifier is None:
            self.warm()
        clf = self._classifier
        if clf is None:
            return None
        best = 0.0
        for text, channel in items:
            score = clf.score(text, channel)
            limit = policy.injection.threshold
            if limit is None:
                limit = clf.threshold(channel, policy.injection.fpr)
            if score >= limit:
                _add(reasons, f"injection:{channel}")
            best = max(best, score)
        return best

    @staticmethod
    def _done(
        t0: float,
        body: dict[str, Any],
        action: Action,
        reasons: list[str],
        policy: Policy,
        scope: str,
        deployment: str,
    ) -> Screened:
        labels = [_LABEL.sub("_", r.lower())[:80] for r in reasons]
        ms = (time.perf_counter() - t0) * 1000
        return Screened(body, action, labels, ms, policy, scope, deployment)

    def screen_answer(self, body: bytes, screened: Screened) -> bytes:
        """The answer for the client: canary checked (GuardOutputBlocked), placeholders back."""
        if screened.canary and contains_canary(body, screened.canary):
            raise GuardOutputBlocked(screened.deployment)
        if not screened.originals or (b"<" not in body and b"\\u003c" not in body):
            return body
        import orjson

        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body
        return orjson.dumps(_restore_all(data, screened.originals))

    def stream_watch(self, screened: Screened) -> StreamWatch | None:
        if not screened.canary and not screened.originals:
            return None
        return StreamWatch(
            canary=screened.canary,
            originals=screened.originals,
            deployment=screened.deployment,
        )

    def redact(
        self,
        text: str,
        *,
        tenant: str | None = None,
        key_id: str | None = None,
        deployment: str | None = None,
    ) -> str:
        """Text for a sink (log, ledger field, error, cache, metrics label), unless the
        policy in scope has turned `redact_records` off."""
        policy = self.config.policy(tenant=tenant, key_id=key_id, deployment=deployment)
        return redact_text(text) if policy.pii.redact_records else text


def _add(reasons: list[str], reason: str) -> None:
    if reason not in reasons:
        reasons.append(reason)


def _has(reasons: list[str], prefix: str) -> bool:
    return any(r.startswith(prefix) for r in reasons)


def _newest_turn(body: dict[str, Any]) -> int:
    """Index of the first message after the last assistant turn."""
    messages = body.get("messages") or []
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], dict) and messages[i].get("role") == "assistant":
            return i + 1
    return 0


def _channel(at: Where, policy: Policy) -> str | None:
    if at.role == "user" or at.role == "prompt":
        channel = "retrieved" if at.name in policy.injection.retrieved_names else "user"
    elif at.role in ("tool", "function"):
        channel = "tool"
    else:
        return None
    return channel if channel in policy.injection.channels else None


def _merge(a: list[Finding], b: list[Finding]) -> list[Finding]:
    out = list(a)
    for f in b:
        if not any(o.start < f.end and f.start < o.end for o in out):
            out.append(f)
    return sorted(out, key=lambda f: f.start)


def _restore_all(value: Any, originals: dict[str, str]) -> Any:
    if isinstance(value, str):
        return restore(value, originals)
    if isinstance(value, list):
        return [_restore_all(v, originals) for v in value]
    if isinstance(value, dict):
        return {k: _restore_all(v, originals) for k, v in value.items()}
    return value
