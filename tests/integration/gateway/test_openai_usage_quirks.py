"""How OpenAI-compatible servers report usage in streams, and what the gateway meters.

vLLM and OpenAI send usage in a last chunk with `choices: []` only when asked
(`stream_options.include_usage`, which the gateway always asks for); some servers attach it
to the finish chunk whether asked or not (TGI does); vLLM's `continuous_usage_stats` puts
cumulative usage on every chunk; some send none in streams (llama.cpp's older servers), and
strict ones refuse `stream_options` with a 400. Each pattern is scripted on the OpenAI
protocol fake and driven through the gateway with the openai SDK.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from unitcost.testing import OpenAIProtocolServer, in_thread
from unitcost.wire.tokens import load_tokenizer

ASK = [{"role": "user", "content": "What is the capital of France?"}]
PRICE = {"list_price": {"input_usd_per_m": 1.0, "output_usd_per_m": 2.0, "source": "quirks card"}}


def deployment(server: OpenAIProtocolServer, **options: Any) -> dict[str, Any]:
    return {
        "name": "oai",
        "backend": "openai",
        "options": {"url": server.url, "model": "m", **options},
        "price": PRICE,
    }


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[Any] = []

    def start(**switches: Any) -> OpenAIProtocolServer:
        ctx = in_thread(OpenAIProtocolServer(**switches))
        servers.append(ctx)
        return ctx.__enter__()

    yield start
    for ctx in servers:
        ctx.__exit__(None, None, None)


def stream(gateway: Any, **kwargs: Any) -> list[Any]:
    return list(
        gateway.client().chat.completions.create(model="oai", messages=ASK, stream=True, **kwargs)
    )


def rows(gateway: Any, expect: int = 1) -> list[Any]:
    return [r for r in gateway.records(expect=expect) if r.deployment == "oai"]


@pytest.mark.parametrize("placement", ["final_chunk", "with_finish", "every_chunk"])
def test_usage_wherever_the_server_puts_it_is_metered_exactly(
    run_gateway: Any, serve: Any, placement: str
) -> None:
    server = serve(usage=placement)
    gateway = run_gateway([deployment(server)], port=0)
    chunks = stream(gateway)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == server.script.text
    (row,) = rows(gateway)
    assert (row.prompt_tokens, row.completion_tokens, row.tokens_estimated) == (21, 9, False)
    assert row.cost_nanos == 21 * 1_000 + 9 * 2_000
    if placement == "final_chunk":  # the gateway asked on the client's behalf, then hid it
        assert all(c.usage is None for c in chunks)
    else:  # usage riding on content chunks reaches the client as the server sent it
        assert any(c.usage is not None for c in chunks)


def test_no_usage_in_streams_is_counted_with_the_tokenizer_and_marked(
    run_gateway: Any, serve: Any
) -> None:
    server = serve(usage="none")
    gateway = run_gateway([deployment(server)], port=0)
    stream(gateway, stream_options={"include_usage": True})
    (row,) = rows(gateway)
    assert row.tokens_estimated and row.status == "ok"
    tokenizer = load_tokenizer("tiktoken:o200k_base")
    assert row.completion_tokens == tokenizer.count(server.script.text)
    assert row.prompt_tokens == tokenizer.count_chat(ASK)
    assert row.cost_nanos == row.prompt_tokens * 1_000 + row.completion_tokens * 2_000


def test_a_server_that_refuses_stream_options(run_gateway: Any, serve: Any) -> None:
    server = serve(refuse_stream_options=True)
    strict = run_gateway([deployment(server)], port=0)
    with pytest.raises(openai.BadRequestError, match="stream_options"):
        stream(strict)  # relayed as the server said it: the deployment needs include_usage: false
    assert rows(strict)[0].status == "upstream_rejected"
    lenient = run_gateway([{**deployment(server, include_usage=False), "name": "oai"}], port=0)
    chunks = stream(lenient)
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == server.script.text
    )
    assert "stream_options" not in server.requests[-1]
    (row,) = [r for r in rows(lenient, expect=2) if r.status == "ok"]  # one ledger file
    assert row.tokens_estimated and row.completion_tokens > 0
