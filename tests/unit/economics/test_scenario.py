from pathlib import Path

import numpy as np
import pytest

from unitcost.economics.scenario import evaluate, monte_carlo, tornado
from unitcost.economics.spec import load_scenario, parse_scenario
from unitcost.errors import InputError

EXAMPLES = sorted((Path(__file__).parents[3] / "src/unitcost/examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_evaluates_and_samples(path: Path) -> None:
    spec = load_scenario(path)
    result = evaluate(spec)
    assert all(np.isfinite(float(v)) for v in result.outputs().values())
    mc = monte_carlo(spec, samples=500)
    assert set(mc.outputs) == set(result.outputs())


def test_seed_example_gives_the_articles_figures() -> None:
    out = evaluate(
        load_scenario(EXAMPLES[[p.stem for p in EXAMPLES].index("seed-article")])
    ).outputs()
    assert round(float(out["overheads-add.usd_per_1k_output"]), 4) == 0.1094
    assert round(float(out["overheads-compound.usd_per_1k_output"]), 4) == 0.1111


def base(**deployment: object) -> dict[str, object]:
    return {"name": "t", "deployments": {"d": deployment}}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            base(list_price={"input_usd_per_m": -1, "output_usd_per_m": 1}),
            r"deployments\.d\.list_price\.input_usd_per_m.*-1 is out of bounds; accepted: a number ≥ 0",
        ),
        (
            base(
                list_price={
                    "input_usd_per_m": {"low": 3, "mode": 2, "high": 1},
                    "output_usd_per_m": 1,
                }
            ),
            r"input_usd_per_m.*low > high .*accepted: low ≤ mode ≤ high",
        ),
        (
            base(list_price={"input_usd_per_m": 1}),
            r"deployments\.d\.list_price\.output_usd_per_m: Field required",
        ),
        (  # a share drawn from a lognormal went over 1 in ~2.5% of draws
            base(
                self_hosted={
                    "accelerator": "H100-SXM",
                    "model": "llama-3.1-8b",
                    "lease_usd_per_hour": 2.0,
                    "utilisation": {"dist": "lognormal", "low": 0.3, "high": 0.9},
                }
            ),
            r"utilisation.*a lognormal range draws past a number in \(0, 1\] in its tails",
        ),
        (
            base(
                list_price={"input_usd_per_m": 1, "output_usd_per_m": 1},
                seed={"tco_usd_per_hour": 1, "tokens_per_s": 1},
            ),
            r"exactly one of list_price, self_hosted, seed",
        ),
        ({"name": "t", "deployments": {}}, r"deployments: .*at least 1"),
        (
            base(self_hosted={"accelerator": "H100", "model": "llama-3.1-8b", "utilisation": 1.5}),
            r"utilisation.*1.5 is out of bounds; accepted: a number in \(0, 1\]",
        ),
    ],
)
def test_bad_input_names_the_field_and_what_is_accepted(
    raw: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError, match=message) as exc:
        parse_scenario(raw)
    assert "\n" not in exc.value.message


def test_unknown_hardware_lists_what_the_catalog_knows() -> None:
    spec = parse_scenario(base(self_hosted={"accelerator": "H1000", "model": "llama-3.1-8b"}))
    with pytest.raises(
        InputError,
        match=r"self_hosted\.accelerator: unknown accelerator 'H1000'; "
        r"the catalog knows: .*H100-SXM",
    ):
        evaluate(spec)


