import pytest

from unitcost.bench.client import RequestResult
from unitcost.bench.costing import Pricing
from unitcost.bench.metrics import parse_slo, summarize
from unitcost.bench.run import cheapest
from unitcost.bench.runner import Level, parse_levels
from unitcost.errors import InputError


def result(start: float, e2e: float, ttft: float, out: int, inp: int = 100) -> RequestResult:
    return RequestResult(start, e2e, True, ttft_s=ttft, prompt_tokens=inp, output_tokens=out)


def test_inter_token_latency_excludes_the_first_token() -> None:
    r = result(0.0, e2e=1.1, ttft=0.1, out=11)
    assert r.itl_s == pytest.approx(0.1)
    assert r.tpot_s == pytest.approx(0.1)
    assert result(0.0, 1.0, 0.5, out=1).itl_s is None


def test_level_statistics_and_goodput() -> None:
    results = [
        result(0.0, 1.0, 0.2, 10),
        result(0.5, 1.5, 0.9, 10),
        RequestResult(0.2, 0.1, False, 500, "boom"),
    ]
    s = summarize("c=2", results, parse_slo("ttft_p95=500ms"), concurrency=2)
    # a closed loop: the streams' summed busy time ÷ concurrency, (1.0 + 1.5 + 0.1) / 2
    assert s.duration_s == pytest.approx(1.3)
    assert (s.requests, s.errors, s.output_tokens, s.input_tokens) == (3, 1, 20, 200)
    assert s.output_tokens_per_s == pytest.approx(20 / 1.3)
    assert s.rps == pytest.approx(2 / 1.3)  # successful requests per second
    assert s.goodput_rps == pytest.approx(1 / 1.3)  # one of the two met TTFT ≤ 500 ms
    opened = summarize("rate=2/s", results, {}, rate=2.0)
    assert opened.duration_s == pytest.approx(2.0)  # open loop: first start to last end
    assert s.ttft.p50 == pytest.approx(0.55)
    assert not s.meets({})  # an error fails any SLO
    ok = summarize("c=1", results[:1], {}, concurrency=1)
    assert ok.meets(parse_slo("ttft_p95=300ms,e2e_p99=2s"))
    assert not ok.meets(parse_slo("ttft_p95=100ms"))


def test_slo_and_level_parsing_explain_what_is_accepted() -> None:
    assert parse_slo("ttft_p95=500ms, itl_p95=50ms,e2e_mean=2s") == {
        "ttft_p95": 0.5,
        "itl_p95": 0.05,
        "e2e_mean": 2.0,
    }
    with pytest.raises(InputError, match="'ttft=5' is not METRIC_PCT=VALUE"):
        parse_slo("ttft=5")
    assert parse_levels("1,2,8", None) == [Level(1), Level(2), Level(8)]
    assert parse_levels(None, "0.5,2") == [Level(rate=0.5), Level(rate=2.0)]
    for args, message in (
        ((None, None), "exactly one of"),
        (("1,x", None), "'x' is not valid"),
        (("1.5", None), "positive whole numbers"),
        ((None, "-1"), "req"),
    ):
        with pytest.raises(InputError, match=message):
            parse_levels(*args)


def test_cost_split_by_prefill_time_and_cheapest_level_meeting_the_slo() -> None:
    pricing = Pricing(usd_per_hour=3.6, source="test")
    fast = summarize("c=1", [result(0.0, 1.0, 0.2, 100, 400)], {}, concurrency=1)
    busy = summarize(
        "c=4",
        [
            result(0.0, 1.0, 0.6, 100, 400),
            result(0.0, 1.0, 0.6, 100, 400),
            result(0.0, 1.0, 0.6, 100, 400),
            result(0.0, 1.0, 0.6, 100, 400),
        ],
        {},
        concurrency=4,
    )
    share = Pricing.prefill_share(fast)
    assert share == pytest.approx(0.2)
    costs = pricing.level_costs(fast, share)
    # $0.001/s: 20% of it buys 400 input tokens, 80% buys 100 output tokens
    assert costs["usd_per_1k_input"] == pytest.approx(0.001 * 0.2 / 400 * 1000)
    assert costs["usd_per_1k_output"] == pytest.approx(0.001 * 0.8 / 100 * 1000)
    assert costs["usd_per_1k_tokens"] == pytest.approx(0.001 / 500 * 1000)
    fast.costs, busy.costs = costs, pricing.level_costs(busy, share)
    slo = parse_slo("ttft_p95=700ms")
    assert cheapest([fast, busy], slo) == "c=4"  # 4× the tokens for the same dollars
    assert cheapest([fast, busy], parse_slo("ttft_p95=300ms")) == "c=1"
    assert cheapest([fast, busy], parse_slo("ttft_p95=10ms")) is None


def test_roofline_efficiency_uses_the_catalog_shape() -> None:
    pricing = Pricing.from_flags(
        hardware="H100-SXM", catalog_model="llama-3.1-8b", precision="fp8", lease_usd_per_hour=2.0
    )
    assert pricing is not None and pricing.usd_per_hour == pytest.approx(2.0)
    s = summarize("c=8", [result(0.0, 2.0, 0.1, 256, 1024) for _ in range(8)], {}, concurrency=8)
    eff = pricing.roofline_efficiency(s)
    assert eff is not None and 0 < eff["efficiency"] < 1
    assert eff["roofline_output_tokens_per_s"] > s.output_tokens_per_s


def test_energy_from_an_assumed_tdp_is_not_marked_measured() -> None:
    """The reason NVML gave ("NVML unavailable: ...") starts with NVML: that was read as
    measured, beside a note saying the watts were assumed."""
    pricing = Pricing.from_flags(hardware="H100-SXM", lease_usd_per_hour=2.0)
    assert pricing is not None
    stats = summarize("c=1", [RequestResult(0.0, 1.0, True, ttft_s=0.1, output_tokens=10)], {})
    assumed = pricing.energy(stats, None, "NVML unavailable: no driver")
    assert assumed["measured"] is False and "assumed 700 W TDP" in assumed["note"]
    assert pricing.energy(stats, 350.0, None)["measured"] is True
