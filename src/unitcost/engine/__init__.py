"""The local engine: llama.cpp's `llama-server`, built portably, serving SmolLM2 on loopback."""
