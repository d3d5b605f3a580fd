"""GPU energy during a level, from NVML when it is there; otherwise say so.

    with PowerSampler() as power:     # samples every 100 ms in a thread
        ...run the level...
    power.joules, power.source        # None and the reason where NVML is unavailable

NVML (nvidia-ml-py) reports board power in milliwatts; energy is its trapezoidal integral.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

__all__ = ["PowerSampler"]


class PowerSampler:
    def __init__(self, interval_s: float = 0.1, gpus: list[int] | None = None) -> None:
        self.interval_s = interval_s
        self.samples: list[tuple[float, float]] = []  # (time, watts over all GPUs)
        self.reason: str | None = None
        self._nvml: Any = None
        self._handles: list[Any] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            import pynvml

            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
            indices = gpus if gpus is not None else list(range(count))
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in indices]
            self._nvml = pynvml
            self.names = [pynvml.nvmlDeviceGetName(h) for h in self._handles]
        except Exception as exc:  # no package, no driver, no GPU: all mean "not measured"
            self.reason = f"NVML unavailable ({exc.__class__.__name__}: {exc})"[:200]
            self.names = []

    @property
    def available(self) -> bool:
        return self._nvml is not None and bool(self._handles)

    def _watts(self) -> float:
        milliwatts = sum(int(self._nvml.nvmlDeviceGetPowerUsage(h)) for h in self._handles)
        return milliwatts / 1000.0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), self._watts()))
            self._stop.wait(self.interval_s)
        self.samples.append((time.perf_counter(), self._watts()))

    def __enter__(self) -> PowerSampler:
        if self.available:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def joules(self) -> float | None:
        if len(self.samples) < 2:
            return None
        total = 0.0
        for (t0, w0), (t1, w1) in zip(self.samples, self.samples[1:], strict=False):
            total += (w0 + w1) / 2 * (t1 - t0)
        return total

    @property
    def mean_watts(self) -> float | None:
        joules = self.joules
        if joules is None:
            return None
        return joules / (self.samples[-1][0] - self.samples[0][0])
