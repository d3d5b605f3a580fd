"""unitcost: what every AI token really costs, and the machinery that makes it cost less.

>>> import unitcost
>>> card = unitcost.PriceCard(input_usd_per_m=0.25, output_usd_per_m=2.0)
>>> card.cost(unitcost.TokenUsage(prompt_tokens=1000, completion_tokens=100)).total
0.00045
"""

from unitcost.catalog import Catalog, load_catalog
from unitcost.economics import (
    PriceCard,
    Range,
    Scenario,
    TokenUsage,
    UnitCost,
    Workload,
    evaluate,
    load_scenario,
    monte_carlo,
    seed_cost,
    tornado,
)
from unitcost.errors import InputError, UnitcostError

__version__ = "0.1.0"

__all__ = [
    "Catalog",
    "InputError",
    "PriceCard",
    "Range",
    "Scenario",
    "TokenUsage",
    "UnitCost",
    "UnitcostError",
    "Workload",
    "__version__",
    "evaluate",
    "load_catalog",
    "load_scenario",
    "monte_carlo",
    "seed_cost",
    "tornado",
]
