"""Routing: embeddings, a learned router, RouteLLM's metrics, and route evaluation."""
