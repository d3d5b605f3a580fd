"""What the HTTP server alone costs: uvicorn (the gateway's server) against a raw asyncio
protocol with the same parser (httptools), both answering a canned chat completion.

The difference bounds what replacing uvicorn could save per request; compare it with the
gateway's CPU per request in bench/gateway_overhead.py. The server runs alone on core 0,
this load generator on core 1.

    python bench/http_floor.py [--requests 30000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).parent))
from gateway_overhead import PY, cpu_seconds, start, stop, uvicorn_command, wait_ready
from loadgen import build_request, run_load

PORT = 9111
ANSWER = (
    b'{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":'
    b'"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,'
    b'"completion_tokens":1,"total_tokens":6}}'
)
BODY = b'{"model":"fake","messages":[{"role":"user","content":"Say something short."}]}'

ASGI_APP = f"""
ANSWER = {ANSWER!r}
HEAD = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(ANSWER))]

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({{"type": message["type"] + ".complete"}})
            if message["type"] == "lifespan.shutdown":
                return
    await receive()
    await send({{"type": "http.response.start", "status": 200, "headers": HEAD}})
    await send({{"type": "http.response.body", "body": ANSWER}})
"""

RAW_SERVER = f"""
import asyncio, sys
import httptools, uvloop

ANSWER = {ANSWER!r}
REPLY = b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: %d\\r\\n\\r\\n" % (
    len(ANSWER)
) + ANSWER

class Server(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data):
        self.parser.feed_data(data)

    def on_message_complete(self):
        # a task per request, as an ASGI server runs the app
        asyncio.get_running_loop().create_task(self.answer())

    async def answer(self):
        self.transport.write(REPLY)

async def main():
    server = await asyncio.get_running_loop().create_server(Server, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()

uvloop.run(main())
"""


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=30000)
    args = ap.parse_args()
    os.sched_setaffinity(0, {1})
    tmp = Path(tempfile.mkdtemp(prefix="unitcost-http-floor-"))
    (tmp / "canned_app.py").write_text(ASGI_APP)
    (tmp / "raw_server.py").write_text(RAW_SERVER)
    servers = {
        "uvicorn (uvloop + httptools)": uvicorn_command("canned_app:app", str(tmp), PORT),
        "raw asyncio protocol (httptools)": [PY, str(tmp / "raw_server.py"), str(PORT)],
    }
    request = build_request("127.0.0.1", PORT, "/v1/chat/completions", BODY, {})
    results = {}
    for name, cmd in servers.items():
        proc = start(cmd, 0)
        try:
            await wait_ready(PORT, proc)
            await run_load("127.0.0.1", PORT, request, concurrency=64, requests=3000, warmup=300)
            cpu0 = cpu_seconds(proc.pid)
            r = await run_load(
                "127.0.0.1", PORT, request, concurrency=64, requests=args.requests, warmup=0
            )
            results[name] = (r.rps, (cpu_seconds(proc.pid) - cpu0) / args.requests)
        finally:
            stop(proc)
    print(f"canned answer, concurrency 64, {args.requests:,} requests; server alone on core 0")
    print(f"{'server':<36}{'req/s':>10}{'µs CPU/req':>12}")
    for name, (rps, cpu) in results.items():
        print(f"{name:<36}{rps:>10,.0f}{cpu * 1e6:>12.0f}")
    (u_rps, u_cpu), (r_rps, r_cpu) = results.values()
    print(
        f"uvicorn's own cost over the raw floor: {(u_cpu - r_cpu) * 1e6:.0f} µs of CPU per "
        f"request ({u_cpu / r_cpu:.1f}× the floor; {r_rps / u_rps:.1f}× the requests per second)"
    )


if __name__ == "__main__":
    uvloop.run(main())
