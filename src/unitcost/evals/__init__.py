"""Evaluations: quality and cost side by side."""
