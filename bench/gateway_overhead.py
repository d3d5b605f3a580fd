"""Added latency and CPU of the gateway, against a bare pass-through and LiteLLM's proxy.

Everything talks to the same fast fake upstream on loopback. The server under test runs
alone on core 0 (one worker); the fake upstream and this load generator share core 1.
The gateway runs in several configurations, so each mechanism's cost is a difference:

- batched ledger, no budgets: rows reach the ledger in batches (lost if the process dies);
  and the same with the guard off, so the guard's deterministic layer has a price too;
- + journal + holds (memory): every row durable before the last byte, and a budget hold
  reserved (prompt counted, max_tokens priced) and settled on every call;
- + journal + holds in Redis: the same, with the holds and counters in Redis (two Lua
  scripts per call), as replicas run; with `--workers 2` on both cores; and with the
  guard off: issue 9's speed goals were set for the ledger's pipeline before the guard
  stage existed, so they are reported for both.

Every server starts at once and is measured in turn, round after round (`--rounds`), so a
drift in the machine's speed (this shared VM's moves by tens of percent over minutes)
weighs on every configuration alike. `--baseline-src` adds another checkout's gateway
(for instance a `git worktree` of an earlier commit) to the same rounds: a paired A/B.

    python bench/gateway_overhead.py [--skip-litellm] [--skip-workers] [--rounds 4]
    git worktree add /tmp/before HEAD~3 && \
        python bench/gateway_overhead.py --skip-litellm --baseline-src /tmp/before/src

LiteLLM runs from its own virtual environment (offline: LITELLM_LOCAL_MODEL_COST_MAP=True):
    python -m venv bench/.venv-litellm && bench/.venv-litellm/bin/pip install 'litellm[proxy]'
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import uvloop

sys.path.insert(0, str(Path(__file__).parent))
from loadgen import build_request, pct, run_load
from unitcost.testing.processes import FAKE_UPSTREAM

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
UPSTREAM, BARE, GATEWAY, LITELLM = 9101, 9102, 9103, 9104
KEY = "bench-tenant-key"
BODY = (
    b'{"model":"fake","messages":[{"role":"system","content":"You are terse."},'
    b'{"role":"user","content":"Say something short."}],"max_tokens":16}'
)
LEVELS = (1, 16, 64)
NAMES = {
    "batched-noguard": "gw batched, no guard",
    "batched": "gw batched ledger",
    "memory": "gw journal+holds",
    "redis": "gw +Redis holds",
    "redis-noguard": "gw Redis, no guard",
    "redis-baseline": "baseline +Redis",
    "redis-2-workers": "gw Redis 2 workers",
}


def cpu_seconds(pgid: int) -> float:
    """User + system CPU of every process in a process group."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 (pgrp), after the command name
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def uvicorn_command(app: str, app_dir: str, port: int) -> list[str]:
    """An ASGI app on uvicorn with the gateway's own server settings (uvloop, httptools)."""
    return [
        *(PY, "-m", "uvicorn", app, "--app-dir", app_dir, "--port", str(port)),
        *("--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log"),
    ]


