"""
The response cache (issue 30, billing contract clause 60): LiteLLM's own exact cache, on Redis when the gateway has
one (REDIS_HOST, shared by every replica), else in this process's memory. It is opt-in per request
(`CacheMode.default_off`): only a request the pre-call hook marks reads or writes it, and a client cannot mark one
(the gate refuses a body's `cache` and `metadata`, which LiteLLM would read).

The hook marks a request when the key's account keeps answers (its owner's policy, in the auth answer) and the request
is deterministic enough for the owner: chat or legacy completions, not streamed, with a temperature at most
the owner's limit (no temperature is the provider's default, 1). The mark carries:
- the namespace `tollgate:<account id>:<digest of the request as sent>`, which LiteLLM prefixes to the cache key: one
  tenant never reads another's answers, whatever their requests, and within a tenant only the very same request
  (request_digest) is answered from the cache;
- the owner's TTL, both as the entry's lifetime and as the oldest entry a read accepts (`s-maxage`), so shortening it
  takes effect at once.
A hit still reserves its worst case before LiteLLM looks in the cache (the hook runs first), and is charged the model's
cache-hit share of its price (cache_hit_charge), never more than the provider's answer would have been.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import litellm
import orjson
from litellm.caching.caching import Cache, CacheMode, LiteLLMCacheType

from .gate import BILLED_ROUTES
from .settings import Settings

logger = logging.getLogger("tollgate.cache")

# The call kinds whose answers are kept, and LiteLLM's call types for them (the cache ignores every other type). Not
# embeddings: LiteLLM caches each input of a list on its own and serves a list that partly hits by calling the
# provider for the rest, a mix one call's hit price cannot bill honestly (docs/adr/0021).
CACHED_KINDS = frozenset({"chat", "completion"})
CACHED_CALL_TYPES = ["acompletion", "completion", "atext_completion", "text_completion"]
# What a request without a temperature runs at (OpenAI's and most providers' default).
DEFAULT_TEMPERATURE = 1.0
# Entries kept in one process's memory when there is no Redis (least recently used beyond it go first).
MEMORY_ENTRIES = 10_000

# The cache install() built, handed to LiteLLM by the first request marked for it (_own_cache), and whether a request
# was ever marked: from then on LiteLLM keeps Tollgate's cache.
_installed: Cache | None = None
_active = False


def install(settings: Settings) -> Cache:
    """LiteLLM's cache for the whole process, opt-in per request. Called once, when the plugin loads.

    Built here, given to LiteLLM (`litellm.cache`) only when the first request is marked for it. While `litellm.cache`
    is set, LiteLLM's caching handler works on every call after the answer, marked or not: it copies the call's
    arguments, reads the function's signature and dumps the whole response to JSON before the cache's own mode check
    drops the write (about 2 % of a call's instructions, `npm run bench:instructions`). A gateway none of whose
    accounts keeps answers never pays it. Any other cache, installed before this or after, is replaced by the next
    call's pre-call hook (_own_cache)."""
    global _installed, _active
    if settings.redis_host:
        cache = Cache(type=LiteLLMCacheType.REDIS, mode=CacheMode.default_off, host=settings.redis_host,
                      port=str(settings.redis_port), password=settings.redis_password,
                      supported_call_types=list(CACHED_CALL_TYPES))
    else:
        cache = Cache(type=LiteLLMCacheType.LOCAL, mode=CacheMode.default_off,
                      supported_call_types=list(CACHED_CALL_TYPES))
        memory = getattr(cache, "cache", None)
        if memory is not None and hasattr(memory, "max_size_in_memory"):
            memory.max_size_in_memory = MEMORY_ENTRIES
    _installed, _active = cache, False
    litellm.cache = None
    # Cache() registers the string "cache" as an input and a success callback. No logging handler of the pinned
    # LiteLLM acts on that name (reads and writes happen in its caching handler), but a name in the sync success list
    # makes every async call hand LiteLLM's whole sync success handler to a thread, the largest item between the lease
    # path and Tollgate's auth alone in py-spy's diff (docs/adr/0025). The async list keeps it (its handler runs for
    # the billing hooks).
    _drop_sync_callbacks()
    return cache


def _drop_sync_callbacks() -> None:
    for callbacks in (litellm.success_callback, litellm.input_callback):
        while "cache" in callbacks:
            callbacks.remove("cache")


def _temperature(data: dict) -> float | None:
    value = data.get("temperature", DEFAULT_TEMPERATURE)
    if value is None:
        return DEFAULT_TEMPERATURE
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def cacheable(kind: str, data: dict, policy: Any) -> dict | None:
    """The cache control to put on the request (LiteLLM's `cache` parameter), or None: not cached. `policy` is the
    auth answer's `policy` (accountId, responseCache: {ttlSeconds, maxTemperature} or null)."""
    if not isinstance(policy, dict):
        return None
    rules = policy.get("responseCache")
    account = policy.get("accountId")
    if not isinstance(rules, dict) or not isinstance(account, str) or not account:
        return None
    if kind not in CACHED_KINDS or data.get("stream"):
        return None
    ttl = rules.get("ttlSeconds")
    limit = rules.get("maxTemperature")
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
        return None
    temperature = _temperature(data)
    if temperature is None or not isinstance(limit, (int, float)) or temperature > float(limit):
        return None
    namespace = f"tollgate:{account}:{request_digest(kind, data)}"
    return {"use-cache": True, "ttl": ttl, "s-maxage": ttl, "namespace": namespace}


def request_digest(kind: str, data: dict) -> str:
    """A digest of the request as it goes upstream: every field the gate admits for its route, canonical JSON (sorted
    keys). LiteLLM's own key joins `param: value` pairs with no separator in the client's field order, so a string field
    can swallow the fields after it and two different requests (n 8 and n 1) share a key; with this digest in the
    namespace they never do, and a hit is always the answer to the same request, reserved the same."""
    fields = BILLED_ROUTES[kind][1]
    sent = {name: data[name] for name in fields if name in data}
    return hashlib.sha256(orjson.dumps(sent, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


def _own_cache(marked: bool) -> None:
    """(Event loop, pre-call hook, every call) LiteLLM's cache is Tollgate's, or none before the first marked request.
    Handed over before the call that needs it reads it. A cache installed after the plugin loaded is replaced: LiteLLM's
    router builds a default-on cache of its own when the operator sets `cache_responses` and finds none installed,
    which would lose the shared Redis and the memory limit and bring back the sync success callback install() removes."""
    global _active
    if marked:
        _active = True
    current = litellm.cache
    if current is _installed or (current is None and not _active) or _installed is None:
        return
    if current is not None:
        logger.warning("a response cache installed outside Tollgate was replaced by Tollgate's")
        _drop_sync_callbacks()
    litellm.cache = _installed if _active else None


def mark(kind: str, data: dict, policy: Any) -> bool:
    """Marks the request for the cache when the account's policy allows it; True if marked. A `cache` already on the
    request (only the gate could have let one through, and it does not) is replaced, never merged."""
    control = cacheable(kind, data, policy)
    if control is None:
        skip(data)
        return False
    # Said outright: LiteLLM's router passes `caching` as whether a cache was installed when it was built, and
    # before the first marked request none is (install).
    data["caching"] = True
    data["cache"] = control
    _own_cache(True)
    return True


def skip(data: dict) -> None:
    """Keeps the request out of the cache, and LiteLLM's cache handler out of the call as far as it can be once the
    cache is installed: with `caching` false it neither builds a cache key nor looks one up; `no-store` spares the
    answer's JSON dump and the write task whose mode check would drop it."""
    data["cache"] = {"no-store": True}
    data["caching"] = False
    _own_cache(False)
