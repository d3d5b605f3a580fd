"""Validate `unitcost bench` against GuideLLM, and measure our load client's own overhead.

    .venv/bin/python bench/validate_guidellm.py [--n-threads 1]

1. Agreement with GuideLLM. One llama.cpp `llama-server` (the `unitcost engine install`
   build; SmolLM2-135M-Instruct Q4_1, one slot, so requests are served one at a time and
   the server's clock of a request is its whole latency) is measured by the `unitcost
   bench` command line itself (`--concurrency N --warmup 2 --dataset ... --ignore-eos`, one
   run per level, read back from its bench.json) and by GuideLLM 0.8.1 (its own venv,
   bench/.venv-guidellm, fully offline) at concurrency 1 and 2, never at the same time:
   three rounds, each one GuideLLM run and one of ours, the order alternating (G-O, O-G,
   G-O) so a machine that speeds up or slows down hits both tools alike. Each tool's numbers
   are pooled over its rounds. Both send chat requests of exactly 128 prompt tokens (chat
   template included, counted with the GGUF's tokenizer and checked against the server's
   own count) and get exactly 32 output tokens (`max_tokens` 32 and `ignore_eos`, which
   llama-server honours, temperature 0).

   Server threads: 1 by default (`--n-threads`), the engine's own default: on this shared
   2-core machine two llama.cpp workers stall whenever anything else runs (README, "Local
   engine"), and a comparison of two clients would then measure their CPU footprints
   (GuideLLM's is larger) more than their clocks.

   What is compared, per level (means against means):
   - TTFT. Ours: first content token − request start (before the pooled connection is
     taken). GuideLLM: first content token − when httpx starts writing the request headers.
   - ITL. Ours: (end-to-end − TTFT) ÷ (output tokens − 1), end = after `data: [DONE]`, mean
     over requests. GuideLLM: (last content token − first content token) ÷ (output tokens −
     1), mean weighted by output tokens − 1; with every request at 32 tokens the two
     weightings coincide. Ours also holds the final usage chunk and `[DONE]`.
   - Output tokens/s: output tokens ÷ measured window. GuideLLM: its
     `output_tokens_per_second` mean, which is output tokens ÷ its window (checked). Ours:
     bench.json's output tokens ÷ its window. Pooled: Σ tokens ÷ Σ windows.
   - Output tokens. Ours: the `usage` llama-server sends in the stream's last chunk;
     GuideLLM counts content chunks (one per token).
   - Warm-up and window. GuideLLM (warmup=2 requests, read off its JSON) starts measuring
     when the 4th request starts and counts every request that ends after that. Ours is the
     bench's own steady-state rule (unitcost.bench.runner): one uninterrupted closed loop;
     the window opens once 2 warm-up requests and one request per stream have finished,
     measures the requests that start in it, and keeps the load on (unmeasured, then
     cancelled) until the last measured one has finished. Both therefore measure requests
     that queue as in steady state; no special handling of either tool's results is done.

   The check: "clocked" differences. The tools cannot run at once, and this shared VM's
   speed drifts by ±20% and more between stretches of seconds, so raw means of the two
   tools' segments differ from drift alone (raw ratios per round are printed). The server
   logs its own timing of every request (prompt eval, eval per token, total), so each
   tool's number is divided by what the server's clock says about the very requests it
   measured (GuideLLM: the last completions of each level; ours: the last full-length
   completions of each run, since a cool-down request cancelled at the window's end stops
   short), and the tools are compared on those ratios:
     TTFT ÷ server prefill (c=1), ÷ (server whole request + prefill) at c=2, where a
     request first waits for the one being served; ITL ÷ server decode time per token;
     tokens/s × server whole-request time ÷ 32 (the fraction of time the server was busy).
   What remains is what each client adds or leaves out. Raw differences are printed next
   to them; the 10% check (and the exit status) uses the clocked ones, or the raw ones if
   the server's timings could not be matched to the requests.

   GuideLLM reads a JSON-lines dataset of chat messages (`messages`, `prompt_tokens_count`,
   `output_tokens_count`), made by our synthetic generator with another seed (different
   words, same structure, so llama.cpp's prefix reuse is the same for both tools); ours
   reads the same kind of file. GuideLLM's tokenizer is the GGUF's, converted to a Hugging
   Face directory under /tmp (transformers + `gguf` in GuideLLM's venv), which also
   re-counts its prompts. Other GuideLLM 0.8.1 details: `validate_backend=false`,
   `extras.body.max_tokens=32` (GuideLLM sends `max_completion_tokens` and `ignore_eos`
   itself), levels as
   `--override profile.streams 1,2` (a `[1,2]` inside a kind=... string does not parse).

   Set-up, once: python3 -m venv bench/.venv-guidellm &&
   bench/.venv-guidellm/bin/pip install guidellm==0.8.1 gguf

2. Our client's own overhead. The zero-latency fake upstream runs on core 1 (taskset); this
   process is pinned to core 0 and drives it with BenchClient streaming requests, open loop
   at 1,000 requests/s (Poisson) for 5 s, in 1-s slices alternating with a floor: a minimal
   asyncio protocol client sending the same bytes on the same schedule. Reported: this
   process's CPU time ÷ requests, the achieved rate, and end-to-end latency of both.
   Goal: under 1 ms of CPU per request. Objects left from part 1 are frozen (gc.freeze)
   first: otherwise one full collection of them (~70 ms here) lands in one client's slice
   and dominates its p99. GC pauses inside the slices are printed.

Exits non-zero if any agreement check is outside 10% or the overhead goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

from unitcost.bench.client import BenchClient, RequestResult
from unitcost.bench.prompts import Prompt, synthetic
from unitcost.bench.runner import Level, run_level
from unitcost.engine.server import LocalModel
from unitcost.wire.tokens import load_tokenizer

ROOT = Path(__file__).resolve().parents[1]
GL_VENV = ROOT / "bench" / ".venv-guidellm"
GL_BIN = GL_VENV / "bin" / "guidellm"
GL_PY = GL_VENV / "bin" / "python"

INPUT_TOKENS, OUTPUT_TOKENS = 128, 32
LEVELS = (1, 2)
ROUNDS = 3
GL_REQUESTS = 8  # GuideLLM's max_requests per level and run, its warm-up included
GL_WARMUP = 2  # GuideLLM's warmup value (mode=requests)
OURS_REQUESTS = 6  # measured per level by `unitcost bench --warmup 2` (its steady-state window)
TOLERANCE = 0.10
OVERHEAD_RATE, OVERHEAD_SLICES, SLICE_S, CPU_GOAL_S = 1000.0, 5, 1.0, 1e-3
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
    """CPU of waited-for children and their descendants (a finished GuideLLM run)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def gguf_path() -> Path:
    from unitcost.engine.cache import model_path, require_engine

    require_engine()  # one line naming `unitcost engine install` if it has not run
    return model_path("Q4_1")


