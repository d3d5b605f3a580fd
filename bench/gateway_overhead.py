"""Added latency and CPU of the gateway, against a bare pass-through and LiteLLM's proxy.

Everything talks to the same fast fake upstream on loopback. The server under test runs
alone on core 0 (one worker); the fake upstream and this load generator share core 1.
The gateway runs in three configurations, so each mechanism's cost is a difference:

- batched ledger, no budgets: rows reach the ledger in batches (lost if the process dies);
- + journal + holds (memory): every row durable before the last byte, and a budget hold
  reserved (prompt counted, max_tokens priced) and settled on every call;
- + journal + holds in Redis: the same, with the holds and counters in Redis (two Lua
  scripts per call), as replicas run; and with `--workers 2` on both cores.

    python bench/gateway_overhead.py [--skip-litellm] [--skip-workers]

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
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).parent))
from loadgen import Result, build_request, run_load
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
    "batched": "gw batched ledger",
    "memory": "gw journal+holds",
    "redis": "gw +Redis holds",
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
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


async def measure(
    port: int, path: str, headers: dict[str, str], pgid: int | None, counts: dict[int, int]
) -> dict[int, tuple[Result, float]]:
    request = build_request("127.0.0.1", port, path, BODY, headers)
    out = {}
    for c in LEVELS:
        cpu0 = cpu_seconds(pgid) if pgid else 0.0
        result = await run_load(
            "127.0.0.1",
            port,
            request,
            concurrency=c,
            requests=counts[c],
            warmup=min(200, counts[c] // 5),
        )
        cpu = (cpu_seconds(pgid) - cpu0) / counts[c] if pgid else 0.0
        if result.errors:
            raise RuntimeError(f"{result.errors} errors on port {port} at concurrency {c}")
        out[c] = (result, cpu)
    return out


def gateway_config(tmp: Path, variant: str) -> Path:
    cfg = tmp / f"gateway-{variant}.yaml"
    journal = "false" if variant == "batched" else "true"
    budget = "" if variant == "batched" else ", budget_usd_per_month: 1000000"
    limits = (
        f'limits: {{backend: redis, key_prefix: "bench{os.getpid()}{variant}:"}}'
        if variant.startswith("redis")
        else ""
    )
    # The guard's deterministic layer stays on; its injection classifier (milliseconds of
    # CPU per request) is measured on its own in bench/guard.py.
    cfg.write_text(f"""
