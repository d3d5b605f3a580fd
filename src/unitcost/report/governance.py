"""The governance report: which controls of the running configuration cover which risks.

    report = governance_report(settings, measurements=load_measurements(Path("bench/out/guard.json")))
    Path("governance.md").write_text(report.markdown())
    Path("governance.html").write_text(report.html())
    report.missing(["guard.pii.redact_records", "budgets"])   # required controls that are off

For each item of the OWASP Top 10 for LLM Applications (2025), the NIST AI RMF 1.0 functions
(Govern, Map, Measure, Manage) and the NCSC/CISA secure AI guidelines (design, development,
deployment, operation): the controls that cover it, whether each is on and with what
setting, the evidence (measured figures with their age, and the tests), and what remains
uncovered. The controls are a table in `report.controls`; the frameworks in
`report.frameworks`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from unitcost.errors import InputError
from unitcost.report.controls import CONTROLS, Control, Reading, lookup
from unitcost.report.frameworks import FRAMEWORKS, ITEMS
from unitcost.report.html import page, table

__all__ = ["GovernanceReport", "Measurements", "governance_report", "load_measurements"]

_BENCH = "python bench/guard.py"
_LABELS = {
    "deterministic.p95_ms": ("deterministic layer p95 on an 8 KB request", "{:.2f} ms"),
    "classifier.p95_ms": ("injection classifier p95 at 512 tokens", "{:.1f} ms"),
    "injection.bipia.tpr_at_1pct_fpr": ("injection TPR at 1% FPR, BIPIA test (indirect)", "{:.1%}"),
    "injection.direct.tpr_at_1pct_fpr": ("injection TPR at 1% FPR, direct set", "{:.1%}"),
    "injection.direct.tpr_at_5pct_fpr": ("injection TPR at 5% FPR, direct set", "{:.1%}"),
}


@dataclass(frozen=True)
class Measurements:
    data: dict[str, Any]
    source: str
    age_days: float | None
    note: str  # "" when fresh; else why the evidence is weak

    def figure(self, key: str) -> str | None:
        value = lookup(self.data, key)
        if not isinstance(value, int | float):
            return None
        if key in _LABELS:
            label, fmt = _LABELS[key]
        elif key.startswith("pii.") and key.endswith(".recall"):
            kind = key.split(".")[1]
            label, fmt = f"PII recall {kind} (presidio-pii)", "{:.3f}"
        else:
            label, fmt = key, "{}"
        return f"{label}: {fmt.format(value)}"


def load_measurements(
    path: Path, max_age_days: float = 30.0, now: datetime | None = None
) -> Measurements:
    """The bench's JSON, with a note when it is missing, unreadable or older than allowed."""
    if not path.exists():
        return Measurements({}, str(path), None, f"missing: run `{_BENCH}` to measure")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        made = datetime.fromisoformat(str(data["generated"]))
    except (ValueError, KeyError, TypeError) as exc:
        return Measurements({}, str(path), None, f"unreadable ({exc}); rerun `{_BENCH}`")
    age = ((now or datetime.now(UTC)) - made).total_seconds() / 86400
    note = (
        f"stale: {age:.0f} days old (limit {max_age_days:g}); rerun `{_BENCH}`"
        if age > max_age_days
        else ""
    )
    return Measurements(data, str(path), age, note)


@dataclass
class Row:
    control: Control
    reading: Reading
    evidence: list[str] = field(default_factory=list)


