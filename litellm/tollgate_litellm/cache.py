"""A small TTL cache with single-flight loading, so a burst on a cold key makes one platform call, and refresh ahead of
expiry, so a key in steady use never waits for one (not even when the platform is slow to answer the refresh)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")

logger = logging.getLogger("tollgate.cache")

# The platform's answers about a key (auth, provider credentials) are reloaded in the last fifth of their TTL: at most
# 5 s, so a second ahead, which is many round trips to the platform.
REFRESH_AHEAD = 0.2


class TTLCache(Generic[T]):
    def __init__(
        self,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        refresh_ahead: float = 0.0,
        refreshable: Callable[[T], bool] | None = None,
    ) -> None:
        """refresh_ahead: the last share of an entry's TTL in which a hit is still served from the cache but starts a
        reload in the background (one per key), so the calls of a key in use do not wait for the load at each expiry;
        only for values `refreshable` accepts (default all: a refusal gains nothing from it).

        While that reload is in flight, the entry is also served for as long again past its TTL (the grace): a reload
        answered slower than the refresh window (a platform cold start, a loaded host) does not make the calls
        behind it wait. Past the grace, or with no reload in flight (it failed, or none started), a caller waits for
        a load as without refresh. So what the source stops accepting (a revoked key) is refused within
        TTL × (1 + refresh_ahead) of the last answer that accepted it. Within that bound a given change can land later
        than without refresh (a reload answered just before the change starts a new TTL) or sooner (the next reload
        comes first)."""
        self._entries: OrderedDict[str, tuple[float, float, T]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[T]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._max = max_entries
        self._clock = clock
        self._refresh_ahead = min(max(refresh_ahead, 0.0), 1.0)
        self._refreshable = refreshable
        self.hits = 0
        self.misses = 0
        self.refreshes = 0
        self.grace_hits = 0
        # The background reloads in flight, by key (a reload's answer, or its failure, ends the grace at once).
        self._reloading: dict[str, asyncio.Future[T]] = {}

    def get(self, key: str) -> T | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, _, value = entry
        if self._clock() >= expires:
            return None  # kept (bounded by max_entries) for stale(): see Authenticator
        return value

    def stale(self, key: str) -> T | None:
        """The last value, expired or not (for when the source cannot be asked)."""
        entry = self._entries.get(key)
        return entry[2] if entry is not None else None

    def put(self, key: str, value: T, ttl: float) -> None:
        """Caches value for ttl seconds. A value not to be cached (ttl ≤ 0, e.g. a refusal with no negative TTL)
        still replaces what was cached: the entry is dropped, so an older answer is never served, nor its grace
        taken, after the source has said otherwise."""
        if ttl <= 0:
            self._entries.pop(key, None)
            return
        now = self._clock()
        ahead = self._refresh_ahead if self._refreshable is None or self._refreshable(value) else 0.0
        self._entries[key] = (now + ttl, now + ttl * (1 - ahead), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[tuple[T, float]]]) -> T:
        """Cached value, or the result of load() (value, ttl) shared by every concurrent caller."""
        entry = self._entries.get(key)
        if entry is not None:
            expires, refresh_at, value = entry
            now = self._clock()
            if now < expires:
                self.hits += 1
                if now >= refresh_at and key not in self._inflight:
                    self._refresh(key, load)
                return value
            # Expired, but its reload (started within the TTL) is still out: served for the grace, as long again as
            # the refresh window (expires - refresh_at; 0 for what is not reloaded ahead).
            if key in self._reloading and now < expires + (expires - refresh_at):
                self.hits += 1
                self.grace_hits += 1
                return value
        self.misses += 1
        # A load in flight, in the foreground or a refresh, answers this caller too; else one starts. It runs as a
        # task of its own: a caller that gives up (its client went away) cancels its own wait, never the load the
        # others joined.
        pending = self._inflight.get(key)
        if pending is None:
            pending = self._start(key, load, reload=False)
        return await asyncio.shield(pending)

    def _refresh(self, key: str, load: Callable[[], Awaitable[tuple[T, float]]]) -> None:
        """Reloads key in the background. A failed reload leaves the entry as it was, to expire at its time; the
        caller that next finds it expired loads it in the foreground, with that load's own answer to a failure."""
        self.refreshes += 1
        self._start(key, load, reload=True)

    def _start(self, key: str, load: Callable[[], Awaitable[tuple[T, float]]], *, reload: bool) -> asyncio.Future[T]:
        """Starts a load of key as a task; returns the future its callers wait on, registered at once (a caller after
        this joins it, even before it runs). A reload is marked in _reloading while it is out (the grace)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        if reload:
            self._reloading[key] = future

        def settled() -> None:
            if self._inflight.get(key) is future:
                del self._inflight[key]
            if self._reloading.get(key) is future:
                del self._reloading[key]

        async def run() -> None:
            try:
                value, ttl = await load()
                self.put(key, value, ttl)
                if not future.done():
                    future.set_result(value)
            except asyncio.CancelledError:
                future.cancel()  # the loop is closing: whoever waits is cancelled with it
                raise
            except Exception as error:  # noqa: BLE001 — handed to the callers waiting, through the future
                if reload:  # the entry expires as it would have without the refresh
                    logger.info("background refresh of a cached answer failed: %s", type(error).__name__)
                if not future.done():
                    future.set_exception(error)
                    # Nobody may be waiting (a reload's, or every caller gone): mark the exception as retrieved.
                    future.exception()
            finally:
                settled()

        def done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            # Cancelled before it ran (the loop closing): nobody may wait on its future for ever.
            if not future.done():
                future.cancel()
            settled()

        task = asyncio.get_running_loop().create_task(run())
        # The loop keeps only weak references to tasks: held here until done.
        self._tasks.add(task)
        task.add_done_callback(done)
        return future
