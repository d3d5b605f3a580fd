"""Acceptance test for leaks: personal data in prompts, in answers and in upstream errors
reaches no sink.

Requests carry a Luhn-valid card, a valid IBAN, an SSN, an e-mail, a phone number and an IP
(in messages, a completion prompt, an embedding input, the end-user header and a bad
field), go to an upstream that repeats them in its answers, streams and error messages, and
then every place the gateway writes is searched: the ledger (SQLite file and WAL, and
PostgreSQL), the journal, a spill file, logs at debug level, the memory and Redis caches,
/metrics, the ledger report and the FOCUS and row exports. Expected hits: 0.

`LeakyEchoUpstream` is an instrument for faults: it behaves like the worst real upstream
(echoing everything, quoting the prompt in errors), which no well-behaved model server does
on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from typer.testing import CliRunner

from tests.conftest import ADMIN_KEY, LoopThread, serving
from unitcost.gateway.settings import load_settings

CARD, IBAN, SSN = "4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32", "123-45-6789"
EMAIL, PHONE, IP = "ana.lima@example.org", "+1-984-182-0190", "203.0.113.77"
TEXT = (
    f"Please file this: card {CARD}, IBAN {IBAN}, SSN {SSN}, mail {EMAIL}, "
    f"phone {PHONE}, from {IP}."
)
# every form a sink could hold a value in: as written, without separators, lower case
NEEDLES = {
    "card": [CARD, CARD.replace(" ", "")],
    "iban": [IBAN.lower(), IBAN.replace(" ", "").lower()],
    "ssn": [SSN, SSN.replace("-", " ")],
    "email": [EMAIL],
    "phone": [PHONE, "9841820190"],
    "ip": [IP],
}
KEYS = {"acme": "sk-acme-leaks", "globex": "sk-globex-leaks"}  # globex masks upstream


def hits(where: str, text: str) -> list[str]:
    low = text.lower()
    return [
        f"{where}: {kind}"
        for kind, forms in NEEDLES.items()
        if any(f.lower() in low for f in forms)
    ]


class LeakyEchoUpstream:
    """An instrument for faults: answers repeat the prompt; models named fail500/fail400
    answer that status with the prompt quoted in the error's message and code."""

    def __init__(self) -> None:
        self.loop = LoopThread()
        self.server: asyncio.Server | None = None
        self.port = 0

    def __enter__(self) -> LeakyEchoUpstream:
        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._serve, "127.0.0.1", 0)

        self.server = self.loop.run(start())
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        self.loop.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                length = next(
                    int(line.split(":", 1)[1])
                    for line in lines
                    if line.lower().startswith("content-length")
                )
                body = json.loads(await reader.readexactly(length))
                writer.write(self._answer(path, body))
                await writer.drain()

    def _answer(self, path: str, body: dict[str, Any]) -> bytes:
        if path.endswith("/embeddings"):
            data = {
                "object": "list",
                "data": [{"object": "embedding", "index": 0, "embedding": [0.1] * 8}],
                "usage": {"prompt_tokens": 9, "total_tokens": 9},
            }
            return _http(200, json.dumps(data).encode())
        said = body.get("prompt") if "prompt" in body else body["messages"][-1]["content"]
        said = said if isinstance(said, str) else json.dumps(said)
        model = str(body.get("model"))
        if model.startswith("fail"):
            error = {
                "error": {
                    "message": f"cannot process {said}",
                    "type": "server_error",
                    "code": said[-60:],
                }
            }
            return _http(int(model[4:]), json.dumps(error).encode())
        usage = {"prompt_tokens": 30, "completion_tokens": 20, "total_tokens": 50}
        if path.endswith("/chat/completions") and body.get("stream"):
            return _stream(f"You said: {said}", usage)
        if path.endswith("/chat/completions"):
            answer = {
                "id": "c1",
                "object": "chat.completion",
                "model": model,
                "usage": usage,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": f"You said: {said}"},
                    }
                ],
            }
        else:
            answer = {
                "id": "c1",
                "object": "text_completion",
                "model": model,
                "usage": usage,
                "choices": [{"index": 0, "text": f"You said: {said}", "finish_reason": "stop"}],
            }
        return _http(200, json.dumps(answer).encode())


def _http(status: int, body: bytes, kind: bytes = b"application/json") -> bytes:
    return (
        b"HTTP/1.1 %d X\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n"
        % (status, kind, len(body))
    ) + body