def guidellm_version() -> str:
    found = sorted(GL_VENV.glob("lib/python*/site-packages/guidellm-*.dist-info"))
    return found[0].name.split("-")[1].removesuffix(".dist") if found else "?"


@dataclass
class Noise:
    """Cores used during a segment, on average: the server, the client, everything else."""

    server: float = 0.0
    client: float = 0.0
    other: float = 0.0


@contextlib.contextmanager
def metered(server_pid: int, client_cpu: Callable[[], float]) -> Iterator[Noise]:
    noise = Noise()
    w0, b0, s0, c0 = time.perf_counter(), busy_seconds(), pid_cpu(server_pid), client_cpu()
    yield noise
    wall = time.perf_counter() - w0
    noise.server = (pid_cpu(server_pid) - s0) / wall
    noise.client = (client_cpu() - c0) / wall
    noise.other = max(0.0, (busy_seconds() - b0) / wall - noise.server - noise.client)


# ---------------------------------------------------------------- part 1: agreement


@dataclass
class Pooled:
    """One tool's numbers at one level, as sums, so that segments add up."""

    requests: int = 0
    ttft_sum: float = 0.0  # seconds × requests
    itl_sum: float = 0.0  # seconds × the tool's own weight
    itl_weight: float = 0.0
    tokens: float = 0.0
    window: float = 0.0
    errors: int = 0
    # the server's own llama_perf timings of the same requests (seconds, summed)
    srv_n: int = 0
    srv_prefill: float = 0.0
    srv_per_token: float = 0.0
    srv_total: float = 0.0

    def add(self, other: Pooled) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

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

    def server_ms(self, what: str) -> float:
        value = getattr(self, f"srv_{what}")
        return 1000 * value / self.srv_n if self.srv_n else float("nan")

    def clocked(self, metric: str, level: int) -> float:
        """The metric over what the server's own clock predicts for it: see the docstring."""
        prefill, per_token, total = (self.server_ms(w) for w in ("prefill", "per_token", "total"))
        if metric == "ttft":
            return self.ttft_ms / ((level - 1) * total + prefill)
        if metric == "itl":
            return self.itl_ms / per_token
        return self.tokens_per_s * total / 1000 / OUTPUT_TOKENS


