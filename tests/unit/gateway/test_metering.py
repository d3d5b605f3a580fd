import orjson

from unitcost.wire.usage import StreamMeter, usage_from_body


def event(obj: object) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def delta(text: str) -> bytes:
    return event({"choices": [{"index": 0, "delta": {"content": text}}]})


USAGE = event({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}})


def test_events_split_across_chunks_are_forwarded_whole_and_unchanged() -> None:
    meter = StreamMeter(drop_usage_chunk=False)
    stream = delta("Hel") + delta("lo") + USAGE + b"data: [DONE]\n\n"
    out = b"".join(meter.feed(stream[i : i + 7]) for i in range(0, len(stream), 7)) + meter.close()
    assert out == stream
    assert "".join(meter.parts) == "Hello"
    assert meter.usage == {"prompt_tokens": 5, "completion_tokens": 2}
    assert meter.done and meter.first_token_at is not None


def test_the_usage_chunk_the_client_did_not_ask_for_is_dropped() -> None:
    meter = StreamMeter(drop_usage_chunk=True)
    out = meter.feed(delta("a") + USAGE + b"data: [DONE]\n\n")
    assert out == delta("a") + b"data: [DONE]\n\n"
    assert meter.usage == {"prompt_tokens": 5, "completion_tokens": 2}


def test_crlf_streams_tool_calls_and_reasoning_are_counted() -> None:
    meter = StreamMeter(drop_usage_chunk=False)
    tool = event({"choices": [{"delta": {"tool_calls": [{"function": {"arguments": '{"q":'}}]}}]})
    think = event({"choices": [{"delta": {"reasoning_content": "hmm"}}]})
    meter.feed((tool + think).replace(b"\n", b"\r\n"))
    assert meter.parts == ['{"q":', "hmm"]


def test_an_error_event_is_noted() -> None:
    meter = StreamMeter(drop_usage_chunk=False)
    meter.feed(event({"error": {"message": "overloaded"}}))
    assert meter.error == {"message": "overloaded"}


def test_a_trailing_event_without_blank_line_is_flushed_on_close() -> None:
    meter = StreamMeter(drop_usage_chunk=False)
    assert meter.feed(b"data: [DONE]") == b""
    assert meter.close() == b"data: [DONE]\n\n"


def test_usage_from_a_json_body_or_the_text_to_estimate_from() -> None:
    assert usage_from_body(b'{"usage": {"prompt_tokens": 3}}') == ({"prompt_tokens": 3}, "")
    body = b'{"choices": [{"message": {"content": "hi there"}}]}'
    assert usage_from_body(body) == (None, "hi there")
    assert usage_from_body(b"not json") == (None, "")
