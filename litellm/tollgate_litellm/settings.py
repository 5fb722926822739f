"""Environment settings of the plugin, read once at import (each uvicorn worker imports it)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _float(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise RuntimeError(f"{name} must be a number, got {raw!r}") from error
    if not low <= value <= high:
        raise RuntimeError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    platform_url: str
    gateway_secret: str
    master_key: str | None
    auth_cache_ttl: float
    auth_negative_ttl: float
    platform_timeout: float
    cache_max_entries: int

    @classmethod
    def from_env(cls) -> "Settings":
        url = os.environ.get("TOLLGATE_URL", "").rstrip("/")
        secret = os.environ.get("TOLLGATE_GATEWAY_SECRET", "")
        if not url:
            raise RuntimeError("TOLLGATE_URL is required (the control plane's base URL)")
        if len(secret) < 32:
            raise RuntimeError("TOLLGATE_GATEWAY_SECRET is required (32+ characters, same as the platform's GATEWAY_SECRET)")
        return cls(
            platform_url=url,
            gateway_secret=secret,
            master_key=os.environ.get("LITELLM_MASTER_KEY") or None,
            # A revoked key keeps working at most this long: the bound is 5 s.
            auth_cache_ttl=_float("TOLLGATE_AUTH_CACHE_TTL", 5.0, 0.0, 5.0),
            auth_negative_ttl=_float("TOLLGATE_AUTH_NEGATIVE_TTL", 2.0, 0.0, 5.0),
            platform_timeout=_float("TOLLGATE_PLATFORM_TIMEOUT", 3.0, 0.1, 30.0),
            cache_max_entries=int(_float("TOLLGATE_AUTH_CACHE_MAX", 10_000, 1, 10_000_000)),
        )