def server_timings(log: str) -> list[tuple[float, float, float, int]]:
    """(prefill s, decode s per token, total s, tokens generated) per completion, from
    llama-server's print_timing lines, in the order the requests finished."""
    found, prefill, per_token, generated = [], None, None, 0
    for line in log.splitlines():
        if m := re.search(r"prompt eval time =\s*([\d.]+) ms", line):
            prefill = float(m[1]) / 1000
        elif m := re.search(r"\|\s+eval time =\s*([\d.]+) ms /\s*(\d+) (?:runs|tokens)", line):
            generated = int(m[2])
            per_token = float(m[1]) / 1000 / max(1, generated)
        elif (m := re.search(r"total time =\s*([\d.]+) ms", line)) and prefill is not None:
            found.append((prefill, per_token or float("nan"), float(m[1]) / 1000, generated))
            prefill, per_token, generated = None, None, 0
    return found


def _add_timings(p: Pooled, block: list[tuple[float, float, float, int]]) -> None:
    for prefill, per_token, total, _ in block:
        p.srv_n += 1
        p.srv_prefill += prefill
        p.srv_per_token += per_token
        p.srv_total += total


def add_server(segment: Segment, timings: list[tuple[float, float, float, int]]) -> bool:
    """GuideLLM: give each level the server's timings of the requests it measured there.

    GuideLLM runs GL_REQUESTS requests per level, one level after the other, and counts the
    last ones to finish: on this one-at-a-time server, the last completions."""
    if len(timings) != GL_REQUESTS * len(LEVELS):
        return False
    for i, level in enumerate(LEVELS):
        block = timings[i * GL_REQUESTS : (i + 1) * GL_REQUESTS]
        _add_timings(segment[level], block[GL_REQUESTS - segment[level].requests :])
    return True


def add_server_ours(p: Pooled, timings: list[tuple[float, float, float, int]]) -> bool:
    """Ours (one CLI run per level): the measured requests are the last full-length
    completions; a cool-down request cancelled when the window closed ends short."""
    full = [t for t in timings if t[3] == OUTPUT_TOKENS]
    if len(full) < p.requests:
        return False
    _add_timings(p, full[len(full) - p.requests :])
    return True


Segment = dict[int, Pooled]


@dataclass
class Round:
    order: str
    ours: Segment
    theirs: Segment
    noise_ours: Noise
    noise_theirs: Noise
    gl_cpu_s: float


@dataclass
class Agreement:
    rounds: list[Round] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    clocked: bool = True  # every segment's server timings were found

    def pooled(self, tool: str) -> Segment:
        total = {level: Pooled() for level in LEVELS}
        for r in self.rounds:
            for level, p in getattr(r, tool).items():
                total[level].add(p)
        return total


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
        if "gguf" in done.stderr.lower():
            hint = "\n(is `gguf` installed? bench/.venv-guidellm/bin/pip install gguf)"
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


def server_prompt_tokens(url: str, prompts: list[Prompt]) -> list[int]:
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
        f"extras.body.max_tokens={OUTPUT_TOKENS},"
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
        f"kind=max_requests,count={GL_REQUESTS}",
        "--output",
        f"kind=json,path={out}",
        "--disable-console-interactive",
    ]
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            cmd, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            rc = proc.wait(timeout=400)
        finally:
            stop(proc)
    if rc != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"guidellm exited with {rc}:\n{tail}")
    return list(json.loads(out.read_text())["benchmarks"])


