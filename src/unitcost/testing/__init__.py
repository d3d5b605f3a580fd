"""Instruments for load and fault injection, and protocol fakes. Nothing here is a model.

- `FakeUpstream`: an OpenAI-compatible server that answers in microseconds (load, faults,
  and the usage quirks of vLLM, TGI and llama.cpp).
- `OpenAIProtocolServer`, `AnthropicProtocolServer`, `TritonProtocolServer`,
  `OllamaProtocolServer`: each speaks one provider's published wire format, streams
  included, with a scripted answer (`Script`) and scripted faults.
"""

from unitcost.testing.anthropic_server import AnthropicProtocolServer
from unitcost.testing.fake_upstream import FakeUpstream, FakeUpstreamBehaviour
from unitcost.testing.ollama_server import OllamaProtocolServer
from unitcost.testing.openai_server import OpenAIProtocolServer
from unitcost.testing.protocol_server import ProtocolServer, Script, in_thread
from unitcost.testing.triton_server import TritonProtocolServer

__all__ = [
    "AnthropicProtocolServer",
    "FakeUpstream",
    "FakeUpstreamBehaviour",
    "OllamaProtocolServer",
    "OpenAIProtocolServer",
    "ProtocolServer",
    "Script",
    "TritonProtocolServer",
    "in_thread",
]
