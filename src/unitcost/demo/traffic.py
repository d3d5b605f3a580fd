"""The demo's traffic: every recorded question through each deployment and route, a sample
through the workload classes, each request named so its ledger rows can be found again.

    traffic = drive(url, key, replay_set, names, classes, local_questions, log)
    traffic.scores[("gpt-5-mini", "gpqa-007")]          # 1.0 or 0.0
    costs = costs_by_question(ledger_url, traffic.run)   # $ by (name, question), ledger
"""

from __future__ import annotations

import os
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from unitcost.evals.scoring import score
from unitcost.ledger.record import nanos_to_usd
from unitcost.ledger.store import open_store

__all__ = ["CLASSES_DRIVEN", "CLASS_SAMPLE", "Traffic", "costs_by_question", "drive"]

CLASS_SAMPLE = 40  # questions sent to each workload class
#: the classes traffic is sent to (`private` keeps personal data on the local engine, which
#: would take minutes per GPQA answer on 2 cores)
CLASSES_DRIVEN = ("everyday", "hard-reasoning")
_LOCAL = "smollm2-local"


@dataclass
class Traffic:
    run: str = field(default_factory=lambda: os.urandom(4).hex())  # this run's request ids
    scores: dict[tuple[str, str], float] = field(default_factory=dict)
    classes: dict[str, Counter[str]] = field(default_factory=dict)  # class → deployments used
    failures: dict[str, str] = field(default_factory=dict)  # name → the last error it got

    def class_lines(self, costs: dict[tuple[str, str], float]) -> list[str]:
        lines = [f"requests to {n} failed, e.g. {why}" for n, why in self.failures.items()]
        for name, served in self.classes.items():
            asked = [q for (n, q) in self.scores if n == name]
            if not asked:
                continue
            correct = sum(self.scores[(name, q)] for q in asked) / len(asked)
            spent = sum(costs.get((name, q), 0.0) for q in asked)
            used = ", ".join(f"{d} ({n})" for d, n in served.most_common())
            lines.append(
                f"class {name}: {len(asked)} questions, {correct:.1%} correct, ${spent:.2f}, "
                f"served by {used}"
            )
        return lines


def request_id(run: str, name: str, qid: str) -> str:
    return f"demo-{run}:{name}:{qid}"


def drive(
    url: str,
    key: str,
    data: Any,
    names: list[str],
    classes: list[str],
    local_questions: int,
    log: Any,
) -> Traffic:
    import openai

    client = openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=300)
    traffic = Traffic(classes={c: Counter() for c in classes})
    jobs = []
    for name in names:
        qids = list(data.questions)
        if name == _LOCAL:  # a small CPU model: a few questions, short answers
            qids = [q for q in qids if q.startswith("gpqa")][:local_questions]
        jobs += [(name, qid) for qid in qids]
    sample = random.Random(1).sample(list(data.questions), CLASS_SAMPLE)
    jobs += [(c, qid) for c in classes if c in CLASSES_DRIVEN for qid in sample]

    def ask(job: tuple[str, str]) -> tuple[str, str, float, str]:
        name, qid = job
        q = data.questions[qid]
        extra: dict[str, Any] = {"max_tokens": 160, "temperature": 0} if name == _LOCAL else {}
        try:
            reply = client.chat.completions.with_raw_response.create(
                model=name,
                messages=[{"role": "user", "content": q["prompt"]}],
                extra_headers={
                    "x-unitcost-feature": f"demo-{q['dataset']}",
                    "x-request-id": request_id(traffic.run, name, qid),
                },
                **extra,
            )
        except openai.APIError as exc:  # counted wrong, and said once at the end
            traffic.failures[name] = f"{type(exc).__name__}: {str(exc)[:120]}"
            return name, qid, 0.0, ""
        answer = reply.parse().choices[0].message.content or ""
        served = reply.headers.get("x-unitcost-deployment", "")
        return name, qid, score(q["dataset"], answer, q["ground_truth"]), served

    random.Random(0).shuffle(jobs)  # live traffic mixes questions; so does the demo
    log(f"sending {len(jobs)} requests through the gateway with the openai SDK ...")
    with ThreadPoolExecutor(8) as pool:
        for name, qid, correct, served in pool.map(ask, jobs):
            traffic.scores[(name, qid)] = correct
            if name in traffic.classes:
                traffic.classes[name][served] += 1
    return traffic


def costs_by_question(ledger_url: str, run: str) -> dict[tuple[str, str], float]:
    """What each request of this run cost, every call included (a fallback's, a cascade's)."""
    store = open_store(ledger_url)
    try:
        rows = store.records(limit=1_000_000)
    finally:
        store.close()
    nanos: dict[tuple[str, str], int] = {}  # summed exactly, in the ledger's own unit
    for r in rows:
        parts = r.request_id.split(":", 2)
        if len(parts) == 3 and parts[0] == f"demo-{run}":
            key = (parts[1], parts[2])
            nanos[key] = nanos.get(key, 0) + r.cost_nanos
    return {key: nanos_to_usd(n) for key, n in nanos.items()}
