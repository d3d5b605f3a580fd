"""/metrics: unitcost's series with a feature label, the OpenTelemetry GenAI instruments with
their advised buckets, bounded label values, and a Grafana dashboard that reads only these."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from unitcost.gateway.metrics import MAX_VALUES, GatewayMetrics
from unitcost.ledger.record import UsageRecord

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "unitcost-gateway.json"


def _row(**kw: object) -> UsageRecord:
    base: dict[str, object] = dict(
        id="c1",
        request_id="r1",
        ts=0.0,
        tenant="acme",
        endpoint="chat/completions",
        requested="auto",
        deployment="small",
        status="ok",
        http_status=200,
        stream=True,
        feature="chat",
        prompt_tokens=300,
        completion_tokens=20,
        ttft_ms=120.0,
        latency_ms=900.0,
        cost_nanos=1_500_000,
    )
    base.update(kw)
    return UsageRecord(**base)  # type: ignore[arg-type]


def _samples(m: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(m.render().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_unitcost_series_carry_feature_and_money() -> None:
    m = GatewayMetrics()
    m.observe(_row())
    m.observe(_row(id="c2", status="cache_hit", cost_nanos=0, saving_nanos=1_500_000))
    s = _samples(m)
    who = (("deployment", "small"), ("feature", "chat"), ("tenant", "acme"))
    assert s[("unitcost_cost_usd_total", who)] == 0.0015
    assert s[("unitcost_saving_usd_total", who)] == 0.0015
    assert s[("unitcost_requests_total", tuple(sorted((*who, ("status", "ok")))))] == 1
    assert (
        s[
            (
                "unitcost_tokens_total",
                (
                    ("deployment", "small"),
                    ("feature", "chat"),
                    ("kind", "prompt"),
                    ("tenant", "acme"),
                ),
            )
        ]
        == 600
    )


def test_genai_instruments_use_the_conventions_buckets() -> None:
    m = GatewayMetrics()
    m.observe(_row())
    text = m.render().decode()
    genai = 'gen_ai_operation_name="chat",gen_ai_request_model="auto",gen_ai_response_model="small"'
    assert (
        f'gen_ai_client_token_usage_bucket{{{genai},gen_ai_token_type="input",le="1024.0"}} 1.0'
        in text
    )
    assert (
        f'gen_ai_client_token_usage_bucket{{{genai},gen_ai_token_type="input",le="256.0"}} 0.0'
        in text
    )
    assert 'le="6.7108864e+07"' in text  # 4^13 tokens, the last advised boundary
    les = re.findall(r'gen_ai_client_operation_duration_seconds_bucket\{[^}]*le="([^"]+)"', text)
    assert [float(x) for x in les] == [0.01 * 2**i for i in range(14)] + [float("inf")]
    ttft = re.findall(r'gen_ai_server_time_to_first_token_seconds_bucket\{[^}]*le="([^"]+)"', text)
    assert [float(x) for x in ttft][:3] == [0.001, 0.005, 0.01] and float(ttft[-2]) == 10.0
    assert f"gen_ai_server_time_to_first_token_seconds_count{{{genai}}} 1.0" in text


def test_rejections_and_failures() -> None:
    m = GatewayMetrics()
    m.observe_rejection(None, 401, "invalid_api_key")
    m.observe_rejection("acme", 429, "rate_limit")
    m.observe(
        _row(
            status="upstream_error",
            http_status=502,
            cost_nanos=0,
            prompt_tokens=0,
            completion_tokens=0,
            ttft_ms=None,
        )
    )
    text = m.render().decode()
    assert (
        'unitcost_rejections_total{http_status="401",reason="invalid_api_key",'
        'tenant="(unauthenticated)"} 1.0'
    ) in text
    assert 'error_type="upstream_error"' in text
    assert 'gen_ai_token_type="input",le="1.0"} 0.0' in text  # failed calls count no tokens


def test_client_chosen_labels_are_bounded() -> None:
    m = GatewayMetrics()
    for i in range(MAX_VALUES + 50):
        m.observe(_row(id=f"c{i}", feature=f"f{i}"))
    features = {
        dict(labels)["feature"] for name, labels in _samples(m) if name == "unitcost_cost_usd_total"
    }
    assert len(features) == MAX_VALUES + 1 and "other" in features


def _exported_names() -> set[str]:
    m = GatewayMetrics()
    m.observe(_row())
    m.observe(_row(id="c2", status="cache_hit", cost_nanos=0, saving_nanos=5))
    m.observe_rejection("acme", 429, "rate_limit")
    return {name for name, _ in _samples(m)}


def test_every_grafana_panel_queries_a_metric_the_gateway_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exported = _exported_names()
    functions = {"sum", "by", "rate", "increase", "histogram_quantile", "le"}
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            # drop label matchers, ranges, strings, `by (...)` groups and numbers
            expr = re.sub(r'\{[^}]*\}|"[^"]*"|\[[^\]]*\]|\bby \([^)]*\)', " ", target["expr"])
            expr = re.sub(r"(?<![A-Za-z_])\d[\d.eE+-]*", " ", expr)
            names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)) - functions
            assert names, target["expr"]
            missing = names - exported
            assert not missing, f"{panel['title']}: {missing} not exported"
