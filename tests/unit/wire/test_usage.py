import orjson
import pytest

from unitcost.economics.pricing import TokenUsage
from unitcost.wire.usage import StreamMeter, UsageError, parse_usage, read_completion


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
    assert meter.usage == TokenUsage(prompt_tokens=5, completion_tokens=2)
    assert meter.done and meter.first_token_at is not None


def test_the_usage_chunk_the_client_did_not_ask_for_is_dropped() -> None:
    meter = StreamMeter(drop_usage_chunk=True)
    out = meter.feed(delta("a") + USAGE + b"data: [DONE]\n\n")
    assert out == delta("a") + b"data: [DONE]\n\n"
    assert meter.usage == TokenUsage(prompt_tokens=5, completion_tokens=2)


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


def test_a_whole_body_gives_its_usage_or_the_text_to_estimate_from() -> None:
    done = read_completion(b'{"usage": {"prompt_tokens": 3}}')
    assert done.usage == TokenUsage(prompt_tokens=3) and done.rejected_usage is None
    plain = read_completion(b'{"choices": [{"message": {"content": "hi there"}}]}')
    assert plain.usage is None and plain.text == "hi there"


@pytest.mark.parametrize("body", [b"not json", b'{"choices": [{"mess', b"[1, 2]", b"<html>"])
def test_a_body_that_is_not_a_json_object_is_refused(body: bytes) -> None:
    with pytest.raises(UsageError):
        read_completion(body)


@pytest.mark.parametrize(
    "usage, field",
    [
        ({"prompt_tokens": -5, "completion_tokens": 2}, "usage.prompt_tokens"),
        ({"prompt_tokens": 5, "completion_tokens": 2.5}, "usage.completion_tokens"),
        ({"prompt_tokens": "5"}, "usage.prompt_tokens"),
        ({"prompt_tokens": True}, "usage.prompt_tokens"),
        ({"prompt_tokens": 5, "completion_tokens_details": {"reasoning_tokens": -1}}, "reasoning"),
        ({"prompt_tokens": 5, "prompt_tokens_details": [1]}, "_details"),
    ],
)
def test_impossible_counts_are_refused_by_name(usage: dict[str, object], field: str) -> None:
    with pytest.raises(UsageError, match=field):
        parse_usage(usage)
    body = read_completion(orjson.dumps({"choices": [], "usage": usage}))
    assert body.usage is None and field.split(".")[-1] in (body.rejected_usage or "")


def test_a_stream_with_bad_usage_keeps_its_events_and_says_why() -> None:
    meter = StreamMeter(drop_usage_chunk=False)
    bad = event({"choices": [], "usage": {"prompt_tokens": -3000, "completion_tokens": 1}})
    meter.feed(delta("a") + bad + b"data: [DONE]\n\n")
    assert meter.usage is None and "prompt_tokens" in (meter.rejected_usage or "")


def test_garbage_events_are_counted_and_dropped() -> None:
    meter = StreamMeter(drop_usage_chunk=False)
    out = meter.feed(b"data: \x00\xffgarbage\n\n" + delta("ok") + b"data: 12\n\n")
    assert meter.malformed == 2 and out == delta("ok")
    assert meter.answered and not meter.done