@dataclass
class GovernanceReport:
    config: str
    rows: dict[str, Row]
    measurements: Measurements
    retention: list[str]
    generated: str

    def missing(self, required: Iterable[str]) -> list[str]:
        """Required control ids that are off; an unknown id is an InputError."""
        wanted = [r.strip() for r in required if r.strip()]
        unknown = [r for r in wanted if r not in self.rows]
        if unknown:
            raise InputError(
                f"--require: unknown control {', '.join(unknown)}; known: {', '.join(self.rows)}",
                param="require",
            )
        return [r for r in wanted if not self.rows[r].reading.on]

    def by_item(self) -> dict[str, list[Row]]:
        out: dict[str, list[Row]] = {k: [] for k in ITEMS}
        for row in self.rows.values():
            for item in row.control.covers:
                out[item].append(row)
        return out

    def _item_lines(self, key: str, rows: list[Row]) -> tuple[str, str, str]:
        on = [r for r in rows if r.reading.on]
        off = [r for r in rows if not r.reading.on]
        covered = "; ".join(f"{r.control.id} ({'on' if r.reading.on else 'OFF'})" for r in rows)
        gaps = [f"off: {', '.join(r.control.id for r in off)}"] if off else []
        gaps.append(ITEMS[key].residual)
        evidence = "; ".join(e for r in on for e in r.evidence) or "(none)"
        return covered or "(no control)", evidence, "; ".join(gaps)

    def markdown(self) -> str:
        m = self.measurements
        lines = [
            "# unitcost governance report",
            "",
            f"Configuration: `{self.config}`. Generated {self.generated}.",
            "",
            f"Measurements: `{m.source}`"
            + (f" ({m.age_days:.0f} days old)" if m.age_days is not None else "")
            + (f". **{m.note}**" if m.note else "."),
            "",
            "## Controls",
            "",
            "| control | state | setting | evidence |",
            "|---|---|---|---|",
        ]
        for r in self.rows.values():
            state = "on" if r.reading.on else "**off**"
            ev = "; ".join(r.evidence) or "(none)"
            lines.append(
                f"| `{r.control.id}` {r.control.name} | {state} | "
                f"{_md(r.reading.setting)} | {_md(ev)} |"
            )
        by_item = self.by_item()
        for framework in FRAMEWORKS:
            lines += [
                "",
                f"## {framework}",
                "",
                "| item | controls | evidence | uncovered |",
                "|---|---|---|---|",
            ]
            for key, item in ITEMS.items():
                if item.framework == framework:
                    covered, evidence, gaps = self._item_lines(key, by_item[key])
                    lines.append(
                        f"| {item.id} {item.name} | {_md(covered)} | {_md(evidence)} | "
                        f"{_md(gaps)} |"
                    )
        lines += ["", "## Record keeping (EU AI Act Art. 12)", ""]
        lines += [f"- {r}" for r in self.retention]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        m = self.measurements
        controls = table(
            "Controls in the running configuration",
            ["control", "state", "setting", "evidence"],
            [
                [
                    f"{r.control.id}: {r.control.name}",
                    "on" if r.reading.on else "OFF",
                    r.reading.setting,
                    "; ".join(r.evidence) or "(none)",
                ]
                for r in self.rows.values()
            ],
        )
        sections = [("Controls", controls)]
        by_item = self.by_item()
        for framework in FRAMEWORKS:
            rows = [
                [f"{item.id} {item.name}", *self._item_lines(key, by_item[key])]
                for key, item in ITEMS.items()
                if item.framework == framework
            ]
            sections.append(
                (framework, table(framework, ["item", "controls", "evidence", "uncovered"], rows))
            )
        retention = "<ul>" + "".join(f"<li>{escape(r)}</li>" for r in self.retention) + "</ul>"
        sections.append(("Record keeping (EU AI Act Art. 12)", retention))
        note = (
            f"Configuration {self.config}; generated {self.generated}; measurements "
            f"{m.source}" + (f" ({m.note})" if m.note else "")
        )
        return page("unitcost governance report", sections, note).replace(
            "th:first-child,td:first-child{text-align:left}",
            "th,td{text-align:left;vertical-align:top}",
        )


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _retention(settings: Any) -> list[str]:
    url = str(lookup(settings, "ledger.url", "") or "(none)")
    where = url.split("://", 1)[-1] if url.startswith("sqlite") else url.split("@")[-1]
    kind = url.split(":", 1)[0]
    lines = [
        f"Automatic logs: the ledger ({kind}, {where}) records one row per upstream call, cache "
        "hit and rejection, with time, tenant, feature, end user, model or route, deployment, "
        "status, tokens, cost and (with the guard stage) guard_action, guard_reasons, guard_ms.",
        "Retention: the gateway deletes no ledger rows; how long they are kept is how long the "
        "store is kept. Deployers of high-risk AI systems must keep automatically generated logs "
        "for at least six months (EU AI Act Art. 26(6), logs as required by Art. 12): back up and "
        "retain the database for at least that long, and write the period into your records "
        "policy.",
        "Export: `unitcost usage --config CONFIG --group-by ... --json` and GET /v1/usage "
        "(admin key) read the ledger; SQLite and PostgreSQL are open formats readable by any "
        "SQL client.",
    ]
    redact = lookup(settings, "guard.default.pii.redact_records")
    if redact is True:
        lines.append(
            "Records hold no raw personal data: guard.pii.redact_records is on by default."
        )
    elif redact is False:
        lines.append(
            "Records may hold raw personal data: guard.pii.redact_records is off by "
            "default; protect and retain the ledger accordingly."
        )
    return lines


def governance_report(
    settings: Any, measurements: Measurements, config: str = "(in memory)"
) -> GovernanceReport:
    rows: dict[str, Row] = {}
    for control in CONTROLS.values():
        reading = control.read(settings)
        evidence = [f for key in control.evidence if (f := measurements.figure(key))]
        if control.evidence and not evidence:
            evidence.append(f"no measurement ({measurements.note or 'not in the bench JSON'})")
        elif evidence and measurements.note:
            evidence.append(measurements.note)
        if control.tests:
            evidence.append(f"tested in {control.tests}")
        rows[control.id] = Row(control, reading, evidence)
    return GovernanceReport(
        config,
        rows,
        measurements,
        _retention(settings),
        datetime.now(UTC).isoformat(timespec="seconds"),
    )