def start(
    cmd: list[str], core: int | str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["taskset", "-c", str(core), *cmd],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError(f"server on {port} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGCONT)  # one paused by measure_rounds
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class Target:
    """A server under test: its port, headers, process (for CPU) and what was measured."""

    name: str
    port: int
    headers: dict[str, str]
    proc: subprocess.Popen[bytes] | None
    levels: tuple[int, ...] = LEVELS
    latencies: dict[int, list[float]] = field(default_factory=dict)
    rps: dict[int, list[float]] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)  # seconds per request
    cpu_rounds: dict[int, list[float]] = field(default_factory=dict)  # the same, per round


async def measure_rounds(targets: list[Target], counts: dict[int, int], rounds: int) -> None:
    """Each target in turn, round after round, so a machine whose speed drifts over minutes
    (a shared VM's does) weighs on every target alike. The servers not being measured are
    paused (SIGSTOP), so the one measured has its core to itself, as if it ran alone."""
    for t in targets:
        if t.proc:
            os.killpg(t.proc.pid, signal.SIGSTOP)
    for _ in range(rounds):
        for t in targets:
            if t.proc:
                os.killpg(t.proc.pid, signal.SIGCONT)
                await asyncio.sleep(0.5)  # its timers catch up before it is measured
            try:
                await measure_once(t, counts, rounds)
            finally:
                if t.proc:
                    os.killpg(t.proc.pid, signal.SIGSTOP)
    for t in targets:
        if t.proc:
            os.killpg(t.proc.pid, signal.SIGCONT)


async def measure_once(t: Target, counts: dict[int, int], rounds: int) -> None:
    """One round of one target: every concurrency level, a 1/rounds share of its requests."""
    request = build_request("127.0.0.1", t.port, "/v1/chat/completions", BODY, t.headers)
    for c in t.levels:
        n = max(1, counts[c] // rounds)
        warmup = min(200, n // 5)
        cpu0 = cpu_seconds(t.proc.pid) if t.proc else 0.0
        result = await run_load(
            "127.0.0.1", t.port, request, concurrency=c, requests=n, warmup=warmup
        )
        if result.errors:
            raise RuntimeError(f"{result.errors} errors on {t.name} at concurrency {c}")
        if t.proc:  # the CPU clock ran through the warm-up requests too
            served = n + warmup
            per_request = (cpu_seconds(t.proc.pid) - cpu0) / served
            t.cpu[c] = t.cpu.get(c, 0.0) + per_request / rounds
            t.cpu_rounds.setdefault(c, []).append(per_request)
        t.latencies.setdefault(c, []).extend(result.latencies_s)
        t.rps.setdefault(c, []).append(result.rps)


def gateway_config(tmp: Path, variant: str, port: int) -> Path:
    cfg = tmp / f"gateway-{variant}.yaml"
    batched = variant.startswith("batched")
    journal = "false" if batched else "true"
    budget = "" if batched else ", budget_usd_per_month: 1000000"
    enabled = "false" if variant.endswith("-noguard") else "true"
    limits = (
        f'limits: {{backend: redis, key_prefix: "bench{os.getpid()}{variant}:"}}'
        if variant.startswith("redis")
        else ""
    )
    # The guard's deterministic layer is on except in the `-noguard` variants; its
    # injection classifier (milliseconds of CPU per request) is measured in bench/guard.py.
    cfg.write_text(f"""
port: {port}
guard: {{enabled: {enabled}, default: {{injection: {{policy: "off"}}}}}}
ledger: {{url: "sqlite:///{tmp}/ledger-{variant}.db", journal: {journal}}}
tenants: [{{name: bench, keys: ["{KEY}"]{budget}}}]
{limits}
deployments:
  - name: fake
    backend: openai
    options: {{url: "http://127.0.0.1:{UPSTREAM}/v1", model: fake}}
    price: {{list_price: {{input_usd_per_m: 0.25, output_usd_per_m: 2.0, source: bench}}}}
""")
    return cfg


def litellm_config(tmp: Path) -> Path:
    cfg = tmp / "litellm.yaml"
    cfg.write_text(f"""
model_list:
  - model_name: fake
    litellm_params: {{model: openai/fake, api_base: "http://127.0.0.1:{UPSTREAM}/v1", api_key: x}}
general_settings: {{master_key: sk-bench-master}}
litellm_settings: {{telemetry: false}}
""")
    return cfg


def start_gateway(
    tmp: Path, variant: str, port: int, workers: int, cores: str, src: str | None = None
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": src} if src else None
    cmd = [PY, "-m", "unitcost", "serve", "--config", str(gateway_config(tmp, variant, port))]
    return start([*cmd, "--workers", str(workers)], cores, env)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-litellm", action="store_true")
    ap.add_argument("--skip-workers", action="store_true")
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds per target")
    ap.add_argument(
        "--baseline-src",
        help="another checkout's src/ (e.g. a git worktree of an earlier commit): its gateway "
        "with Redis holds is measured in the same rounds, for a paired before/after",
    )
    args = ap.parse_args()
    os.sched_setaffinity(0, {1})
    fast = {1: args.requests, 16: args.requests * 2, 64: args.requests * 3}
    slow = {1: 150, 16: 300, 64: 400}
    tmp = Path(tempfile.mkdtemp(prefix="unitcost-bench-"))
    procs = []
    upstream = start([*FAKE_UPSTREAM, "--port", str(UPSTREAM)], 1)
    procs.append(upstream)
    gw_headers = {"authorization": f"Bearer {KEY}"}
    try:
        await wait_ready(UPSTREAM, upstream)
        bare = start(
            uvicorn_command("bare_proxy:app", "bench", BARE),
            0,
            {**os.environ, "UPSTREAM": f"http://127.0.0.1:{UPSTREAM}"},
        )
        procs.append(bare)
        targets = [
            Target("direct", UPSTREAM, {}, None),
            Target("bare pass-through", BARE, {}, bare),
        ]
        # every server runs from the start, paused while another is measured
        variants = [
            ("batched-noguard", 1, "0", None),
            ("batched", 1, "0", None),
            ("memory", 1, "0", None),
            ("redis", 1, "0", None),
            ("redis-noguard", 1, "0", None),
        ]
        if args.baseline_src:
            variants.append(("redis-baseline", 1, "0", args.baseline_src))
        if not args.skip_workers:
            variants.append(("redis-2-workers", 2, "0,1", None))
        for i, (variant, workers, cores, src) in enumerate(variants):
            gw = start_gateway(tmp, variant, GATEWAY + i, workers, cores, src)
            procs.append(gw)
            levels = LEVELS if workers == 1 else (64,)
            targets.append(Target(NAMES[variant], GATEWAY + i, gw_headers, gw, levels))
        for t in targets:
            await wait_ready(t.port, t.proc or upstream)
        await asyncio.sleep(1.5)  # past the Redis limits' start-up grace
        await measure_rounds(targets, fast, args.rounds)
        ledger_rows = subprocess.run(
            [
                PY,
                "-c",
                f"import sqlite3; print(sqlite3.connect('{tmp}/ledger-redis.db')"
                ".execute('select count(*) from usage').fetchone()[0])",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
        for p in procs[1:]:
            stop(p)

        litellm_bin = ROOT / "bench" / ".venv-litellm" / "bin" / "litellm"
        if not args.skip_litellm and litellm_bin.exists():
            env = {
                **os.environ,
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "HF_HUB_OFFLINE": "1",
                "LITELLM_LOG": "ERROR",
            }
            lite = start(
                [
                    str(litellm_bin),
                    "--config",
                    str(litellm_config(tmp)),
                    "--port",
                    str(LITELLM),
                    "--num_workers",
                    "1",
                ],
                0,
                env,
            )
            procs.append(lite)
            await wait_ready(LITELLM, lite, timeout=180)
            await asyncio.sleep(3)
            lite_t = Target(
                "LiteLLM proxy", LITELLM, {"authorization": "Bearer sk-bench-master"}, lite
            )
            await measure_rounds([lite_t], slow, 1)
            targets.append(lite_t)
            stop(lite)
        elif not args.skip_litellm:
            print(f"(LiteLLM skipped: {litellm_bin} not found; see this script's docstring)")
    finally:
        for p in procs:
            if p.poll() is None:
                stop(p)
    report(targets, ledger_rows, args.rounds)


def report(targets: list[Target], ledger_rows: str, rounds: int) -> None:
    by = {t.name: t for t in targets}
    direct = by["direct"]

    def added(t: Target, c: int, q: float, over: Target | None = None) -> float:
        """Latency `t` adds at the q-th percentile over `over` (the direct call), in ms."""
        ref = over or direct
        return (pct(t.latencies[c], q) - pct(ref.latencies[c], q)) * 1e3

    def rps(t: Target, c: int = 64) -> float:
        return median(t.rps[c])

    print(
        f"\nserver under test on 1 core; {os.cpu_count()} cores total; body {len(BODY)} bytes; "
        f"{rounds} interleaved rounds (req/s: the median round)"
    )
    print(
        f"{'target':<20}{'conc':>5}{'p50 ms':>8}{'p99 ms':>8}{'+p50':>8}{'+p99':>8}"
        f"{'req/s':>8}{'µs/req':>8}"
    )
    for t in targets:
        for c in t.levels:
            lat = t.latencies[c]
            extra = "" if t is direct else f"{added(t, c, 50):>8.3f}{added(t, c, 99):>8.3f}"
            cpu_s = f"{t.cpu[c] * 1e6:>8.0f}" if c in t.cpu else ""
            print(
                f"{t.name:<20}{c:>5}{pct(lat, 50) * 1e3:>8.3f}{pct(lat, 99) * 1e3:>8.3f}"
                f"{extra:<16}{rps(t, c):>8.0f}{cpu_s}"
            )
    print("(+p50, +p99: added to the direct call, ms; µs/req: server CPU per request)")
    bare, g, base = by["bare pass-through"], by[NAMES["redis"]], by[NAMES["batched"]]
    print(
        f"\nledger rows written with Redis holds: {ledger_rows} (every request, warm-up included)"
    )
    for variant in ("batched", "memory", "redis", "redis-noguard", "redis-baseline"):
        if NAMES[variant] not in by:
            continue
        v = by[NAMES[variant]]
        print(
            f"{NAMES[variant]}: added p50 {added(v, 1, 50):.3f} ms, p99 {added(v, 1, 99):.3f} ms "
            f"at c=1; {rps(v):.0f} req/s at c=64; CPU {v.cpu[64] * 1e6:.0f} µs/req "
            f"({v.cpu[64] / bare.cpu[64]:.2f}× bare)"
        )
    memory, unguarded = by[NAMES["memory"]], by[NAMES["batched-noguard"]]
    print(
        "cost of each mechanism in CPU per request at c=64: the gateway with no guard, "
        f"budgets or journal {(unguarded.cpu[64] - bare.cpu[64]) * 1e6:+.0f} µs over bare, "
        f"the guard's deterministic layer {(base.cpu[64] - unguarded.cpu[64]) * 1e6:+.0f} µs, "
        "journal + memory holds "
        f"{(memory.cpu[64] - base.cpu[64]) * 1e6:+.0f} µs, "
        f"Redis instead of memory {(g.cpu[64] - memory.cpu[64]) * 1e6:+.0f} µs"
    )

    print(
        "goals with Redis holds and the journal: added p50 ≤ 0.3 ms, p99 ≤ 1 ms at c=1, "
        "≥ 6,000 req/s one worker; measured over the bare pass-through (over the direct call)"
    )
    for t in (g, by[NAMES["redis-noguard"]]):
        print(
            f"  {t.name}: {added(t, 1, 50, bare):.3f} / {added(t, 1, 99, bare):.3f} ms "
            f"({added(t, 1, 50):.3f} / {added(t, 1, 99):.3f} ms), {rps(t):.0f} req/s"
        )
    if NAMES["redis-baseline"] in by:
        b = by[NAMES["redis-baseline"]]
        print(
            f"this checkout vs --baseline-src, Redis holds, c=64: CPU {g.cpu[64] * 1e6:.0f} vs "
            f"{b.cpu[64] * 1e6:.0f} µs/req ({g.cpu[64] / b.cpu[64] - 1:+.1%}), "
            f"{rps(g):.0f} vs {rps(b):.0f} req/s ({rps(g) / rps(b) - 1:+.1%})"
        )
        # This VM's speed moves by tens of percent between rounds; the ratio of the two
        # checkouts within each round (measured back to back) is steadier than either mean.
        ratios = sorted(a / z for a, z in zip(g.cpu_rounds[64], b.cpu_rounds[64], strict=True))
        low, high = ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]
        print(
            f"  CPU ratio within each round: median {median(ratios):.3f}, "
            f"quartiles {low:.3f}-{high:.3f} over {len(ratios)} rounds"
        )
    if NAMES["redis-2-workers"] in by:
        pair = by[NAMES["redis-2-workers"]]
        two = rps(pair)
        print(
            f"2 workers: {two:.0f} req/s = {two / rps(g):.2f}× one worker (goal ≥ 1.7×; "
            "the load generator and the fake upstream share the same 2 cores)"
        )
        # What two workers would give with two cores of their own: CPU per request is what
        # they add to each other (Redis, the shared socket); the cores they lack are not.
        print(
            f"2 workers' CPU per request: {pair.cpu[64] * 1e6:.0f} vs {g.cpu[64] * 1e6:.0f} µs "
            f"for one; with two cores to themselves that scales to "
            f"{2 * g.cpu[64] / pair.cpu[64]:.2f}× (an estimate from CPU, not a measured rate)"
        )
    if "LiteLLM proxy" in by:
        lite = by["LiteLLM proxy"]
        print(
            f"LiteLLM ÷ gateway CPU per request: {lite.cpu[64] / g.cpu[64]:.1f}×; max req/s "
            f"{rps(lite):.0f} vs {rps(g):.0f}; added p50 at c=1 {added(lite, 1, 50):.2f} ms"
        )


if __name__ == "__main__":
    uvloop.run(main())
