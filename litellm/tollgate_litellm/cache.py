"""A small TTL cache with single-flight loading, so a burst on a cold key makes one platform call."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TTLCache(Generic[T]):
    def __init__(self, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[T]] = {}
        self._max = max_entries
        self._clock = clock
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> T | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self._clock() >= expires:
            return None  # kept (bounded by max_entries) for stale(): see Authenticator
        return value

    def stale(self, key: str) -> T | None:
        """The last value, expired or not (for when the source cannot be asked)."""
        entry = self._entries.get(key)
        return entry[1] if entry is not None else None

    def put(self, key: str, value: T, ttl: float) -> None:
        if ttl <= 0:
            return
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[tuple[T, float]]]) -> T:
        """Cached value, or the result of load() (value, ttl) shared by every concurrent caller."""
        cached = self.get(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value, ttl = await load()
            self.put(key, value, ttl)
            future.set_result(value)
            return value
        except BaseException as error:
            future.set_exception(error)
            # Nobody else may be waiting: mark the exception as retrieved.
            future.exception()
            raise
        finally:
            del self._inflight[key]