def guidellm_segment(benchmarks: list[dict[str, Any]]) -> Segment:
    """GuideLLM's own per-level aggregates, as sums."""
    segment = {}
    for b in benchmarks:
        level = int(b["config"]["strategy"]["streams"])
        m = b["metrics"]
        ttft = m["time_to_first_token_ms"]["successful"]
        itl = m["inter_token_latency_ms"]["successful"]
        rate = m["output_tokens_per_second"]["successful"]
        tokens = m["output_token_count"]["successful"]["total_sum"]
        if abs(rate["mean"] * b["duration"] - tokens) > 0.5:
            # GuideLLM's rate is its own (not always total tokens ÷ its window): compare it
            # as reported, and say how far it is from the window's
            print(
                f"note: GuideLLM c={level}: reported {rate['mean']:.2f} tok/s, its tokens ÷ "
                f"its duration {tokens / b['duration']:.2f} tok/s"
            )
        n = int(ttft["count"])
        segment[level] = Pooled(
            requests=n,
            ttft_sum=ttft["mean"] / 1000 * n,
            itl_sum=itl["mean"] / 1000 * itl["count"],
            itl_weight=itl["count"],
            tokens=rate["mean"] * b["duration"],
            window=b["duration"],
            errors=int(m["request_totals"]["errored"]),
        )
    return segment


def ours_level(
    url: str, gguf: Path, dataset: Path, level: int, out: Path, env: dict[str, str]
) -> Pooled:
    """Ours at one level: the `unitcost bench` command line, as a user runs it."""
    cmd = [
        sys.executable,
        "-m",
        "unitcost",
        "bench",
        url,
        "--model",
        "smollm2",
        "--concurrency",
        str(level),
        "--requests",
        str(OURS_REQUESTS),
        "--warmup",
        str(GL_WARMUP),
        "--dataset",
        str(dataset),
        "--output-tokens",
        str(OUTPUT_TOKENS),
        "--ignore-eos",
        "--tokenizer",
        f"gguf:{gguf}",
        "--usd-per-hour",
        "1",
        "--out",
        str(out),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"unitcost bench exited with {done.returncode}:\n{done.stderr[-1500:]}")
    (s,) = json.loads((out / "bench.json").read_text())["levels"]
    ok = int(s["requests"]) - int(s["errors"])
    if not ok:
        raise RuntimeError(f"ours at c={level}: no successful requests")
    return Pooled(
        requests=ok,
        ttft_sum=float(s["ttft"]["mean"]) * ok,
        itl_sum=float(s["itl"]["mean"]) * ok,  # our bench's own number: the mean over requests
        itl_weight=ok,
        tokens=float(s["output_tokens"]),
        window=float(s["duration_s"]),
        errors=int(s["errors"]),
    )


def agreement(tmp: Path, n_threads: int) -> Agreement:
    gguf = gguf_path()
    tokenizer = load_tokenizer(f"gguf:{gguf}")
    count = 2 * GL_REQUESTS * len(LEVELS)
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

    ours_dataset = tmp / "ours_prompts.jsonl"
    with ours_dataset.open("w") as f:
        for p in ours_prompts:
            f.write(json.dumps({"messages": p.messages, "max_tokens": p.max_tokens}) + "\n")
    ours_env = {**os.environ, "COLUMNS": "200"}
    result = Agreement()
    # one slot: requests are served one at a time, so the server's clock of each request
    # is the whole story of its latency (the normalisation below relies on it)
    engine = LocalModel.start(parallel=1, threads=n_threads, ctx_per_slot=2048)
    server, server_log = engine.proc, engine.log_path
    port = int(engine.url.rsplit(":", 1)[1].split("/")[0])
    try:
        url = engine.url
        lengths = sorted({p.input_tokens for p in [*ours_prompts, *their_prompts]})
        counted = server_prompt_tokens(url, [ours_prompts[-1], their_prompts[-1]])
        result.notes.append(
            f"prompt tokens: GGUF tokenizer {lengths}, GuideLLM's converted HF tokenizer "
            f"{hf_count}, server usage {counted}"
        )
        for n in range(ROUNDS):
            order = ("guidellm", "ours") if n % 2 == 0 else ("ours", "guidellm")
            seg: dict[str, Segment] = {}
            noise: dict[str, Noise] = {}
            gl_cpu = 0.0
            for tool in order:
                mark = server_log.stat().st_size
                if tool == "ours":
                    seg[tool] = {}
                    with metered(server.pid, children_cpu) as noise[tool]:
                        for level in LEVELS:
                            mark = server_log.stat().st_size
                            out = tmp / f"ours_{n}_c{level}"
                            p = ours_level(url, gguf, ours_dataset, level, out, ours_env)
                            seg[tool][level] = p
                            time.sleep(0.5)  # the server logs timings just after the last byte
                            text = server_log.read_bytes()[mark:].decode(errors="replace")
                            if not add_server_ours(p, server_timings(text)):
                                result.clocked = False
                                result.notes.append(
                                    f"round {n + 1}, ours c={level}: server timings not matched"
                                )
                    continue
                if tool == "guidellm":
                    before = children_cpu()
                    with metered(server.pid, children_cpu) as noise[tool]:
                        benchmarks = run_guidellm(
                            f"http://127.0.0.1:{port}",
                            dataset,
                            tok_dir,
                            tmp / f"guidellm_{n}.json",
                            env,
                            tmp / "guidellm.log",
                        )
                    gl_cpu = children_cpu() - before
                    seg[tool] = guidellm_segment(benchmarks)
                time.sleep(0.5)  # the server logs a request's timings just after its last byte
                text = server_log.read_bytes()[mark:].decode(errors="replace")
                if not add_server(seg[tool], server_timings(text)):
                    result.clocked = False
                    result.notes.append(f"round {n + 1}, {tool}: server timings not matched")
            counts = {t: [seg[t][level].requests for level in LEVELS] for t in seg}
            if counts["ours"] != counts["guidellm"]:
                result.notes.append(f"round {n + 1}: requests measured differ: {counts}")
            result.rounds.append(
                Round(
                    " then ".join("GuideLLM" if t == "guidellm" else "ours" for t in order),
                    seg["ours"],
                    seg["guidellm"],
                    noise["ours"],
                    noise["guidellm"],
                    gl_cpu,
                )
            )
    finally:
        engine.stop()
    return result


