"""`unitcost bench`: measure an OpenAI-compatible endpoint under load, then price it."""

from unitcost.bench.run import BenchConfig, BenchReport, run_bench

__all__ = ["BenchConfig", "BenchReport", "run_bench"]