port: {GATEWAY}
guard: {{default: {{injection: {{policy: "off"}}}}}}
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


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-litellm", action="store_true")
    ap.add_argument("--skip-workers", action="store_true")
    ap.add_argument("--requests", type=int, default=4000)
    args = ap.parse_args()
    os.sched_setaffinity(0, {1})
    fast = {1: args.requests, 16: args.requests * 2, 64: args.requests * 3}
    slow = {1: 150, 16: 300, 64: 400}
    tmp = Path(tempfile.mkdtemp(prefix="unitcost-bench-"))
    procs = []
    upstream = start([*FAKE_UPSTREAM, "--port", str(UPSTREAM)], 1)
    procs.append(upstream)
    try:
        await wait_ready(UPSTREAM, upstream)
        results: dict[str, dict[int, tuple[Result, float]]] = {}
        results["direct"] = await measure(UPSTREAM, "/v1/chat/completions", {}, None, fast)

        bare = start(
            [
                PY,
                "-m",
                "uvicorn",
                "bare_proxy:app",
                "--app-dir",
                "bench",
                "--port",
                str(BARE),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            0,
            {**os.environ, "UPSTREAM": f"http://127.0.0.1:{UPSTREAM}"},
        )
        procs.append(bare)
        await wait_ready(BARE, bare)
        results["bare pass-through"] = await measure(
            BARE, "/v1/chat/completions", {}, bare.pid, fast
        )
        stop(bare)

        variants = [("batched", 1, "0"), ("memory", 1, "0"), ("redis", 1, "0")]
        if not args.skip_workers:
            variants.append(("redis-2-workers", 2, "0,1"))
        for variant, workers, cores in variants:
            gw = start(
                [
                    PY,
                    "-m",
                    "unitcost",
                    "serve",
                    "--config",
                    str(gateway_config(tmp, variant)),
                    "--workers",
                    str(workers),
                ],
                cores,
            )
            procs.append(gw)
            await wait_ready(GATEWAY, gw)
            await asyncio.sleep(1.5)  # past the Redis limits' start-up grace
            results[NAMES[variant]] = await measure(
                GATEWAY,
                "/v1/chat/completions",
                {"authorization": f"Bearer {KEY}"},
                gw.pid,
                fast if workers == 1 else {1: 1, 16: 1, 64: fast[64]},
            )
            stop(gw)
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
            results["LiteLLM proxy"] = await measure(
                LITELLM,
                "/v1/chat/completions",
                {"authorization": "Bearer sk-bench-master"},
                lite.pid,
                slow,
            )
            stop(lite)
        elif not args.skip_litellm:
            print(f"(LiteLLM skipped: {litellm_bin} not found; see this script's docstring)")
    finally:
        for p in procs:
            if p.poll() is None:
                stop(p)

    direct = results["direct"]
    print(f"\nserver under test on 1 core; {os.cpu_count()} cores total; body {len(BODY)} bytes")
    print(
        f"{'target':<20}{'conc':>5}{'p50 ms':>8}{'p99 ms':>8}{'+p50':>8}{'+p99':>8}"
        f"{'req/s':>8}{'µs/req':>8}"
    )
    for name, levels in results.items():
        for c, (r, cpu) in levels.items():
            if len(r.latencies_s) < 10:
                continue  # a level the 2-worker run skips
            d = direct[c][0]
            added = "" if name == "direct" else f"{(r.pct(50) - d.pct(50)) * 1e3:>8.3f}"
            added99 = "" if name == "direct" else f"{(r.pct(99) - d.pct(99)) * 1e3:>8.3f}"
            cpu_s = f"{cpu * 1e6:>8.0f}" if cpu else ""
            print(
                f"{name:<20}{c:>5}{r.pct(50) * 1e3:>8.3f}{r.pct(99) * 1e3:>8.3f}{added:>8}"
                f"{added99:>8}{r.rps:>8.0f}{cpu_s}"
            )
    print("(+p50, +p99: added to the direct call, ms; µs/req: server CPU per request)")
    b = results["bare pass-through"]
    g = results[NAMES["redis"]]
    print(
        f"\nledger rows written with Redis holds: {ledger_rows} (every request, warm-up included)"
    )
    for variant in ("batched", "memory", "redis"):
        v = results[NAMES[variant]]
        print(
            f"{NAMES[variant]}: added p50 {(v[1][0].pct(50) - direct[1][0].pct(50)) * 1e3:.3f} ms, "
            f"p99 {(v[1][0].pct(99) - direct[1][0].pct(99)) * 1e3:.3f} ms at c=1; "
            f"{v[64][0].rps:.0f} req/s at c=64; CPU {v[64][1] * 1e6:.0f} µs/req "
            f"({v[64][1] / b[64][1]:.2f}× bare)"
        )
    base = results[NAMES["batched"]]
    print(
        "cost of each mechanism in CPU per request at c=64: journal + memory holds "
        f"{(results[NAMES['memory']][64][1] - base[64][1]) * 1e6:+.0f} µs, "
        f"Redis instead of memory {(g[64][1] - results[NAMES['memory']][64][1]) * 1e6:+.0f} µs"
    )
    print(
        f"goals with Redis holds and the journal: added p50 ≤ 0.3 ms, p99 ≤ 1 ms at c=1, "
        f"≥ 6,000 req/s one worker; measured {(g[1][0].pct(50) - direct[1][0].pct(50)) * 1e3:.3f}"
        f" / {(g[1][0].pct(99) - direct[1][0].pct(99)) * 1e3:.3f} ms, {g[64][0].rps:.0f} req/s"
    )
    if NAMES["redis-2-workers"] in results:
        two = results[NAMES["redis-2-workers"]][64][0].rps
        print(
            f"2 workers: {two:.0f} req/s = {two / g[64][0].rps:.2f}× one worker (goal ≥ 1.7×; "
            "the load generator and the fake upstream share the same 2 cores)"
        )
    if "LiteLLM proxy" in results:
        lite_r = results["LiteLLM proxy"]
        print(
            f"LiteLLM ÷ gateway CPU per request: {lite_r[64][1] / g[64][1]:.1f}×; max req/s "
            f"{lite_r[64][0].rps:.0f} vs {g[64][0].rps:.0f}; added p50 at c=1 "
            f"{(lite_r[1][0].pct(50) - direct[1][0].pct(50)) * 1e3:.2f} ms"
        )


if __name__ == "__main__":
    uvloop.run(main())