def test_malformed_yaml_says_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndeployments: {a: [1, 2\n")
    with pytest.raises(InputError, match=r"not valid YAML at line \d+"):
        load_scenario(bad)


def test_catalog_price_is_used_with_its_source_when_none_is_given() -> None:
    spec = parse_scenario(base(self_hosted={"accelerator": "H100-SXM", "model": "llama-3.1-8b"}))
    d = evaluate(spec).deployments["d"]
    assert d.tco is not None
    lease = d.tco.cost.line("lease")
    assert "catalog H100-SXM.rental_usd_per_hour: midpoint" in lease.source


def test_percentiles_bracket_the_point_estimate_and_tornado_ranks_by_swing() -> None:
    spec = parse_scenario(
        {
            "name": "t",
            "workload": {"input_tokens": 1000, "output_tokens": 200},
            "deployments": {
                "d": {
                    "self_hosted": {
                        "accelerator": "H100-SXM",
                        "model": "llama-3.1-8b",
                        "precision": "fp8",
                        "lease_usd_per_hour": {"low": 2.0, "mode": 2.5, "high": 3.0},
                        "utilisation": {"low": 0.1, "mode": 0.5, "high": 0.9},
                        "electricity_usd_per_kwh": {"low": 0.05, "mode": 0.08, "high": 0.12},
                    }
                }
            },
        }
    )
    mc = monte_carlo(spec, samples=20_000, seed=3)
    p = mc.percentiles()["d.usd_per_1k_output"]
    point = float(evaluate(spec).outputs()["d.usd_per_1k_output"])
    assert p["p5"] < point < p["p95"]
    _output, base_value, bars = tornado(spec, "d.usd_per_1k_output")
    assert base_value == pytest.approx(point)
    assert [b.input.rsplit(".", 1)[1] for b in bars] == [
        "utilisation",
        "lease_usd_per_hour",
        "electricity_usd_per_kwh",
    ]
    assert bars[0].output_at_low > bars[0].output_at_high  # more idle time, dearer tokens


def test_tornado_refuses_an_unknown_output() -> None:
    spec = parse_scenario(base(list_price={"input_usd_per_m": 1, "output_usd_per_m": 2}))
    with pytest.raises(InputError, match=r"output: unknown 'nope'; accepted: d.usd_per_1k_input"):
        tornado(spec, "nope")


def test_feature_pnl_in_a_scenario_adds_up() -> None:
    spec = parse_scenario(
        {
            "name": "pnl",
            "deployments": {
                "a": {"list_price": {"input_usd_per_m": 1.0, "output_usd_per_m": 4.0}},
                "b": {"list_price": {"input_usd_per_m": 0.1, "output_usd_per_m": 0.4}},
            },
            "features": [
                {
                    "name": "f",
                    "users": 1000,
                    "attach_rate": 0.5,
                    "requests_per_user_month": 10,
                    "input_tokens": 1000,
                    "output_tokens": 500,
                    "model_mix": {"a": 0.5, "b": 0.5},
                    "arpu_uplift_usd_month": 2.0,
                    "eval_safety_overhead": 0.1,
                    "fixed_usd_month": 100,
                }
            ],
        }
    )
    (f,) = evaluate(spec).features
    requests = 1000 * 0.5 * 10
    inference = requests * 0.5 * (0.001 + 0.002) + requests * 0.5 * (0.0001 + 0.0002)
    assert f.inference == pytest.approx(inference)
    assert f.cogs == pytest.approx(inference * 1.1 + 100)
    assert f.gross_margin == pytest.approx((1000.0 - inference * 1.1 - 100) / 1000.0)


def test_model_mix_must_name_deployments_and_add_to_one() -> None:
    feature = {
        "name": "f",
        "users": 1,
        "attach_rate": 1,
        "requests_per_user_month": 1,
        "input_tokens": 1,
        "output_tokens": 1,
        "arpu_uplift_usd_month": 1,
    }
    raw = base(list_price={"input_usd_per_m": 1, "output_usd_per_m": 1})
    with pytest.raises(InputError, match="'zzz' is not a deployment; deployments are: d"):
        parse_scenario({**raw, "features": [{**feature, "model_mix": {"zzz": 1.0}}]})
    with pytest.raises(InputError, match="must add up to 1"):
        parse_scenario({**raw, "features": [{**feature, "model_mix": {"d": 0.5}}]})
