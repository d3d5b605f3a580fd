"""Run model-written Python in a child process with a time and a memory limit.

    result = run_python("def add(a, b):\\n    return a + b", test="assert add(2, 3) == 5")
    result.passed, result.reason          # (True, "passed")

The child is a fresh `python -I` (isolated: no user site, no PYTHON* variables, no current
directory on the path) in an empty temporary directory with an empty environment. Before the
candidate's code runs, the child lowers its own limits with `resource.setrlimit`: address
space (`memory_mb`), CPU seconds, file size (1 MiB) and open files. The limits are set inside
the child rather than in a `preexec_fn`, which is unsafe while the runner's threads are
running. The wall clock is enforced by the parent, which kills the whole process group.

This contains mistakes (an infinite loop, a memory blow-up, a stray file); it is not a
security boundary against hostile code. Run untrusted code in a container or a VM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SandboxResult", "run_python"]

_BOOT = """
import resource, runpy, sys
mem, cpu = int(sys.argv[2]), int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
sys.argv = [sys.argv[1]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""

#: exit statuses the child gets from the kernel when it hits a limit
_SIGNALS = {
    -signal.SIGXCPU: "cpu time limit",
    -signal.SIGKILL: "killed",
    -signal.SIGXFSZ: "file size limit",
}


@dataclass(frozen=True)
class SandboxResult:
    passed: bool
    reason: str  # passed, failed, timeout, memory limit, cpu time limit, ...
    returncode: int | None
    output: str  # the tail of stdout and stderr, for the report


def run_python(
    code: str, test: str = "", timeout_s: float = 10.0, memory_mb: int = 512
) -> SandboxResult:
    """Run `code` then `test` in one child; passed when it exits 0 within the limits."""
    with tempfile.TemporaryDirectory(prefix="unitcost-sandbox-") as tmp:
        script = Path(tmp) / "candidate.py"
        script.write_text(f"{code}\n\n{test}\n", encoding="utf-8")
        cpu = max(1, int(timeout_s + 0.999))
        proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, str(script), str(memory_mb << 20), str(cpu)],
            cwd=tmp,
            env={"PATH": os.defpath},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a timeout kills all of it
        )
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            return SandboxResult(False, "timeout", None, _tail(out))
    text = _tail(out)
    if proc.returncode == 0:
        return SandboxResult(True, "passed", 0, text)
    reason = "memory limit" if "MemoryError" in text else _SIGNALS.get(proc.returncode, "failed")
    return SandboxResult(False, reason, proc.returncode, text)


def _tail(raw: bytes, limit: int = 2000) -> str:
    return raw[-limit:].decode("utf-8", "replace")
