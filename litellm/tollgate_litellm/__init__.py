"""Tollgate's extension of the LiteLLM proxy: key auth against the platform (and, later, billing hooks)."""
