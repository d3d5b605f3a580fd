"""The request path without uvicorn or sockets: the app's ASGI callable, a recording client
and a scripted upstream (unitcost.testing.scripted), stage by stage."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import unitcost.testing.scripted  # noqa: F401  (registers the `scripted` backend)
from unitcost.gateway.app import Gateway
from unitcost.gateway.settings import load_settings
from unitcost.ledger.record import UsageRecord
from unitcost.testing.scripted import ScriptedUpstream, completion, error, events, stream

KEY = "sk-unit"


def deployment(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "backend": "scripted",
        "price": {"list_price": {"input_usd_per_m": 1.0, "output_usd_per_m": 2.0, "source": "t"}},
    }


class Run:
    """One gateway started in this event loop; `post` drives one request through it."""

    def __init__(self, tmp: Path, **extra: Any) -> None:
        self.settings = load_settings(
            None,
            ledger={"url": f"sqlite:///{tmp}/l.db", "interval_s": 0.01},
            tenants=[{"name": "acme", "keys": [KEY], **extra.pop("tenant", {})}],
            deployments=[deployment("a"), deployment("b")],
            **extra,
        )
        self.app = Gateway(self.settings)

    def upstream(self, name: str) -> ScriptedUpstream:
        upstream = self.app.portfolio.deployments[name].upstream
        assert isinstance(upstream, ScriptedUpstream)
        return upstream

    async def post(
        self,
        body: dict[str, Any],
        key: str = KEY,
        leave_on: bytes | None = None,
        leave_after_s: float | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request; with `leave_on`, the client hangs up once it has received those
        bytes (as the openai SDK does on an error event); with `leave_after_s`, after that
        long whatever it received; else it stays to the end."""
        raw = orjson.dumps(body)
        sent: list[dict[str, Any]] = []
        delivered = False
        gone = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": raw, "more_body": False}
            if leave_after_s is None:
                await gone.wait()
            else:
                await asyncio.sleep(leave_after_s)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if leave_on is not None and leave_on in message.get("body", b""):
                gone.set()

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/chat/completions",
            "headers": [(b"authorization", f"Bearer {key}".encode())],
        }
        await self.app(scope, receive, send)
        if not sent:  # the client left before any answer
            return 0, {}, b""
        start = sent[0]
        headers = {k.decode(): v.decode() for k, v in start["headers"]}
        return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])

    def rows(self) -> list[UsageRecord]:
        assert self.app.ledger is not None and self.app.ledger.flush_sync(10)
        return self.app.ledger.store.records()


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    runs: list[Run] = []

    def make(**extra: Any) -> Run:
        r = Run(tmp_path, **extra)
        runs.append(r)
        return r

    yield make


def drive(r: Run, coro: Any) -> Any:
    async def go() -> Any:
        await r.app.startup()
        try:
            return await coro()
        finally:
            await r.app.shutdown()

    return asyncio.run(go())


HI = {"model": "a", "messages": [{"role": "user", "content": "hi"}]}


def test_an_answer_is_metered_in_integer_nanos_and_recorded(run) -> None:  # type: ignore[no-untyped-def]
    r = run()

    async def go() -> Any:
        r.upstream("a").replies = [completion("hello", prompt_tokens=1000, completion_tokens=500)]
        return await r.post(HI), r.rows()

    (status, headers, body), rows = drive(r, go)
    assert status == 200 and orjson.loads(body)["choices"][0]["message"]["content"] == "hello"
    (row,) = rows
    assert (row.cost_input_nanos, row.cost_output_nanos, row.cost_nanos) == (
        1_000_000,
        1_000_000,
        2_000_000,
    )
    assert headers["x-unitcost-deployment"] == "a" and row.status == "ok"


def test_a_fallback_is_two_rows_in_call_order(run) -> None:  # type: ignore[no-untyped-def]
    r = run(routes=[{"name": "chain", "policy": "fallback", "deployments": ["a", "b"]}])

    async def go() -> Any:
        r.upstream("a").replies = [error(503)]
        return await r.post({**HI, "model": "chain"}), r.rows()

    (status, headers, _), rows = drive(r, go)
    assert status == 200 and headers["x-unitcost-deployment"] == "b"
    assert [(x.deployment, x.status) for x in rows] == [("a", "upstream_error"), ("b", "ok")]


def test_a_stream_commits_on_its_first_token_and_records_before_done(run) -> None:  # type: ignore[no-untyped-def]
    r = run()

    async def go() -> Any:
        r.upstream("a").replies = [
            stream("Hel", "lo", usage={"prompt_tokens": 4, "completion_tokens": 2})
        ]
        return await r.post({**HI, "stream": True}), r.rows()

    (status, headers, body), rows = drive(r, go)
    assert status == 200 and headers["content-type"] == "text/event-stream"
    assert body.endswith(b"data: [DONE]\n\n") and b'"usage"' not in body  # not asked for
    (row,) = rows
    assert (row.prompt_tokens, row.completion_tokens, row.tokens_estimated) == (4, 2, False)


def test_malformed_stream_events_before_commit_are_a_502(run) -> None:  # type: ignore[no-untyped-def]
    r = run()

    async def go() -> Any:
        r.upstream("a").replies = [events(b"data: {not json\n\n", b"data: [DONE]\n\n")]
        return await r.post({**HI, "stream": True}), r.rows()

    (status, _, body), rows = drive(r, go)
    assert status == 502 and orjson.loads(body)["error"]["type"] == "upstream_error"
    assert [x.status for x in rows] == ["upstream_error"]


