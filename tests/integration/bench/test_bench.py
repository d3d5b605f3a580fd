"""`unitcost bench` against a real model server, and through the gateway to it."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

from tests.conftest import TENANT_KEYS, fake_deployment, llama_deployment
from tests.unit.test_cli import run
from unitcost.bench import BenchConfig, run_bench
from unitcost.bench.costing import Pricing
from unitcost.bench.metrics import parse_slo
from unitcost.bench.prompts import synthetic
from unitcost.bench.runner import parse_levels
from unitcost.engine.server import LocalModel
from unitcost.wire.tokens import load_tokenizer


def bench(
    url: str,
    tok_spec: str,
    levels: str,
    requests: int,
    out: Path | None = None,
    api_key: str | None = None,
    warmup: int = 1,
) -> object:
    tok = load_tokenizer(tok_spec)
    cfg = BenchConfig(
        url=url,
        model="smollm2",
        levels=parse_levels(levels, None),
        prompts=synthetic(tok, 64, 12, 16),
        requests=requests,
        warmup=warmup,
        api_key=api_key,
        tokenizer=tok,
        slo=parse_slo("ttft_p95=30s"),
        pricing=Pricing(usd_per_hour=0.0816, source="test VM"),
        out_dir=out,
    )
    return asyncio.run(run_bench(cfg))


def test_bench_measures_a_real_server(llama_server: LocalModel, tmp_path: Path) -> None:
    report = bench(llama_server.url, f"gguf:{llama_server.gguf}", "1,2", 4, tmp_path)
    assert [s.label for s in report.levels] == ["c=1", "c=2"]  # type: ignore[attr-defined]
    for s in report.levels:  # type: ignore[attr-defined]
        assert s.errors == 0 and s.requests == 4
        assert s.input_tokens == 4 * 64  # synthetic prompts are exact, template included
        assert 0 < s.output_tokens <= 4 * 12
        assert not s.tokens_estimated  # llama-server sends usage in the stream's last chunk
        assert 0 < s.ttft.p50 < s.e2e.p50 and s.itl.p50 > 0
        assert s.costs["usd_per_1k_output"] > 0 and s.meets({"ttft_p95": 30.0})
    assert report.chosen is not None  # type: ignore[attr-defined]
    data = json.loads((tmp_path / "bench.json").read_text())
    assert len(data["levels"]) == 2 and (tmp_path / "bench.png").stat().st_size > 1000
    assert (tmp_path / "bench.csv").read_text().count("\n") == 3


def test_gateway_ledger_tokens_equal_the_bench_counts(
    run_gateway, llama_server: LocalModel
) -> None:  # type: ignore[no-untyped-def]
    gw = run_gateway([llama_deployment(llama_server)])
    report = bench(
        gw.url + "/v1",
        f"gguf:{llama_server.gguf}",
        "1,2",
        3,
        api_key=TENANT_KEYS["acme"],
        warmup=0,
    )
    levels = report.levels  # type: ignore[attr-defined]
    records = gw.records(expect=6)
    assert len(records) == 6
    assert sum(r.prompt_tokens for r in records) == sum(s.input_tokens for s in levels)
    assert sum(r.completion_tokens for r in records) == sum(s.output_tokens for s in levels)


def test_cli_unreachable_url_and_failing_server(run_gateway, fake_upstream, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run("bench", *args)

    down = cli(
        "http://127.0.0.1:9/v1", "--model", "m", "--concurrency", "1", "--out", str(tmp_path)
    )
    assert down.returncode == 1 and "error: cannot reach http://127.0.0.1:9/v1" in down.stderr
    bad = cli("http://127.0.0.1:9/v1", "--model", "m", "--concurrency", "1,x")
    assert bad.returncode == 2 and "--concurrency: 'x' is not valid" in bad.stderr
    gw = run_gateway([fake_deployment(fake_upstream)])
    fake_upstream.behaviour.fail_next = 1000
    failing = cli(
        gw.url + "/v1",
        "--model",
        "fake",
        "--concurrency",
        "1",
        "--requests",
        "3",
        "--warmup",
        "0",
        "--api-key",
        TENANT_KEYS["acme"],
        "--out",
        str(tmp_path / "o"),
    )
    assert failing.returncode == 1 and "3 of 3 requests failed at c=1" in failing.stderr
    assert json.loads((tmp_path / "o" / "bench.json").read_text())["levels"][0]["errors"] == 3


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run("bench", *args)


def test_a_200_that_is_not_an_answer_is_an_error_and_a_stall_ends(
    fake_upstream, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Garbage events, a truncated stream and an upstream that goes silent after its
    headers were counted as answers (or hung the run for 600 s per request)."""
    args = (fake_upstream.url, "--model", "fake", "--concurrency", "1", "--requests", "2")
    common = (*args, "--warmup", "0", "--tokenizer", "tiktoken:o200k_base", "--timeout", "1")
    fake_upstream.behaviour.garbage_stream = True
    garbage = _cli(*common, "--out", str(tmp_path / "g"))
    assert garbage.returncode == 1 and "2 of 2 requests failed" in garbage.stderr
    fake_upstream.behaviour.garbage_stream = False
    fake_upstream.behaviour.silent_after_headers = True
    stalled = _cli(*common, "--out", str(tmp_path / "s"))
    assert stalled.returncode == 1 and "2 of 2 requests failed" in stalled.stderr
    fake_upstream.behaviour.silent_after_headers = False
    fine = _cli(*common, "--out", str(tmp_path / "f"), "--wide")
    assert fine.returncode == 0, fine.stderr
    assert "c=1" in fine.stdout and "wrote" in fine.stdout  # results on stdout, not stderr
    assert "more columns with --wide" not in fine.stdout


def test_impossible_targets_and_prices_are_refused(fake_upstream) -> None:  # type: ignore[no-untyped-def]
    args = (fake_upstream.url, "--model", "fake", "--concurrency", "1")
    for extra, message in (
        (("--slo", "ttft_p95=0ms"), "--slo: 'ttft_p95=0ms' sets a target that is not positive"),
        (("--slo", "ttft_p95=-5ms"), "--slo: 'ttft_p95=-5ms' sets a target that is not positive"),
        (("--usd-per-hour", "-3"), "--usd-per-hour: -3 is out of bounds"),
        (("--lease-usd-per-hour", "-1"), "--lease-usd-per-hour: -1 is out of bounds"),
        (("--utilisation", "0"), "--utilisation: 0 is out of bounds"),
    ):
        proc = _cli(*args, *extra)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_a_server_that_answers_brokenly_is_not_called_down(fake_upstream) -> None:  # type: ignore[no-untyped-def]
    fake_upstream.behaviour.truncate_body = 5  # every JSON body cut after 5 bytes
    proc = _cli(fake_upstream.url, "--model", "fake", "--concurrency", "1")
    assert proc.returncode == 1 and "answered GET /models with a broken response" in proc.stderr
    assert "is the server up" not in proc.stderr
