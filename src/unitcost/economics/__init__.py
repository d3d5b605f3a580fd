"""The cost model: pure functions from hardware, facility, model and workload to dollars.

Nothing here knows about HTTP or storage. Every function takes floats or NumPy arrays of
Monte-Carlo draws, and every cost line says where its figure came from.
"""

from unitcost.economics.breakdown import Breakdown, Line, Num
from unitcost.economics.distributions import Range
from unitcost.economics.pnl import FeatureInputs, PnL, feature_pnl, total_pnl
from unitcost.economics.pricing import PriceCard, TokenUsage
from unitcost.economics.roofline import RooflineInputs, Throughput, roofline
from unitcost.economics.scenario import (
    MonteCarlo,
    Result,
    TornadoBar,
    evaluate,
    monte_carlo,
    tornado,
)
from unitcost.economics.seed import EnergyCheck, SeedCost, energy_check, seed_cost
from unitcost.economics.spec import Scenario, load_scenario, parse_scenario
from unitcost.economics.tco import TCO, Footprint, TCOInputs, accelerator_hour, capital_recovery
from unitcost.economics.training import TrainingCost, training_cost
from unitcost.economics.unit_cost import UnitCost, Workload, per_1k_tokens, unit_cost

__all__ = [
    "TCO",
    "Breakdown",
    "EnergyCheck",
    "FeatureInputs",
    "Footprint",
    "Line",
    "MonteCarlo",
    "Num",
    "PnL",
    "PriceCard",
    "Range",
    "Result",
    "RooflineInputs",
    "Scenario",
    "SeedCost",
    "TCOInputs",
    "Throughput",
    "TokenUsage",
    "TornadoBar",
    "TrainingCost",
    "UnitCost",
    "Workload",
    "accelerator_hour",
    "capital_recovery",
    "energy_check",
    "evaluate",
    "feature_pnl",
    "load_scenario",
    "monte_carlo",
    "parse_scenario",
    "per_1k_tokens",
    "roofline",
    "seed_cost",
    "tornado",
    "total_pnl",
    "training_cost",
    "unit_cost",
]