def _stream(text: str, usage: dict[str, int]) -> bytes:
    events = [
        {"choices": [{"index": 0, "delta": {"content": text[i : i + 7]}, "finish_reason": None}]}
        for i in range(0, len(text), 7)
    ]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append({"choices": [], "usage": usage})
    data = (
        b"".join(
            b"data: "
            + json.dumps({"id": "c1", "object": "chat.completion.chunk", **e}).encode()
            + b"\n\n"
            for e in events
        )
        + b"data: [DONE]\n\n"
    )
    return _http(200, data, b"text/event-stream")


def settings(tmp_path: Path, upstream: LeakyEchoUpstream, ledger: str, **extra: Any) -> Any:
    price = {"list_price": {"input_usd_per_m": 1.0, "output_usd_per_m": 2.0, "source": "test card"}}
    deployments = [
        {
            "name": name,
            "backend": "openai",
            "options": {"url": upstream.url, "model": name},
            "price": price,
        }
        for name in ("echo", "fail500", "fail400")
    ]
    values: dict[str, Any] = {
        "ledger": {"url": ledger, "interval_s": 0.01, "journal_dir": str(tmp_path / "journal")},
        "admin_key": ADMIN_KEY,
        "port": 0,
        "log_level": "debug",
        "tenants": [{"name": n, "keys": [k]} for n, k in KEYS.items()],
        "deployments": deployments,
        "cache": {"exact": True},
        "guard": {
            "default": {"injection": {"policy": "off"}},
            "tenants": {"globex": {"pii": {"mask_upstream": True}}},
        },
        **extra,
    }
    return load_settings(None, **values)


def send_everything(url: str) -> None:
    """Each way personal data can enter: messages (whole and streamed), a completion prompt,
    an embedding input, the end-user header, upstream errors, and a field the gateway
    rejects."""
    for key in KEYS.values():
        client = openai.OpenAI(
            base_url=url + "/v1",
            api_key=key,
            max_retries=0,
            default_headers={"x-unitcost-user": EMAIL},
        )
        chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": TEXT}]
        for _ in range(2):  # the second may be a cache hit
            answer = client.chat.completions.create(model="echo", messages=chat, temperature=0)
            assert CARD in (answer.choices[0].message.content or "")  # the client gets its data
        streamed = "".join(
            c.choices[0].delta.content or ""
            for c in client.chat.completions.create(
                model="echo", messages=chat, stream=True, stream_options={"include_usage": True}
            )
            if c.choices
        )
        assert EMAIL in streamed
        client.completions.create(model="echo", prompt=TEXT, temperature=0)
        client.embeddings.create(model="echo", input=TEXT)
        for failing, status in (("fail500", 502), ("fail400", 400)):
            with pytest.raises(openai.APIStatusError) as err:
                client.chat.completions.create(model=failing, messages=chat)
            assert err.value.status_code == status
        raw = httpx.post(
            url + "/v1/chat/completions",
            headers={"authorization": f"Bearer {key}"},
            json={"model": "echo", "messages": chat, "n": TEXT},
            timeout=10,
        )
        assert raw.status_code == 400


def search_files(root: Path) -> list[str]:
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        found += hits(str(path.relative_to(root)), path.read_bytes().decode("latin-1"))
    return found


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


