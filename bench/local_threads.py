"""Which engine thread setting never stalls on a shared 2-vCPU machine?

    flock /tmp/unitcost-bench.lock python bench/local_threads.py          # ~2 minutes
    python bench/local_threads.py --reps 3 --tokens 32                    # quicker

For each setting (threads 1 or 2; ggml's thread pool polling for work, `--poll 50`, which
is llama.cpp's default, or sleeping at once, `--poll 0`), one engine (one slot) generates
`--tokens` tokens per request (`ignore_eos`), `--reps` times on a quiet machine (the
baseline, in the same run) and `--reps` times while another process busy-loops on one
core. A stall shows as a request far slower than the setting's quiet median: the table
gives the median and the worst tokens/s under load, and the worst request ÷ the quiet
median ("worst/quiet": 1.0 is no slowdown, 2.0 is half speed). The engine is
`unitcost engine install`'s build; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

from unitcost.engine.cpu import describe_cpu
from unitcost.engine.server import LocalModel

SETTINGS = [(1, 0), (1, 50), (2, 0), (2, 50)]  # (threads, poll)


@dataclass
class Row:
    threads: int
    poll: int
    quiet: list[float]  # tokens/s per request
    busy: list[float]

    @property
    def worst_ratio(self) -> float:
        return statistics.median(self.quiet) / min(self.busy)


def one_request(model: LocalModel, tokens: int, i: int) -> float:
    started = time.perf_counter()
    reply = httpx.post(
        model.url + "/chat/completions",
        json={
            "model": "smollm2",
            "messages": [{"role": "user", "content": f"Tell a story about the number {i}."}],
            "max_tokens": tokens,
            "temperature": 0,
            "ignore_eos": True,
        },
        timeout=600,
    )
    reply.raise_for_status()
    done = int(reply.json()["usage"]["completion_tokens"])
    return done / (time.perf_counter() - started)


def measure(threads: int, poll: int, reps: int, tokens: int) -> Row:
    with LocalModel.start(threads=threads, poll=poll) as model:
        one_request(model, 4, -1)  # warm
        quiet = [one_request(model, tokens, i) for i in range(reps)]
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.5)  # let the scheduler see it
            busy = [one_request(model, tokens, i) for i in range(reps)]
        finally:
            hog.kill()
            hog.wait()
    return Row(threads, poll, quiet, busy)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5, help="requests per condition (default 5)")
    ap.add_argument("--tokens", type=int, default=64, help="tokens per request (default 64)")
    args = ap.parse_args()
    print(f"CPU: {describe_cpu()}; {args.reps} requests of {args.tokens} tokens per condition")
    rows = [measure(t, p, args.reps, args.tokens) for t, p in SETTINGS]
    print()
    print("threads  poll  quiet tok/s  busy tok/s  busy worst  worst/quiet")
    print("                    median      median    tok/s")
    for r in rows:
        print(
            f"{r.threads:>7}  {r.poll:>4}  {statistics.median(r.quiet):>11.1f}  "
            f"{statistics.median(r.busy):>10.1f}  {min(r.busy):>10.1f}  {r.worst_ratio:>11.2f}"
        )
    steady = max(rows, key=lambda r: min(r.busy))
    print()
    print(
        f"fastest slowest request under load: threads={steady.threads}, poll={steady.poll} "
        f"({min(steady.busy):.1f} tok/s); with 1 thread there are no workers to poll"
    )
    print("busy = another process busy-loops one core; poll 50 is llama.cpp's default")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the end (1, 5, 15 min): {load} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
