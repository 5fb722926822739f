"""
Auth answers shared across gateway replicas through Redis (when REDIS_HOST is set, as for LiteLLM's shared rate
limits): a replica that has not seen a key reads the answer another replica got from the platform, instead of
asking again. Entries carry the remaining TTL, so an answer is never used longer than the auth cache TTL after the
platform gave it, whichever replica reads it. Redis trouble never fails a request: the platform is asked instead.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from .settings import Settings

logger = logging.getLogger("tollgate.shared")

PREFIX = "tollgate:auth:"


class SharedVerdicts:
    def __init__(self, client: Any) -> None:
        self._redis = client
        self._warned = False
        self.hits = 0
        self.misses = 0
        self.errors = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> "SharedVerdicts | None":
        """None without Redis, or with TOLLGATE_AUTH_SHARED off."""
        if not settings.redis_host or not settings.auth_shared:
            return None
        import redis.asyncio as redis  # LiteLLM's own dependency

        client = redis.Redis(
            host=settings.redis_host,
            port=settings.redis_port,
            password=settings.redis_password,
            socket_timeout=0.2,
            socket_connect_timeout=0.2,
        )
        return cls(client)

    async def get(self, fingerprint: str) -> tuple[dict[str, Any], float] | None:
        """The answer another replica stored and how many seconds it has left, or None."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                value, ttl_ms = await pipe.get(PREFIX + fingerprint).pttl(PREFIX + fingerprint).execute()
        except Exception as error:
            self._trouble(error)
            return None
        if value is None or ttl_ms is None or ttl_ms <= 0:
            self.misses += 1
            return None
        self.hits += 1
        return json.loads(value), ttl_ms / 1000

    async def put(self, fingerprint: str, verdict: dict[str, Any], ttl: float) -> None:
        if ttl <= 0:
            return
        try:
            await self._redis.set(PREFIX + fingerprint, json.dumps(verdict, separators=(",", ":")), px=int(ttl * 1000))
        except Exception as error:
            self._trouble(error)

    def _trouble(self, error: Exception) -> None:
        self.errors += 1
        if not self._warned:
            self._warned = True
            logger.warning("shared auth cache unavailable (%s): asking the platform instead", type(error).__name__)

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "errors": self.errors}
