"""Running tasks through the gateway: concurrent, resumable, cached, under a hard cap.

    run = run_eval([load_task("gpqa")], RunOptions(out="eval-out", max_usd=5.0))
    run.spent_nanos, run.fresh, run.cached        # what this invocation spent and asked

Every call goes through the gateway in this process (on a loopback port, with the official
openai SDK as client) as tenant `eval`, feature = the task, cohort = the variant, so each
sample is a ledger row priced by the same price cards as production traffic. A judge's calls
carry feature `TASK/judge`, so its spend stays apart from the candidates'.

Answers land in the eval log the moment they arrive (a crash loses none); a later run asks
only what the log lacks, and when it lacks nothing the gateway is not even started. After
the gateway stops (its ledger flushed), each new sample's cost, tokens and serving
deployment are read back from the ledger by request id and logged again: the ledger is the
source of every dollar in the report.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from unitcost.errors import InputError
from unitcost.evals.budget import Budget, Hold
from unitcost.evals.log import EvalLog, Sample, request_key
from unitcost.evals.metrics import Judge
from unitcost.evals.plan import (
    Estimate,
    Job,
    estimate,
    hold_prompt_tokens,
    max_tokens_of,
    plan_jobs,
)
from unitcost.evals.portfolio import Rate, eval_settings, read_rates
from unitcost.evals.tasks import Task
from unitcost.ledger.record import usd_to_nanos
from unitcost.ledger.store import open_store

__all__ = ["EvalRun", "RunOptions", "judge_body", "run_eval"]


@dataclass
class RunOptions:
    out: str | Path = "eval-out"
    concurrency: int = 8
    max_usd: float | None = None
    gateway: str | None = None  # a gateway.yaml; default: the tasks' own, else replay
    ledger: str | None = None  # default: OUT/ledger.db, unless the gateway file names one
    variants: list[str] | None = None
    offline: bool = False  # never call: score what the log holds
    estimate_only: bool = False
    timeout_s: float = 600.0
    log: Callable[[str], None] = print


@dataclass
class EvalRun:
    tasks: list[Task]
    log: EvalLog
    jobs: list[Job]
    estimate: Estimate | None = None
    ledger_url: str | None = None
    fresh: int = 0  # calls sent now (candidates and judges)
    cached: int = 0  # answers reused from the log
    skipped: int = 0  # refused by the budget
    missing: int = 0  # offline: answers the log does not hold
    spent_nanos: int = 0  # what the ledger says this invocation cost, judges included
    judge_spent_nanos: int = 0
    ledger_rows: int = 0  # ledger rows this invocation wrote, read back
    cap_nanos: int | None = None
    rates: dict[str, Rate] = field(default_factory=dict)  # what the gateway priced, by model
    notes: list[str] = field(default_factory=list)


PORTFOLIO_NAME = "portfolio.json"


def _save_rates(out: Path, rates: dict[str, Rate]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data = {name: r.to_dict() for name, r in sorted(rates.items())}
    (out / PORTFOLIO_NAME).write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))


def _load_rates(out: Path) -> dict[str, Rate]:
    path = out / PORTFOLIO_NAME
    if not path.exists():
        return {}
    return {name: Rate.from_dict(raw) for name, raw in orjson.loads(path.read_bytes()).items()}


def judge_body(judge: Judge, task: Task, job_item: dict[str, Any], answer: str) -> dict[str, Any]:
    question = str(job_item.get(task.dataset.input, ""))
    target = job_item.get(task.dataset.target)
    return {
        "model": judge.model,
        "messages": judge.judge_messages(question, answer, target),
        **judge.params,
    }


def _gateway_of(tasks: list[Task], override: str | None) -> str | None:
    if override is not None:
        return override
    named = {t.gateway for t in tasks}
    if len(named) > 1:
        raise InputError(
            "tasks: they name different gateway files; run them apart or pass --config"
        )
    return named.pop()


class _Caller:
    """Sends one request through the gateway and turns the reply into a Sample."""

    def __init__(
        self, url: str, key: str, rates: dict[str, Rate], budget: Budget, timeout_s: float
    ) -> None:
        import openai

        self.client = openai.OpenAI(
            base_url=url + "/v1", api_key=key, max_retries=0, timeout=timeout_s
        )
        self.rates, self.budget = rates, budget
        self.run_id = secrets.token_hex(4)
        self._seq = 0
        self._lock = threading.Lock()

    def _request_id(self) -> str:
        with self._lock:
            self._seq += 1
            return f"eval-{self.run_id}-{self._seq:06d}"

    def call(self, sample: Sample, body: dict[str, Any], feature: str) -> Sample:
        import openai

        max_tokens = max_tokens_of(body)
        worst = (
            0
            if self.budget.cap is None or max_tokens is None
            else self.rates[body["model"]].worst_nanos(
                hold_prompt_tokens(body["messages"]), max_tokens
            )
        )
        what = f"{sample.task}/{sample.variant}/{sample.item}"
        hold = self.budget.reserve(worst, what)
        if hold is None:
            return replace(sample, status="skipped", error="the budget could not hold this call")
        sample = replace(
            sample, request_id=self._request_id(), hold_nanos=hold.nanos, ts=time.time(), fresh=True
        )
        params = {k: v for k, v in body.items() if k not in ("model", "messages")}
        started = time.perf_counter()
        try:
            raw = self.client.chat.completions.with_raw_response.create(
                model=body["model"],
                messages=body["messages"],
                extra_body=params,
                extra_headers={
                    "x-request-id": sample.request_id,
                    "x-unitcost-feature": feature,
                    "x-unitcost-cohort": sample.variant,
                },
            )
            reply = raw.parse()
        except openai.APIStatusError as exc:
            self._settle_unknown(hold, what)
            return replace(sample, status="error", error=f"HTTP {exc.status_code}: {exc.message}")
        except openai.APIError as exc:
            self._settle_unknown(hold, what)
            return replace(sample, status="error", error=f"{type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - started) * 1000
        usage = reply.usage
        details = getattr(usage, "completion_tokens_details", None) if usage else None
        cached_details = getattr(usage, "prompt_tokens_details", None) if usage else None
        served = raw.headers.get("x-unitcost-deployment")
        sample = replace(
            sample,
            status="ok",
            answer=(reply.choices[0].message.content or "") if reply.choices else "",
            latency_ms=latency,
            deployments=[served] if served else [],
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            reasoning_tokens=(getattr(details, "reasoning_tokens", 0) or 0) if details else 0,
            cached_tokens=(getattr(cached_details, "cached_tokens", 0) or 0)
            if cached_details
            else 0,
        )
        cost, source = self._cost_now(sample, raw.headers.get("x-unitcost-cost-usd"))
        self.budget.settle(hold, cost, what)
        return replace(sample, cost_nanos=cost, cost_source=source)

    def _settle_unknown(self, hold: Hold, what: str) -> None:
        # what a failed call cost is known only from the ledger later: keep its whole hold
        self.budget.settle(hold, hold.nanos, what)

    def _cost_now(self, s: Sample, header: str | None) -> tuple[int, str]:
        if header:
            try:
                return usd_to_nanos(float(header)), "estimate: the gateway's cost header"
            except ValueError:
                pass
        rate = self.rates.get(s.deployments[0] if s.deployments else s.model)
        if rate is None:
            return 0, "estimate: no price card"
        nanos = rate.expected_nanos(s.prompt_tokens, s.completion_tokens)
        return nanos, "estimate: usage × price card"


def _job_sample(job: Job) -> Sample:
    return Sample(
        job.key, job.task.name, job.variant.name, job.item["id"], job.epoch, job.variant.model
    )


def _judge_job(job: Job, answer: Sample) -> tuple[Sample, dict[str, Any]] | None:
    metric = job.task.metric
    if not isinstance(metric, Judge):
        return None
    body = judge_body(metric, job.task, job.item, answer.answer)
    key = request_key(body, job.epoch)
    sample = Sample(
        key,
        job.task.name,
        job.variant.name,
        job.item["id"],
        job.epoch,
        metric.model,
        kind="judge",
        of=answer.key,
    )
    return sample, body


def run_eval(tasks: list[Task], options: RunOptions) -> EvalRun:
    log = EvalLog(options.out, read_only=options.offline)
    jobs = plan_jobs(tasks, options.variants)
    run = EvalRun(tasks, log, jobs, rates=_load_rates(Path(options.out)))
    todo: list[Job] = [j for j in jobs if log.get(j.key) is None]
    judges: list[tuple[Sample, dict[str, Any]]] = []
    for job in jobs:
        done = log.get(job.key)
        if done is not None:
            run.cached += 1
            pair = _judge_job(job, done)
            if pair is not None and log.get(pair[0].key) is None:
                judges.append(pair)
    if options.offline:
        run.missing = len(todo) + len(judges)
        if run.missing:
            run.notes.append(f"{run.missing} answers are not in the log; they are left out")
        return run
    if not todo and not judges and not options.estimate_only:
        run.notes.append("every answer was in the log: nothing was sent, nothing spent")
        return run
    default_ledger = f"sqlite:///{Path(options.out).resolve() / 'ledger.db'}"
    if options.estimate_only and not Path(options.out).exists():
        default_ledger = f"sqlite:///{tempfile.mkdtemp(prefix='unitcost-estimate-')}/ledger.db"
    settings, key = eval_settings(
        _gateway_of(tasks, options.gateway),
        options.ledger or default_ledger,
        {"ledger": {"url": options.ledger}} if options.ledger else None,
    )
    run.ledger_url = settings.ledger.url
    run.cap_nanos = None if options.max_usd is None else usd_to_nanos(options.max_usd)
    from unitcost.gateway.server import running

    with running(settings) as gateway:
        rates = run.rates = read_rates(gateway.url, key)
        run.estimate = estimate(jobs, rates, log)
        options.log(run.estimate.summary())
        if options.estimate_only:
            return run
        if run.cap_nanos is not None:
            _require_max_tokens(tasks, todo)
        _save_rates(Path(options.out), rates)
        budget = Budget(run.cap_nanos)
        caller = _Caller(gateway.url, key, rates, budget, options.timeout_s)
        fresh: list[Sample] = []
        done_lock = threading.Lock()

        def keep(sample: Sample) -> None:
            with done_lock:
                if sample.status == "skipped":
                    run.skipped += 1
                    return
                log.add(sample)  # at once: a crash keeps every answer received
                fresh.append(sample)

        def ask(job: Job) -> None:
            answer = caller.call(_job_sample(job), job.body, job.task.name)
            keep(answer)
            pair = _judge_job(job, answer) if answer.status == "ok" else None
            if pair is not None and log.get(pair[0].key) is None:
                keep(caller.call(pair[0], pair[1], f"{job.task.name}/judge"))

        def ask_judge(pair: tuple[Sample, dict[str, Any]]) -> None:
            keep(caller.call(pair[0], pair[1], f"{pair[0].task}/judge"))

        options.log(f"asking {len(todo):,} questions through the gateway at {gateway.url} ...")
        with ThreadPoolExecutor(max(1, options.concurrency)) as pool:
            for _ in pool.map(ask, todo):
                pass
            for _ in pool.map(ask_judge, judges):
                pass
        run.notes += budget.overruns
        if budget.refused:
            run.notes.append(
                f"--max-usd: {budget.refused} calls were not sent; the cap could not hold them"
            )
    # the gateway has stopped and flushed its ledger: read every new row back
    _reconcile(run, fresh, settings.ledger.url)
    return run


def _require_max_tokens(tasks: list[Task], todo: list[Job]) -> None:
    for job in todo:
        if job.max_tokens is None:
            raise InputError(
                f"{job.task.source}.variants.{job.variant.name}.params.max_tokens: needed with "
                "--max-usd, so each call's worst case is bounded; accepted: a positive integer"
            )
    for task in tasks:
        metric = task.metric
        if isinstance(metric, Judge) and max_tokens_of(metric.params) is None:
            raise InputError(
                f"{task.source}.metric.params.max_tokens: needed with --max-usd, so each "
                "judge call's worst case is bounded; accepted: a positive integer"
            )


def _reconcile(run: EvalRun, fresh: list[Sample], ledger_url: str) -> None:
    store = open_store(ledger_url)
    try:
        for s in fresh:
            run.fresh += 1
            rows = store.records(request_id=s.request_id) if s.request_id else []
            if rows:
                run.ledger_rows += len(rows)
                answered = [r for r in rows if r.status in ("ok", "cache_hit")] or rows
                last = answered[-1]
                s = replace(
                    s,
                    cost_nanos=sum(int(r.cost_nanos) for r in rows),
                    cost_source="ledger",
                    deployments=list(dict.fromkeys(r.deployment for r in rows)),
                    prompt_tokens=last.prompt_tokens,
                    completion_tokens=last.completion_tokens,
                    reasoning_tokens=last.reasoning_tokens,
                    cached_tokens=last.cached_tokens,
                )
                run.log.add(s)
            elif s.status == "ok":
                run.notes.append(f"no ledger row for {s.request_id}; its cost is an estimate")
            run.spent_nanos += s.cost_nanos
            if s.kind == "judge":
                run.judge_spent_nanos += s.cost_nanos
    finally:
        store.close()
