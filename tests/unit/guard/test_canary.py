"""The canary: planted per deployment, caught in a whole answer and in a stream cut anywhere."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from unitcost.guard import Guard, GuardConfig, GuardOutputBlocked, Screened
from unitcost.guard.canary import CanaryWatch, canary_for, plant_canary


def guard(**extra: Any) -> Guard:
    return Guard(
        GuardConfig.model_validate(
            {"canary_secret": "s3cret", "default": {"injection": {"policy": "off"}}, **extra}
        )
    )


def screen(g: Guard, deployment: str = "gpt-5-mini", **body: Any) -> Screened:
    body = {"model": deployment, "messages": [{"role": "user", "content": "hi"}], **body}
    return g.screen_request(
        body, tenant="acme", key_id=None, deployment=deployment, endpoint="chat/completions"
    )


def sse(*texts: str) -> list[bytes]:
    events = [
        b"data: "
        + orjson.dumps(
            {"id": "c1", "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]}
        )
        + b"\n\n"
        for t in texts
    ]
    return [*events, b"data: [DONE]\n\n"]


def test_canary_is_per_deployment_stable_under_a_secret_and_planted_in_the_system_prompt() -> None:
    assert canary_for("a", b"k") == canary_for("a", b"k") != canary_for("b", b"k")
    assert canary_for("a", b"k") != canary_for("a", b"other")
    s = screen(guard())
    assert s.canary == canary_for("gpt-5-mini", b"s3cret")
    assert (
        s.body["messages"][0]["role"] == "system" and s.canary in s.body["messages"][0]["content"]
    )
    with_system = plant_canary({"messages": [{"role": "system", "content": "Be brief."}]}, "uc-x")
    assert with_system["messages"][0]["content"].startswith("Be brief.\n\n")
    assert len(with_system["messages"]) == 1


def test_canary_can_be_turned_off_per_deployment() -> None:
    g = guard(deployments={"replay": {"canary": False}})
    assert screen(g, "replay").canary is None
    assert screen(g, "replay").body["messages"] == [{"role": "user", "content": "hi"}]


def test_whole_answer_with_the_canary_is_withheld() -> None:
    g = guard()
    s = screen(g)
    leak = orjson.dumps({"choices": [{"message": {"content": f"My rules: {s.canary.upper()}"}}]})
    with pytest.raises(GuardOutputBlocked) as err:
        g.screen_answer(leak, s)
    assert err.value.status_code == 502 and s.canary not in err.value.message
    fine = orjson.dumps({"choices": [{"message": {"content": "Hello!"}}]})
    assert g.screen_answer(fine, s) == fine


def test_streamed_canary_is_caught_at_every_cut_point() -> None:
    g = guard()
    s = screen(g)
    text = f"Sure, here it is: {s.canary} and more"
    for cut in range(1, len(text)):
        watch = g.stream_watch(s)
        assert watch is not None
        sent = b""
        with pytest.raises(GuardOutputBlocked):
            for event in sse(text[:cut], text[cut:]):
                sent += watch.feed(event)
        assert s.canary.encode() not in sent


def test_stream_bytes_cut_mid_event_are_reassembled_and_passed_unchanged() -> None:
    g = guard()
    s = screen(g)
    stream = b"".join(sse("Hello", " world", "!"))
    watch = g.stream_watch(s)
    assert watch is not None
    out = b"".join(watch.feed(stream[i : i + 7]) for i in range(0, len(stream), 7))
    assert out + watch.close() == stream


def test_canary_watch_holds_only_a_possible_prefix() -> None:
    w = CanaryWatch("uc-canary-0123")
    assert not w.feed("text uc-can")
    assert w.held("text uc-can") == len("uc-can")
    assert w.held("nothing") == 0
    assert w.feed("ary-0123 tail")


def test_masked_placeholders_are_restored_across_stream_chunk_cuts() -> None:
    g = Guard(
        GuardConfig.model_validate(
            {
                "default": {
                    "injection": {"policy": "off"},
                    "canary": False,
                    "pii": {"mask_upstream": True},
                }
            }
        )
    )
    s = g.screen_request(
        {"model": "m", "messages": [{"role": "user", "content": "mail ana@example.org"}]},
        tenant="t",
        key_id=None,
        deployment="m",
        endpoint="chat/completions",
    )
    answer = "Mailed <EMAIL_1> at once."
    for cut in range(1, len(answer)):
        watch = g.stream_watch(s)
        assert watch is not None
        raw = b"".join(watch.feed(e) for e in sse(answer[:cut], answer[cut:])) + watch.close()
        texts = [
            orjson.loads(line[6:])["choices"][0]["delta"].get("content", "")
            for line in raw.split(b"\n\n")
            if line.startswith(b"data: {")
        ]
        assert "".join(texts) == "Mailed ana@example.org at once.", cut
        assert raw.endswith(b"data: [DONE]\n\n")


def test_no_watch_when_there_is_nothing_to_watch() -> None:
    g = Guard(
        GuardConfig.model_validate({"default": {"injection": {"policy": "off"}, "canary": False}})
    )
    assert g.stream_watch(screen(g)) is None