def test_no_sink_holds_personal_data_sqlite_memory_cache(
    tmp_path: Path, debug_logs: Any, capfd: Any
) -> None:
    found: list[str] = []
    ledger = f"sqlite:///{tmp_path}/ledger.db"
    with LeakyEchoUpstream() as upstream, serving(settings(tmp_path, upstream, ledger)) as gw:
        send_everything(gw.url)
        metrics = httpx.get(gw.url + "/metrics", headers={"authorization": f"Bearer {ADMIN_KEY}"})
        assert metrics.status_code == 200 and "unitcost" in metrics.text
        found += hits("/metrics", metrics.text)
        cache = gw.app.services.cache.store
        entries = [a.to_bytes().decode("utf-8", "replace") for a in cache.entries.values()]
        assert entries, "the masked tenant's answers are cacheable"
        found += hits("memory cache", "\n".join(entries))
        gw.flush()
        rows = gw.app.ledger.store.records(limit=10_000)
    assert len(rows) >= 2 * 8
    assert {r.guard_action for r in rows} >= {"flag", "redact"}
    found += hits("ledger rows", "\n".join(repr(r) for r in rows))
    config = tmp_path / "gateway.yaml"
    config.write_text(
        json.dumps(
            {
                "ledger": {"url": ledger},
                "deployments": [
                    {
                        "name": "echo",
                        "backend": "openai",
                        "options": {"url": "http://127.0.0.1:9/v1"},
                    }
                ],
            }
        )
    )
    from unitcost.cli import app

    runner = CliRunner()
    for args in (
        ["report", "--ledger", ledger, "--out", str(tmp_path / "report")],
        ["export", "--ledger", ledger, "--out", str(tmp_path / "focus.csv")],
        ["export", "--ledger", ledger, "--format", "rows", "--out", str(tmp_path / "rows.parquet")],
        ["usage", "--ledger", ledger, "--group-by", "tenant,end_user,feature,status"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        found += hits(f"unitcost {args[0]} output", result.output)
    found += search_files(tmp_path)  # ledger.db, -wal, journal, report, exports
    found += hits("logs (debug)", debug_logs.text)
    out, err = capfd.readouterr()
    found += hits("stdout/stderr", out + err)
    assert found == [], "\n".join(found)


def test_no_sink_holds_personal_data_postgres_redis_and_spill(
    tmp_path: Path, debug_logs: Any, capfd: Any, monkeypatch: Any
) -> None:
    psycopg = pytest.importorskip("psycopg")
    from unitcost.testing.processes import redis_server

    admin = os.environ.get(
        "UNITCOST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"unitcost_leaks_{uuid.uuid4().hex[:10]}"
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    found: list[str] = []
    try:
        with redis_server() as (redis_url, _), LeakyEchoUpstream() as upstream:
            cache = {"exact": True, "backend": "redis", "redis_url": redis_url}
            with serving(settings(tmp_path, upstream, url, cache=cache)) as gw:
                send_everything(gw.url)
                gw.flush()
            import redis

            r = redis.Redis.from_url(redis_url)
            keys = r.keys("*")
            assert keys, "the masked tenant's answers are cached in Redis"
            found += hits("redis keys", "\n".join(k.decode("latin-1") for k in keys))
            found += hits(
                "redis values", "\n".join((r.get(k) or b"").decode("latin-1") for k in keys)
            )
            # a ledger that fails at shutdown, with the journal off: rows spill to a file
            monkeypatch.chdir(tmp_path)
            spill = settings(
                tmp_path, upstream, f"sqlite:///{tmp_path}/spill.db", cache={"exact": False}
            )
            spill = spill.model_copy(
                update={"ledger": spill.ledger.model_copy(update={"journal": False})}
            )
            with serving(spill) as gw:

                def refuse(records: Any) -> None:
                    raise OSError("disk full (injected)")

                gw.app.ledger.store.append = refuse  # type: ignore[method-assign]
                send_everything(gw.url)
        spilled = list(tmp_path.glob("unitcost-ledger-unsaved-*.jsonl"))
        assert spilled and spilled[0].read_text().strip(), "rows spilled at shutdown"
        with psycopg.connect(url) as conn:
            rows = [str(row[0]) for row in conn.execute("SELECT row_to_json(u)::text FROM usage u")]
        assert len(rows) >= 2 * 8
        found += hits("postgres ledger", "\n".join(rows))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")  # type: ignore[arg-type]
    found += search_files(tmp_path)  # journal, spill file
    found += hits("logs (debug)", debug_logs.text)
    out, err = capfd.readouterr()
    found += hits("stdout/stderr", out + err)
    assert found == [], "\n".join(found)


def test_a_cached_masked_answer_is_restored_with_each_requests_own_values(tmp_path: Path) -> None:
    """Two requests that differ only in the masked data are one request upstream and in the
    cache; each answer must carry its own sender's values, never the other's."""
    ledger = f"sqlite:///{tmp_path}/ledger.db"
    with LeakyEchoUpstream() as upstream, serving(settings(tmp_path, upstream, ledger)) as gw:
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key=KEYS["globex"], max_retries=0)
        answers = {}
        for email in ("first.person@example.org", "second.person@example.org"):
            reply = client.chat.completions.with_raw_response.create(
                model="echo", temperature=0, messages=[{"role": "user", "content": f"mail {email}"}]
            )
            answers[email] = (reply.headers.get("x-unitcost-cache"), reply.parse())
    (_, first), (cache, second) = answers.values()
    assert cache is not None  # the second was served from the cache
    assert "first.person@example.org" in (first.choices[0].message.content or "")
    assert "second.person@example.org" in (second.choices[0].message.content or "")
    assert "first.person" not in (second.choices[0].message.content or "")