def test_a_stream_without_done_ends_with_an_error_event(run) -> None:  # type: ignore[no-untyped-def]
    r = run()

    async def go() -> Any:
        r.upstream("a").replies = [stream("partial", done=False)]
        return await r.post({**HI, "stream": True}), r.rows()

    (status, _, body), rows = drive(r, go)
    assert status == 200 and b"without [DONE]" in body and body.endswith(b"data: [DONE]\n\n")
    assert rows[0].status == "upstream_error"


def test_a_client_that_leaves_on_the_upstreams_error_event_records_the_upstream_error(run) -> None:  # type: ignore[no-untyped-def]
    r = run()
    token = {"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]}
    failure = {"error": {"message": "the model crashed", "type": "server_error"}}

    async def go() -> Any:
        # the upstream sends its error event and would end its stream only much later; the
        # client hangs up as soon as the error event reaches it
        r.upstream("a").replies = [events(token, failure, (30.0, b"data: [DONE]\n\n"))]
        return await r.post({**HI, "stream": True}, leave_on=b"the model crashed"), r.rows()

    (status, _, body), rows = drive(r, go)
    assert status == 200 and b"the model crashed" in body
    assert [(x.status, x.error) for x in rows] == [
        ("upstream_error", "upstream sent an error event mid-stream")
    ]


def test_a_client_that_leaves_before_any_token_is_its_own_disconnect(run) -> None:  # type: ignore[no-untyped-def]
    r = run()
    failure = {"error": {"message": "the model crashed", "type": "server_error"}}

    async def go() -> Any:
        # the error event comes before any token, so it is held back, not sent; the client
        # gives up on its own before the upstream ends its stream
        r.upstream("a").replies = [events(failure, (30.0, b"data: [DONE]\n\n"))]
        return await r.post({**HI, "stream": True}, leave_after_s=0.2), r.rows()

    (status, _, body), rows = drive(r, go)
    assert status == 0 and body == b""  # nothing reached it
    assert [(x.status, x.http_status) for x in rows] == [("client_disconnected", 499)]


def test_a_refused_budget_is_a_zero_cost_row_and_the_upstream_is_never_called(run) -> None:  # type: ignore[no-untyped-def]
    r = run(tenant={"budget_usd_per_month": 0.000001})

    async def go() -> Any:
        return await r.post({**HI, "max_tokens": 100}), r.rows()

    (status, headers, body), rows = drive(r, go)
    assert status == 429 and orjson.loads(body)["error"]["code"] == "budget_exceeded"
    assert "retry-after" in headers
    assert r.upstream("a").calls == []
    (row,) = rows
    assert (row.status, row.http_status, row.cost_nanos) == ("rejected", 429, 0)


def test_the_cascade_pays_for_the_escalated_answer(run) -> None:  # type: ignore[no-untyped-def]
    r = run(
        routes=[
            {
                "name": "cas",
                "policy": "cascade",
                "deployments": ["a", "b"],
                "check": {"require_regex": "Answer: [A-D]"},
            }
        ]
    )

    async def go() -> Any:
        r.upstream("a").replies = [completion("no idea")]
        r.upstream("b").replies = [completion("Answer: B")]
        return await r.post({**HI, "model": "cas"}), r.rows()

    (status, _, body), rows = drive(r, go)
    assert status == 200 and b"Answer: B" in body
    assert [(x.deployment, x.status) for x in rows] == [("a", "escalated"), ("b", "ok")]
    assert rows[0].cost_nanos > 0


def test_the_guard_decision_is_on_the_row_the_header_and_the_metrics(run) -> None:  # type: ignore[no-untyped-def]
    r = run(guard={"default": {"injection": {"policy": "off"}}})

    async def go() -> Any:
        body = {"model": "a", "messages": [{"role": "user", "content": "mail ana@example.org"}]}
        return await r.post(body), r.rows(), r.app.metrics.render().decode()

    (status, headers, _), rows, metrics = drive(r, go)
    (row,) = rows
    assert status == 200 and float(headers["x-unitcost-guard-ms"]) >= 0
    assert (row.guard_action, row.guard_reasons) == ("flag", "pii:email")
    assert 'unitcost_guard_decisions_total{action="flag",reason="pii"} 1.0' in metrics


def test_a_blocked_request_never_reaches_the_upstream(run) -> None:  # type: ignore[no-untyped-def]
    r = run(guard={"default": {"injection": {"policy": "off"}, "secrets": "block"}})

    async def go() -> Any:
        secret = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0" * 3
        body = {"model": "a", "messages": [{"role": "user", "content": f"use {secret}"}]}
        return await r.post(body), r.rows()

    (status, _, body), rows = drive(r, go)
    assert status == 400 and orjson.loads(body)["error"]["code"] == "guard_blocked"
    assert r.upstream("a").calls == []
    (row,) = rows
    assert (row.status, row.guard_action) == ("rejected", "block")
    assert "sk-proj" not in (row.error or "") + (row.guard_reasons or "")


def test_a_bug_in_the_request_path_is_a_json_500_and_a_row(run) -> None:  # type: ignore[no-untyped-def]
    r = run()

    async def go() -> Any:
        def broken(call: Any) -> Any:
            raise RuntimeError("a bug")

        r.upstream("a").handler = broken
        return await r.post(HI), r.rows()

    (status, headers, body), rows = drive(r, go)
    assert status == 500 and headers["content-type"] == "application/json"
    assert "was recorded" in orjson.loads(body)["error"]["message"]
    (row,) = rows
    assert row.status == "gateway_error" and "a bug" in (row.error or "")
