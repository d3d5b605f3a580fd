"""The Ollama and Triton protocol fakes, checked by the official clients where they exist."""

from __future__ import annotations

import httpx
import pytest

from unitcost.testing.ollama_server import OllamaProtocolServer
from unitcost.testing.protocol_server import in_thread
from unitcost.testing.triton_server import TritonProtocolServer


def test_ollama_client_parses_chat_stream_tools_generate_and_embed() -> None:
    ollama = pytest.importorskip("ollama")
    with in_thread(OllamaProtocolServer(models=("llama3.2",))) as server:
        client = ollama.Client(host=server.url)
        answer = client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
        assert answer.message.content == server.script.text and answer.done
        assert (answer.prompt_eval_count, answer.eval_count) == (21, 9)
        parts = list(
            client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}], stream=True)
        )
        assert "".join(p.message.content or "" for p in parts) == server.script.text
        assert parts[-1].done and parts[-1].eval_count == 9 and not parts[0].done
        server.script.tool_call = ("lookup", {"q": "Paris"})
        tools = [
            {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
        ]
        called = client.chat(
            model="llama3.2", messages=[{"role": "user", "content": "x"}], tools=tools
        )
        assert called.message.tool_calls[0].function.arguments == {"q": "Paris"}
        generated = client.generate(model="llama3.2", prompt="Once")
        assert generated.response == server.script.text
        assert len(client.embed(model="llama3.2", input=["a", "b"]).embeddings) == 2
        with pytest.raises(ollama.ResponseError) as info:
            client.chat(model="nope", messages=[{"role": "user", "content": "x"}])
        assert info.value.status_code == 404 and "not found" in info.value.error
        assert server.requests[1]["stream"] is True  # the client said so; the server defaults to it


def test_tritonclient_sees_a_live_server_and_a_ready_model() -> None:
    http = pytest.importorskip("tritonclient.http")
    with in_thread(TritonProtocolServer(models=("vllm_model",))) as server:
        client = http.InferenceServerClient(server.address)
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("vllm_model") and not client.is_model_ready("other")
        meta = client.get_model_metadata("vllm_model")
        assert meta["name"] == "vllm_model" and meta["inputs"][0]["name"] == "text_input"


def test_triton_generate_and_generate_stream_wire_format() -> None:
    """tritonclient has no generate call, so this reads the extension's JSON and SSE directly."""
    with in_thread(TritonProtocolServer()) as server:
        url = f"{server.url}/v2/models/vllm_model"
        body = {
            "text_input": "hi",
            "parameters": {"max_tokens": 50},
            "return_num_input_tokens": True,
            "return_num_output_tokens": True,
            "return_finish_reason": True,
        }
        one = httpx.post(url + "/generate", json=body).json()
        assert one["text_output"] == server.script.text and one["num_output_tokens"] == 9
        assert one["model_name"] == "vllm_model" and one["finish_reason"] == ["stop"]
        with httpx.stream("POST", url + "/generate_stream", json=body) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            events = [line for line in r.iter_lines() if line.startswith("data: ")]
        assert len(events) == server.script.pieces
        bad = httpx.post(f"{server.url}/v2/models/nope/generate", json=body)
        assert bad.status_code == 404 and "unknown model" in bad.json()["error"]
