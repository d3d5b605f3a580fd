"""Measured throughput → $/1K tokens through the economics model, and the roofline check.

    pricing = Pricing.from_flags(hardware="H100-SXM", gpus=1, lease_usd_per_hour=2.49)
    costs = pricing.level_costs(stats)          # $/1K input, output, blended
    pricing.roofline_efficiency(stats)          # measured ÷ roofline output tokens/s

Cost per second of the replica is split between input and output tokens by time, as in the
economics model: the share of a request's time spent before the first token (prefill) is
charged to input tokens, the rest (decode) to output tokens. Under load, TTFT also holds
time spent queueing, so the share is taken from the least-loaded level measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unitcost.bench.metrics import LevelStats
from unitcost.catalog import Accelerator, ModelShape, load_catalog
from unitcost.economics.breakdown import as_float
from unitcost.economics.calibration import workload_output_rate
from unitcost.economics.roofline import RooflineInputs, roofline
from unitcost.economics.scenario import evaluate
from unitcost.economics.spec import load_scenario
from unitcost.economics.tco import TCOInputs, accelerator_hour
from unitcost.errors import InputError

__all__ = ["Pricing"]


@dataclass(frozen=True)
class Pricing:
    usd_per_hour: float  # the whole replica
    source: str
    accelerator: Accelerator | None = None
    gpus: int = 1
    model: ModelShape | None = None
    precision: str = "bf16"
    pue: float = 1.0
    electricity_usd_per_kwh: float = 0.0
    utilisation: float = 1.0

    @classmethod
    def from_flags(
        cls,
        *,
        hardware: str | None = None,
        gpus: int = 1,
        catalog_model: str | None = None,
        precision: str = "bf16",
        lease_usd_per_hour: float | None = None,
        usd_per_hour: float | None = None,
        pue: float = 1.0,
        electricity_usd_per_kwh: float = 0.0,
        utilisation: float = 1.0,
        scenario: str | None = None,
        deployment: str | None = None,
    ) -> Pricing | None:
        cat = load_catalog()
        acc = cat.accelerator(hardware) if hardware else None
        model = cat.model(catalog_model) if catalog_model else None
        if not 0 < utilisation <= 1:
            raise InputError("--utilisation: must be in (0, 1]")
        if scenario is not None:
            spec = load_scenario(scenario)
            name = deployment or next(iter(spec.deployments))
            if name not in spec.deployments or spec.deployments[name].self_hosted is None:
                raise InputError(
                    f"--deployment: {name!r} is not a self_hosted deployment of {scenario}"
                )
            result = evaluate(spec).deployments[name]
            sh = spec.deployments[name].self_hosted
            assert sh is not None and result.tco is not None
            return cls(
                as_float(result.replica_usd_per_hour or 0.0),
                f"scenario {scenario}, deployment {name}: {result.origin}",
                cat.accelerator(sh.accelerator),
                sh.accelerators,
                model or cat.model(sh.model),
                sh.precision,
                utilisation=utilisation,
            )
        if usd_per_hour is None:
            if acc is None:
                return None
            lease = lease_usd_per_hour
            if lease is None and acc.rental_usd_per_hour is not None:
                lease = acc.rental_usd_per_hour.mid
            tco = accelerator_hour(
                TCOInputs(
                    acc,
                    lease_usd_per_hour=lease,
                    pue=pue,
                    electricity_usd_per_kwh=electricity_usd_per_kwh,
                )
            )
            usd_per_hour = as_float(tco.cost.total) * gpus
            source = f"{gpus} × {acc.name} at ${as_float(tco.cost.total):.4g}/h each " + (
                "(input lease)" if lease_usd_per_hour is not None else "(catalog rental midpoint)"
            )
        else:
            source = f"input --usd-per-hour {usd_per_hour:g} for the replica"
        return cls(
            usd_per_hour,
            source,
            acc,
            gpus,
            model,
            precision,
            pue,
            electricity_usd_per_kwh,
            utilisation,
        )

    @staticmethod
    def prefill_share(s: LevelStats) -> float | None:
        if s.ttft.mean is None or not s.e2e.mean:
            return None
        return min(1.0, s.ttft.mean / s.e2e.mean)

    def level_costs(self, s: LevelStats, prefill_share: float | None) -> dict[str, Any]:
        if not s.output_tokens or prefill_share is None:
            return {}
        per_s = self.usd_per_hour / 3600.0 / self.utilisation
        out: dict[str, Any] = {
            "usd_per_hour": self.usd_per_hour,
            "prefill_time_share": prefill_share,
            "usd_per_1k_input": per_s * prefill_share / s.input_tokens_per_s * 1000
            if s.input_tokens_per_s
            else None,
            "usd_per_1k_output": per_s * (1 - prefill_share) / s.output_tokens_per_s * 1000,
            "usd_per_1k_tokens": per_s / s.total_tokens_per_s * 1000,
            "priced_by": self.source,
        }
        return out

    def roofline_efficiency(self, s: LevelStats) -> dict[str, Any] | None:
        """Measured ÷ roofline output tokens/s for the same model, hardware and batch."""
        if self.accelerator is None or self.model is None or s.concurrency is None:
            return None
        if not s.requests or not s.output_tokens:
            return None
        ok = s.requests - s.errors
        avg_in, avg_out = s.input_tokens / ok, s.output_tokens / ok
        t = roofline(
            RooflineInputs(
                self.accelerator,
                self.model,
                self.precision,
                batch_size=float(s.concurrency),
                input_tokens=avg_in,
                output_tokens=avg_out,
                tensor_parallel=self.gpus,
            )
        )
        estimate = workload_output_rate(
            as_float(t.prefill_tokens_per_s), as_float(t.decode_tokens_per_s), avg_in, avg_out
        )
        return {
            "roofline_output_tokens_per_s": estimate,
            "efficiency": s.output_tokens_per_s / estimate,
            "source": t.source,
        }

    def energy(self, s: LevelStats, joules: float | None, reason: str | None) -> dict[str, Any]:
        tokens = s.input_tokens + s.output_tokens
        measured = joules is not None
        if joules is None:
            if self.accelerator is None or self.accelerator.tdp_watts is None:
                return {"measured": False, "note": reason or "no power source"}
            joules = self.accelerator.tdp_watts * 0.7 * self.gpus * s.duration_s
            note = (
                f"{reason}; assumed {self.accelerator.tdp_watts:g} W TDP × 0.7 load × "
                f"{self.gpus} GPU(s) from the catalog"
            )
        else:
            note = "NVML board power, integrated over the level"
        kwh = joules / 3.6e6
        return {
            "measured": measured,  # the reason may itself start "NVML unavailable"
            "note": note,
            "joules": joules,
            "joules_per_1k_tokens": joules / tokens * 1000 if tokens else None,
            "kwh_per_1k_tokens": kwh / tokens * 1000 if tokens else None,
            "energy_usd_per_1k_tokens": kwh
            * self.pue
            * self.electricity_usd_per_kwh
            / tokens
            * 1000
            if tokens
            else None,
        }