def report_agreement(a: Agreement) -> bool:
    ok = True
    ours_all, theirs_all = a.pooled("ours"), a.pooled("theirs")
    print(
        f"{'level':<6} {'metric':<22} {'ours':>8} {'GuideLLM':>8} {'raw diff':>9} "
        f"{'clocked diff':>12}  within 10%"
    )
    for level in LEVELS:
        o, t = ours_all[level], theirs_all[level]
        rows = [
            ("TTFT mean (ms)", o.ttft_ms, t.ttft_ms, "ttft"),
            ("ITL mean (ms)", o.itl_ms, t.itl_ms, "itl"),
            ("output tokens/s", o.tokens_per_s, t.tokens_per_s, "tokens"),
            ("requests measured", o.requests, t.requests, None),
            ("output tokens/request", o.tokens_per_request, t.tokens_per_request, None),
        ]
        for name, ours, theirs, metric in rows:
            raw = ours / theirs - 1 if theirs else float("nan")
            clocked, verdict = "", "(info)"
            if metric is not None:
                rel = raw
                if a.clocked:
                    rel = o.clocked(metric, level) / t.clocked(metric, level) - 1
                    clocked = f"{rel:+.1%}"
                good = bool(abs(rel) <= TOLERANCE)
                ok &= good
                verdict = "yes" if good else "NO"
            print(
                f"c={level:<4} {name:<22} {ours:>8.2f} {theirs:>8.2f} {raw:>+9.1%} "
                f"{clocked:>12}  {verdict}"
            )
        if o.errors or t.errors:
            ok = False
            print(f"c={level}: errors: ours {o.errors}, GuideLLM {t.errors}")
    print("the server's own timing of the measured requests, during ours | GuideLLM:")
    for level in LEVELS:
        o, t = ours_all[level], theirs_all[level]
        print(
            f"  c={level}: prefill {o.server_ms('prefill'):.0f} | {t.server_ms('prefill'):.0f} ms,"
            f" decode {o.server_ms('per_token'):.1f} | {t.server_ms('per_token'):.1f} ms/token,"
            f" whole request {o.server_ms('total'):.0f} | {t.server_ms('total'):.0f} ms"
        )
    print("raw ours ÷ GuideLLM per round (TTFT, ITL, tokens/s):")
    for n, r in enumerate(a.rounds, 1):
        ratios = "; ".join(
            f"c={level} {r.ours[level].ttft_ms / r.theirs[level].ttft_ms:.2f} "
            f"{r.ours[level].itl_ms / r.theirs[level].itl_ms:.2f} "
            f"{r.ours[level].tokens_per_s / r.theirs[level].tokens_per_s:.2f}"
            for level in LEVELS
        )
        print(f"  round {n} ({r.order}): {ratios}")
    for name, attr in (("ours", "noise_ours"), ("GuideLLM", "noise_theirs")):
        cores = [getattr(r, attr) for r in a.rounds]
        print(
            f"cores busy during {name}'s runs: server {np.mean([c.server for c in cores]):.2f}, "
            f"client {np.mean([c.client for c in cores]):.2f}, other processes "
            f"{np.mean([c.other for c in cores]):.2f}"
        )
    print(
        "GuideLLM CPU per run (its start-up and worker processes included): "
        + ", ".join(f"{r.gl_cpu_s:.1f} s" for r in a.rounds)
    )
    if not a.clocked:
        print("note: server timings incomplete: the check uses the raw differences")
    for note in a.notes:
        print("note:", note)
    return ok


