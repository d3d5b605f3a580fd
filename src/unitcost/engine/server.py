"""The `local` deployment: SmolLM2-135M-Instruct under llama.cpp's `llama-server`, on loopback.

    with LocalModel.start(parallel=4) as model:   # ready in a few seconds, self-tested
        model.url                                 # "http://127.0.0.1:PORT/v1", model "smollm2"
        model.gguf                                # the weights, also its tokenizer (gguf:PATH)
        model.measure_tokens_per_s()              # output tokens/s at full load, measured here

The engine is the one `unitcost engine install` built (see build.py); nothing is downloaded.
`--parallel N` gives N slots that llama.cpp batches continuously, each with its own
`ctx_per_slot` tokens of context. Streams carry `usage` in their last chunk when asked.

Each engine leaves a note under `<home>/run/` naming itself and the process that started
it. A parent killed with SIGKILL cannot stop its engine (`PR_SET_PDEATHSIG` follows the
thread that forked, not the process, and `preexec_fn` is unsafe while threads run), so
the next `start` on the machine stops every engine whose parent is gone.

Before `start` returns, the engine answers one prompt of a few hundred tokens: a build that
crashes on real work (an engine compiled for instructions this CPU lacks dies on its first
long prompt, not at start-up) fails here, with one line that names the signal, the CPU
features the build needs against this CPU's, the fix and the engine's log.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from unitcost.engine.cache import INSTALL_HINT, Engine, home, model_path, require_engine
from unitcost.engine.cpu import describe_cpu, missing_features
from unitcost.errors import InputError, UnitcostError
from unitcost.wire.http1 import free_port

__all__ = [
    "DEFAULT_THREADS",
    "MODEL_NAME",
    "EngineError",
    "LocalModel",
    "available",
    "reap_orphans",
]

MODEL_NAME = "smollm2"
#: threads per engine: 1 never stalls on a shared 2-vCPU machine (README, "Local engine")
DEFAULT_THREADS = 1
#: ggml's thread pool polls for work before sleeping (llama.cpp's default 50); 0 sleeps at
#: once, so idle workers never spin on a core something else needs
DEFAULT_POLL = 0
MIN_CTX_PER_SLOT = 512
SELF_TEST_ITEMS = 45  # 299 tokens once the chat template is added


class EngineError(UnitcostError):
    """The local engine died, hung or failed its self-test (the message says which)."""


def available() -> bool:
    """Whether `unitcost engine install` has built the engine and unpacked the model."""
    try:
        require_engine()
    except InputError:
        return False
    return model_path("Q4_1").is_file()


def _self_test_prompt() -> str:
    words = [f"item{i} is {'red green blue amber'.split()[i % 4]}," for i in range(SELF_TEST_ITEMS)]
    return "Summarise this list in one sentence: " + " ".join(words)


@dataclass
class LocalModel:
    url: str
    gguf: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    engine: Engine
    parallel: int = 1
    threads: int = DEFAULT_THREADS
    _stopped: bool = field(default=False, repr=False)

    @classmethod
    def start(
        cls,
        quant: str = "Q4_1",
        *,
        parallel: int = 1,
        threads: int | None = None,
        ctx_per_slot: int = 2048,
        poll: int = DEFAULT_POLL,
        timeout_s: float = 120.0,
        gguf: str | Path | None = None,
    ) -> LocalModel:
        """Start an engine for `quant` (the shipped Q4_1, or one `unitcost engine quantize`
        made) or for any `gguf` file, and return once its self-test has passed."""
        if ctx_per_slot < MIN_CTX_PER_SLOT:
            raise InputError(
                f"ctx_per_slot: {ctx_per_slot} is too small; accepted: {MIN_CTX_PER_SLOT} or more "
                "(the start-up self-test sends ~300 tokens)"
            )
        engine = require_engine()
        path = Path(gguf) if gguf is not None else model_path(quant)
        if not path.is_file():
            hint = INSTALL_HINT if quant == "Q4_1" else f"unitcost engine quantize {quant}"
            raise InputError(f"model: {path} does not exist; make it with: {hint}")
        threads = threads or DEFAULT_THREADS
        reap_orphans()
        port = free_port()
        logs = home() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"llama-server-{time.strftime('%Y%m%d-%H%M%S')}-{port}.log"
        command = [
            str(engine.server),
            *("--model", str(path), "--host", "127.0.0.1", "--port", str(port)),
            *("--alias", MODEL_NAME, "--parallel", str(parallel)),
            *("--ctx-size", str(ctx_per_slot * parallel)),
            *("--threads", str(threads), "--threads-batch", str(threads), "--poll", str(poll)),
            *("--no-webui", "--metrics", "--seed", "1"),
        ]
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        model = cls(f"http://127.0.0.1:{port}/v1", str(path), proc, log_path, engine)
        model.parallel, model.threads = parallel, threads
        atexit.register(model.stop)
        _note_owner(proc.pid)
        try:
            model._wait_ready(time.monotonic() + timeout_s)
        except BaseException:
            model.stop()
            raise
        return model

    @property
    def base(self) -> str:
        return self.url.removesuffix("/v1")

    def _wait_ready(self, deadline: float) -> None:
        while True:
            if self.proc.poll() is not None:
                raise EngineError(self.diagnose("while loading the model"))
            try:
                if httpx.get(self.base + "/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise EngineError(self.diagnose("while loading the model", hung=True))
            time.sleep(0.05)
        self._self_test(deadline)

    def _self_test(self, deadline: float) -> None:
        body = {
            "model": MODEL_NAME,
            "messages": [{"role": "user", "content": _self_test_prompt()}],
            "max_tokens": 4,
            "temperature": 0,
        }
        step = "during its start-up self-test (a ~300-token prompt)"
        try:
            reply = httpx.post(
                self.url + "/chat/completions",
                json=body,
                timeout=max(1.0, deadline - time.monotonic()),
            )
            usage = reply.json().get("usage") or {}
        except (httpx.HTTPError, ValueError):
            self._reap()
            hung = self.proc.poll() is None
            raise EngineError(self.diagnose(step, hung=hung)) from None
        if reply.status_code != 200 or int(usage.get("prompt_tokens", 0)) < 200:
            raise EngineError(
                f"local engine: answered its self-test with HTTP {reply.status_code} and "
                f"{usage.get('prompt_tokens', 0)} prompt tokens (expected 200 or more); "
                f"log: {self.log_path}"
            )

    def _reap(self) -> None:
        """A crashing engine closes its sockets a moment before its exit status is known."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(2)

    def diagnose(self, step: str, hung: bool = False) -> str:
        """One line: what happened, the CPU features the build needs vs this CPU's, the fix."""
        code = self.proc.poll()
        if hung or code is None:
            what = "did not answer"
        elif code < 0:
            what = f"died with {signal.Signals(-code).name}"
        else:
            what = f"exited with status {code}"
        needs = self.engine.features
        missing = missing_features(needs)
        cpu = describe_cpu()
        if missing:
            cpu_note = (
                f"the build needs {', '.join(needs)}; this CPU ({cpu}) lacks {', '.join(missing)}"
            )
            fix = "run it on an x86-64 CPU with AVX2/FMA/F16C (2013 or later)"
        else:
            cpu_note = f"the build needs {', '.join(needs) or '(none)'}, all present on {cpu}"
            fix = (
                "lower the load or raise the timeout (threads=1 avoids stalls on a busy machine)"
                if hung
                else "rebuild with `unitcost engine install --force`"
            )
        last = _last_line(self.log_path)
        return (
            f"local engine: llama-server {what} {step}; {cpu_note}; fix: {fix}; "
            f"log: {self.log_path}" + (f" (last line: {last})" if last else "")
        )

    def measure_tokens_per_s(self, concurrency: int | None = None, max_tokens: int = 64) -> float:
        """Aggregate output tokens/s with `concurrency` (default: every slot) requests of
        exactly `max_tokens` each (`ignore_eos`), measured on this machine, not assumed."""
        n = concurrency or self.parallel
        prompts = ["Explain what a GPU is.", "Describe the water cycle."]

        def one(i: int, tokens: int) -> int:
            reply = httpx.post(
                self.url + "/chat/completions",
                json={
                    "model": MODEL_NAME,
                    "messages": [{"role": "user", "content": f"{prompts[i % 2]} ({i})"}],
                    "max_tokens": tokens,
                    "temperature": 0,
                    "ignore_eos": True,
                },
                timeout=300,
            )
            reply.raise_for_status()
            return int(reply.json()["usage"]["completion_tokens"])

        with ThreadPoolExecutor(n) as pool:
            list(pool.map(one, range(n), [4] * n))  # warm-up: every slot once, briefly
            started = time.perf_counter()
            tokens = sum(pool.map(one, range(n), [max_tokens] * n))
        return tokens / (time.perf_counter() - started)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        (_run_dir() / f"{self.proc.pid}.json").unlink(missing_ok=True)

    def __enter__(self) -> LocalModel:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def _run_dir() -> Path:
    return home() / "run"


def _started_at(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat): with
    the pid it names one process, never a later one given the same pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _note_owner(pid: int) -> None:
    me = os.getpid()
    note = {"pid": pid, "started": _started_at(pid), "owner": me, "owner_started": _started_at(me)}
    directory = _run_dir()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{pid}.json").write_text(json.dumps(note))


def reap_orphans() -> list[int]:
    """Stop every engine whose starting process has died (SIGKILL leaves them running);
    returns their pids. An engine whose owner lives, or a note that cannot be read, is left."""
    directory = _run_dir()
    reaped = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            note = json.loads(path.read_text())
            pid, started = int(note["pid"]), note["started"]
            owner, owner_started = int(note["owner"]), note["owner_started"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if owner_started is not None and _started_at(owner) == owner_started:
            continue  # its owner is alive: not an orphan
        if started is not None and _started_at(pid) == started:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)  # a model server: nothing of it to flush
                reaped.append(pid)
        path.unlink(missing_ok=True)
    return reaped


def _last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:160] if lines else ""
