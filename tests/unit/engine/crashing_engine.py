"""A fault instrument standing in for `llama-server`: it answers /health like the real one,
then fails the way `UNITCOST_FAKE_ENGINE` says, so LocalModel's diagnosis can be tested
without a broken build. Modes: `segv` (dies with SIGSEGV on the first completion, as a
build for the wrong CPU does), `hang` (never answers a completion), `exit` (prints an error
line and exits 1 while loading)."""

from __future__ import annotations

import http.server
import os
import signal
import sys
from pathlib import Path

MODE = os.environ.get("UNITCOST_FAKE_ENGINE", "segv")


def install(home: Path, features: list[str] | None = None) -> Path:
    """A fake engine under `home` (a UNITCOST_HOME) with the pinned sources and flags."""
    import json
    import time

    from unitcost.engine.build import FEATURES, FLAGS, SOURCE

    root = home / "engine" / "fake"
    (root / "bin").mkdir(parents=True)
    server = root / "bin" / "llama-server"
    server.write_text(f'#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} "$@"\n')
    server.chmod(0o755)
    info = {
        "source": {"sha256": SOURCE.sha256},
        "flags": FLAGS,
        "cpu_features": FEATURES if features is None else features,
        "built_at": time.time(),
    }
    (root / "build-info.json").write_text(json.dumps(info))
    models = home / "models"
    models.mkdir(parents=True)
    (models / "SmolLM2-135M-Instruct.Q4_1.gguf").write_bytes(b"GGUF")
    return root


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_POST(self) -> None:
        if MODE == "segv":
            print("srv  update_slots: decoding batch", flush=True)
            os.kill(os.getpid(), signal.SIGSEGV)
        signal.pause()  # hang


def main() -> None:
    if MODE == "exit":
        print("error: failed to load model", flush=True)
        sys.exit(1)
    args = sys.argv[1:]
    port = int(args[args.index("--port") + 1])
    signal.signal(signal.SIGSEGV, signal.SIG_DFL)
    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