# ---------------------------------------------------------------- part 2: client overhead


class _FloorConnection(asyncio.Protocol):
    """The least a client can do: write the bytes, wait for the chunked body's last chunk."""

    def __init__(self) -> None:
        self.transport: asyncio.BaseTransport | None = None
        self.done: asyncio.Future[None] | None = None
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

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
        conn.transport.write(self.request)  # type: ignore[union-attr]
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
    client: FloorClient, rate: float, duration: float, seed: int
) -> list[tuple[float, float, bool]]:
    """run_level's open loop (same Poisson schedule for the same seed), for the floor."""
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
    requests: int = 0
    errors: int = 0
    cpu_s: float = 0.0
    span_s: float = 0.0
    e2e_s: list[float] = field(default_factory=list)
    ttft_s: list[float] = field(default_factory=list)
    gc_pauses: list[float] = field(default_factory=list)

    def add(self, starts_ends: list[tuple[float, float]], oks: list[bool], cpu: float) -> None:
        self.requests += len(oks)
        self.errors += oks.count(False)
        self.cpu_s += cpu
        self.span_s += max(s + e for s, e in starts_ends) - min(s for s, _ in starts_ends)
        self.e2e_s += [e for (_, e), ok in zip(starts_ends, oks, strict=True) if ok]

    @property
    def rate(self) -> float:
        return (self.requests - self.errors) / self.span_s if self.span_s else 0.0

    @property
    def cpu_per_request_ms(self) -> float:
        return 1000 * self.cpu_s / self.requests if self.requests else float("nan")

    def e2e_us(self, pct: str) -> float:
        arr = np.asarray(self.e2e_s) * 1e6
        return float(arr.mean()) if pct == "mean" else float(np.percentile(arr, int(pct[1:])))


class GcWatch:
    """Garbage-collector pauses, charged to the client whose slice is running."""

    def __init__(self) -> None:
        self.current: LoadRun | None = None
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self.current is not None:
            self.current.gc_pauses.append(time.perf_counter() - self._started)


async def overhead_async(port: int, watch: GcWatch) -> tuple[LoadRun, LoadRun]:
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
    ours_run, floor_run = LoadRun(), LoadRun()
    try:
        # warm-up: connections, caches, code paths
        await run_level(client, prompts, level, duration_s=0.5, seed=99)
        await open_loop_floor(floor, OVERHEAD_RATE, 0.5, seed=99)
        for n in range(OVERHEAD_SLICES):
            for which in ("floor", "ours") if n % 2 == 0 else ("ours", "floor"):
                watch.current = floor_run if which == "floor" else ours_run
                c0 = self_cpu()
                if which == "floor":
                    raw = await open_loop_floor(floor, OVERHEAD_RATE, SLICE_S, seed=n)
                    cpu = self_cpu() - c0
                    floor_run.add([(s, e) for s, e, _ in raw], [ok for *_, ok in raw], cpu)
                else:
                    results: list[RequestResult] = await run_level(
                        client, prompts, level, duration_s=SLICE_S, seed=n
                    )
                    cpu = self_cpu() - c0
                    ours_run.add(
                        [(r.started, r.e2e_s) for r in results], [r.ok for r in results], cpu
                    )
                    ours_run.ttft_s += [r.ttft_s for r in results if r.ttft_s is not None]
                watch.current = None
    finally:
        await client.close()
        floor.close()
    return ours_run, floor_run


