"""The risk frameworks the governance report maps controls onto, item by item.

    OWASP_LLM_2025["LLM01"].name          # "Prompt Injection"
    ITEMS["NIST.MEASURE-2.7"].framework   # "NIST AI RMF 1.0"

Each item carries what no gateway control can cover (its `residual`), so the report can say
what remains for people and processes even when every control is on.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FRAMEWORKS", "ITEMS", "Item"]


@dataclass(frozen=True)
class Item:
    framework: str
    id: str
    name: str
    residual: str  # what stays uncovered by any control in the gateway


_OWASP = "OWASP Top 10 for LLM Applications 2025"
_NIST = "NIST AI RMF 1.0"
_NCSC = "NCSC/CISA Guidelines for secure AI system development"

_ALL = [
    Item(
        _OWASP,
        "LLM01",
        "Prompt Injection",
        "paraphrased or novel attacks below the threshold; multimodal inputs are not screened",
    ),
    Item(
        _OWASP,
        "LLM02",
        "Sensitive Information Disclosure",
        "personal data the recognisers do not know (names need the NER tier); data the model "
        "itself reveals from training",
    ),
    Item(
        _OWASP,
        "LLM03",
        "Supply Chain",
        "the provenance of upstream models and of their weights is outside the gateway",
    ),
    Item(
        _OWASP,
        "LLM04",
        "Data and Model Poisoning",
        "training data of upstream models; poisoned documents are only caught when they carry "
        "an instruction",
    ),
    Item(
        _OWASP,
        "LLM05",
        "Improper Output Handling",
        "what the client does with the answer (HTML, SQL, shell) must still be escaped there",
    ),
    Item(
        _OWASP,
        "LLM06",
        "Excessive Agency",
        "the tools' own permissions; a permitted tool can still be misused",
    ),
    Item(
        _OWASP,
        "LLM07",
        "System Prompt Leakage",
        "paraphrased or encoded leaks; secrets should not be in system prompts at all",
    ),
    Item(
        _OWASP,
        "LLM08",
        "Vector and Embedding Weaknesses",
        "vector stores of the application (RAG) are outside the gateway",
    ),
    Item(
        _OWASP, "LLM09", "Misinformation", "answer correctness needs evaluation (evals), not a gate"
    ),
    Item(
        _OWASP,
        "LLM10",
        "Unbounded Consumption",
        "limits per replica until budgets are shared (Redis); denial of wallet across tenants",
    ),
    Item(
        _NIST,
        "GOVERN-1.1",
        "Legal and regulatory requirements are understood and documented",
        "which laws apply (e.g. the EU AI Act's risk class) is a decision for the deployer",
    ),
    Item(
        _NIST,
        "GOVERN-1.4",
        "Risk management is established through transparent policies",
        "the policy file is the control; who approves changes to it is not",
    ),
    Item(
        _NIST,
        "GOVERN-6.1",
        "Policies address risks of third-party AI",
        "contracts and terms of upstream providers",
    ),
    Item(
        _NIST,
        "MAP-1.1",
        "Intended purpose and context of use are documented",
        "the application's purpose and users",
    ),
    Item(
        _NIST,
        "MAP-4.1",
        "Risks of components, incl. third-party data and software, are mapped",
        "upstream models' own evaluations",
    ),
    Item(
        _NIST, "MEASURE-2.4", "Behaviour is monitored in production", "alert thresholds and on-call"
    ),
    Item(
        _NIST,
        "MEASURE-2.7",
        "Security and resilience are evaluated and documented",
        "red-teaming of the whole application",
    ),
    Item(
        _NIST,
        "MEASURE-2.10",
        "Privacy risk is examined and documented",
        "a data-protection impact assessment",
    ),
    Item(
        _NIST,
        "MANAGE-1.3",
        "Responses to high-priority risks are planned (mitigate, accept, ...)",
        "the acceptance of residual risks by an owner",
    ),
    Item(
        _NIST,
        "MANAGE-2.4",
        "Mechanisms to supersede, disengage or deactivate the system",
        "a runbook naming who may switch a deployment off",
    ),
    Item(
        _NIST,
        "MANAGE-4.1",
        "Post-deployment monitoring, incident response and recovery",
        "incident response procedures",
    ),
    Item(
        _NCSC,
        "design",
        "Secure design: threat model, security with functionality",
        "staff awareness and threat modelling of the application",
    ),
    Item(
        _NCSC,
        "development",
        "Secure development: supply chain, assets, documentation",
        "the application's own code and prompts",
    ),
    Item(
        _NCSC,
        "deployment",
        "Secure deployment: infrastructure, model protection, incidents",
        "network isolation, TLS termination and secret storage around the gateway",
    ),
    Item(
        _NCSC,
        "operation",
        "Secure operation: monitor inputs and behaviour, update securely",
        "reviewing what is flagged, and lessons learned",
    ),
]

ITEMS: dict[str, Item] = {
    f"{'OWASP' if i.framework == _OWASP else 'NIST' if i.framework == _NIST else 'NCSC'}.{i.id}": i
    for i in _ALL
}
FRAMEWORKS = (_OWASP, _NIST, _NCSC)
OWASP_LLM_2025 = {i.id: i for i in _ALL if i.framework == _OWASP}
__all__ += ["OWASP_LLM_2025"]
