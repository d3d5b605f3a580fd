"""What the machine the local engine runs on costs an hour: the price its tokens are priced at.

    f"${VM_USD_PER_HOUR}/h ({VM_SOURCE})"     # ÷ measured output tokens/s = $ per token

One figure, shared by `unitcost demo`, the `local` backend and bench/local_batching.py.
"""

from __future__ import annotations

__all__ = ["VM_SOURCE", "VM_USD_PER_HOUR"]

#: the hourly price of a machine like the one the local model runs on (2 vCPU, 8 GiB)
VM_USD_PER_HOUR = 0.0816
VM_SOURCE = (
    "AWS EC2 on-demand m7g.large (2 vCPU, 8 GiB), us-east-1, June 2026, as listed in "
    "factualminds.com 'Amazon EC2 On-Demand Pricing' (2026)"
)
