"""Evaluations: quality and cost side by side, with intervals, a frontier and CI gates.

    run = run_eval([load_task("gpqa")], RunOptions(out="eval-out", max_usd=5.0))
    results = summarise(run)                  # quality and $ per task with 95% intervals
    check_gates([parse_gate("quality >= 0.8")], results)
    beats_random_mix(weak, strong, routed)    # a router against the line between its members

Modules: tasks (YAML, datasets, templates, built-ins), metrics (+ sandbox), plan (jobs and
the pre-flight estimate), budget (the hard cap), runner (through the gateway), log (the
cache), results and statistics, frontier, gates, report (+ tables, plots), outcomes.
"""

from unitcost.evals.frontier import ItemOutcomes, MixComparison, beats_random_mix, frontier
from unitcost.evals.gates import check_gates, exit_code, junit_xml, parse_gate
from unitcost.evals.results import TaskResult, VariantResult, summarise
from unitcost.evals.runner import EvalRun, RunOptions, run_eval
from unitcost.evals.statistics import Interval, mcnemar, paired_difference, wilson
from unitcost.evals.tasks import Task, load_task

__all__ = [
    "EvalRun",
    "Interval",
    "ItemOutcomes",
    "MixComparison",
    "RunOptions",
    "Task",
    "TaskResult",
    "VariantResult",
    "beats_random_mix",
    "check_gates",
    "exit_code",
    "frontier",
    "junit_xml",
    "load_task",
    "mcnemar",
    "paired_difference",
    "parse_gate",
    "run_eval",
    "summarise",
    "wilson",
]
