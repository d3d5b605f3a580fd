"""The gateway: an OpenAI-compatible service that meters every request into the ledger."""

from unitcost.gateway.app import Gateway
from unitcost.gateway.settings import GatewaySettings, hash_key, load_settings

__all__ = ["Gateway", "GatewaySettings", "hash_key", "load_settings"]