def overhead() -> tuple[LoadRun, LoadRun]:
    port = free_port()
    fake = subprocess.Popen(
        [
            *("taskset", "-c", "1"),
            *(sys.executable, "-m", "unitcost.testing.fake_upstream", "--port", str(port)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    affinity = os.sched_getaffinity(0)
    watch = GcWatch()
    # Part 1 leaves this process a larger heap than a bench run starts with; without this,
    # one full (gen-2) collection of it, ~70 ms here, lands in whichever client runs then.
    gc.collect()
    gc.freeze()
    gc.callbacks.append(watch)
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/embeddings", fake)
        os.sched_setaffinity(0, {0})
        return asyncio.run(overhead_async(port, watch))
    finally:
        gc.callbacks.remove(watch)
        gc.unfreeze()
        os.sched_setaffinity(0, affinity)
        stop(fake)


def report_overhead(ours: LoadRun, floor: LoadRun) -> bool:
    print(
        f"{'client':<18} {'requests':>8} {'errors':>6} {'req/s':>6} {'CPU/req':>8} "
        f"{'e2e p50':>8} {'e2e mean':>8} {'e2e p99':>8}   (µs)"
    )
    for name, r in (("ours (BenchClient)", ours), ("raw-socket floor", floor)):
        print(
            f"{name:<18} {r.requests:>8} {r.errors:>6} {r.rate:>6.0f} "
            f"{r.cpu_per_request_ms * 1000:>8.0f} {r.e2e_us('p50'):>8.0f} "
            f"{r.e2e_us('mean'):>8.0f} {r.e2e_us('p99'):>8.0f}"
        )
    ratio = ours.cpu_per_request_ms / floor.cpu_per_request_ms
    added = {k: ours.e2e_us(k) - floor.e2e_us(k) for k in ("p50", "mean", "p99")}
    print(
        f"CPU per request, ours ÷ floor: {ratio:.2f}×; latency ours adds over the floor: "
        f"p50 {added['p50']:+.0f} µs, mean {added['mean']:+.0f} µs, p99 {added['p99']:+.0f} µs"
    )
    if ours.ttft_s:
        print(f"ours: TTFT p50 {np.percentile(ours.ttft_s, 50) * 1e6:.0f} µs")
    print(
        "GC pauses inside the slices (objects from before frozen): "
        + ", ".join(
            f"{name} {len(r.gc_pauses)}, longest {max(r.gc_pauses, default=0) * 1000:.1f} ms"
            for name, r in (("ours", ours), ("floor", floor))
        )
    )
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
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n-threads", type=int, default=1, help="llama.cpp threads (default 1)")
    args = ap.parse_args()

    cores = os.cpu_count() or 0
    print("validate_guidellm: unitcost.bench against GuideLLM, and our client's own overhead")
    print(
        f"machine: {cores} cores ({cpu_model()}), load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; Python {sys.version.split()[0]}, "
        "asyncio default event loop"
    )
    print(
        f"model: SmolLM2-135M-Instruct Q4_1 GGUF, llama.cpp llama-server from "
        f"`unitcost engine install` (1 slot, --threads {args.n_threads}); GuideLLM "
        f"{guidellm_version()}"
    )
    print(
        f"workload: {INPUT_TOKENS} prompt tokens (chat template included) → {OUTPUT_TOKENS} "
        f"output tokens, concurrency {', '.join(map(str, LEVELS))}; {ROUNDS} rounds, each one "
        f"GuideLLM run and one of ours ({GL_REQUESTS} requests per level, warm-up included)"
    )
    if not GL_BIN.exists():
        print(f"GuideLLM not found at {GL_BIN}")
        return 2
    ok = True
    tmp = Path(tempfile.mkdtemp(prefix="validate_guidellm_", dir="/tmp"))
    try:
        print("\n1. Agreement with GuideLLM (pooled means; within 10%)")
        t0 = time.perf_counter()
        try:
            ok &= report_agreement(agreement(tmp, args.n_threads))
        except Exception as exc:
            ok = False
            print(f"agreement run failed: {exc}")
        print(f"({time.perf_counter() - t0:.0f} s)")

        print(
            f"\n2. Our client's overhead: open loop at {OVERHEAD_RATE:,.0f} req/s, "
            f"{OVERHEAD_SLICES} × {SLICE_S:g} s per client (alternating), zero-latency fake "
            "upstream on core 1, client on core 0, streaming, 10 chunks per answer"
        )
        if cores < 2:
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
