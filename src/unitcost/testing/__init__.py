"""Instruments for load and fault injection, and protocol fakes. Nothing here is a model.

- `FakeUpstream`: an OpenAI-compatible server that answers in microseconds (load, faults,
  and the usage quirks of vLLM, TGI and llama.cpp).
- `AnthropicProtocolServer`, `TritonProtocolServer`, `OllamaProtocolServer`: each speaks
  one provider's published wire format, streams included, with a scripted answer.
"""

from unitcost.testing.anthropic_server import AnthropicProtocolServer
from unitcost.testing.fake_upstream import FakeUpstream, FakeUpstreamBehaviour
from unitcost.testing.protocol_server import ProtocolServer, Script, in_thread

__all__ = [
    "AnthropicProtocolServer",
    "FakeUpstream",
    "FakeUpstreamBehaviour",
    "ProtocolServer",
    "Script",
    "in_thread",
]
