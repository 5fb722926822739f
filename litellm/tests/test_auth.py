"""The auth plugin's parsing, caching and error mapping, against a scripted platform (httpx.MockTransport)."""

import asyncio
import json

import httpx
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from litellm.proxy._types import LitellmUserRoles, ProxyException

from tollgate_litellm.auth import NO_MODELS, Authenticator, key_fingerprint
from tollgate_litellm.cache import TTLCache
from tollgate_litellm.platform import PlatformClient
from tollgate_litellm.settings import Settings

SECRET = "s" * 40
KEY = "tg_validKeyValidKeyValidKeyValidKey0001"
VALID = {
    "valid": True,
    "key": {
        "id": "k1",
        "prefix": "tg_validKey",
        "name": "ci",
        "userId": "u1",
        "userEmail": "dev@example.com",
        "allowedModels": ["fake-small"],
        "rpmLimit": 10,
        "tpmLimit": 1000,
        "expiresAt": "2099-01-01T00:00:00.000Z",
    },
}


def settings(**overrides):
    base = dict(
        platform_url="http://platform.test",
        gateway_secret=SECRET,
        master_key="sk-master-key-0123456789",
        auth_cache_ttl=5.0,
        auth_negative_ttl=2.0,
        platform_timeout=1.0,
        cache_max_entries=100,
    )
    base.update(overrides)
    return Settings(**base)


class Platform:
    """A scripted platform that records the calls it gets."""

    def __init__(self, answer=VALID, status=200):
        self.answer = answer
        self.status = status
        self.calls = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return httpx.Response(self.status, json=self.answer)


def make(platform: Platform, **overrides) -> Authenticator:
    s = settings(**overrides)
    return Authenticator(s, PlatformClient(s, transport=httpx.MockTransport(platform.handler)))


async def test_valid_key_becomes_user_api_key_auth():
    platform = Platform()
    auth = await make(platform).authenticate("/v1/chat/completions", KEY)
    assert auth.user_id == "u1"
    assert auth.models == ["fake-small"]
    assert auth.rpm_limit == 10 and auth.tpm_limit == 1000
    assert auth.key_alias == "ci"
    assert auth.metadata["tollgate_key_id"] == "k1"
    # LiteLLM logs and rate-limits by api_key: it must be a fingerprint, never the secret.
    assert auth.api_key == key_fingerprint(KEY) and KEY not in auth.api_key
    request = platform.calls[0]
    assert request.url.path == "/api/internal/gateway/auth"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert json.loads(request.content) == {"key": KEY}


async def test_answers_are_cached_for_the_ttl_and_concurrent_misses_share_one_call():
    platform = Platform()
    auth = make(platform)
    await asyncio.gather(*(auth.authenticate("/v1/chat/completions", KEY) for _ in range(20)))
    assert len(platform.calls) == 1
    await auth.authenticate("/chat/completions", KEY)
    assert len(platform.calls) == 1


async def test_cache_expires():
    now = [0.0]
    cache = TTLCache(10, clock=lambda: now[0])
    cache.put("a", 1, 5)
    assert cache.get("a") == 1
    now[0] = 4.99
    assert cache.get("a") == 1
    now[0] = 5.0
    assert cache.get("a") is None


async def test_cache_is_bounded():
    cache = TTLCache(3)
    for i in range(5):
        cache.put(str(i), i, 60)
    assert [cache.get(str(i)) for i in range(5)] == [None, None, 2, 3, 4]


@pytest.mark.parametrize(
    "reason,code,text",
    [
        ("unknown", "invalid_api_key", "no such key"),
        ("revoked", "api_key_revoked", "revoked"),
        ("expired", "api_key_expired", "expired"),
        ("owner_suspended", "account_suspended", "suspended"),
    ],
)
async def test_refusals_are_401_with_the_platforms_message(reason, code, text):
    platform = Platform({"valid": False, "reason": reason, "message": f"API key tg_x… {text}."})
    with pytest.raises(ProxyException) as raised:
        await make(platform).authenticate("/v1/chat/completions", KEY)
    assert raised.value.code == "401"
    assert raised.value.openai_code == code
    assert text in raised.value.message


async def test_negative_answers_are_cached_briefly():
    platform = Platform({"valid": False, "reason": "unknown", "message": "no such key"})
    auth = make(platform)
    for _ in range(3):
        with pytest.raises(ProxyException):
            await auth.authenticate("/v1/chat/completions", KEY)
    assert len(platform.calls) == 1


async def test_missing_key_is_401_without_asking_the_platform():
    platform = Platform()
    for key in (None, ""):
        with pytest.raises(ProxyException) as raised:
            await make(platform).authenticate("/v1/chat/completions", key)
        assert raised.value.code == "401"
    assert platform.calls == []


@pytest.mark.parametrize(
    "answer,status,asked",
    [
        (httpx.ConnectError("refused"), 200, 1),
        # A check that timed out is asked once more (it changes nothing); a second timeout fails closed.
        (httpx.ReadTimeout("slow"), 200, 2),
        (httpx.ConnectTimeout("late"), 200, 2),
        # So is one whose kept-alive connection the platform closed as it was reused.
        (httpx.ReadError("connection reset"), 200, 2),
        (httpx.RemoteProtocolError("server disconnected"), 200, 2),
        ({"error": {"code": "internal"}}, 500, 1),
        ({"error": {"code": "unauthorized"}}, 401, 1),  # wrong gateway secret: an outage, not a bad key
    ],
)
async def test_platform_trouble_fails_closed_with_503_and_is_not_cached(answer, status, asked):
    platform = Platform(answer, status)
    auth = make(platform)
    for _ in range(2):
        with pytest.raises(ProxyException) as raised:
            await auth.authenticate("/v1/chat/completions", KEY)
        assert raised.value.code == "503"
        assert "not served" in raised.value.message
    assert len(platform.calls) == 2 * asked


@pytest.mark.parametrize(
    "late",
    [
        httpx.ConnectTimeout("late"),
        httpx.PoolTimeout("no connection"),
        httpx.ReadTimeout("slow"),
        httpx.ReadError("connection reset"),
    ],
)
async def test_a_check_that_timed_out_is_asked_once_more_and_every_caller_waiting_on_it_is_served(late):
    platform = Platform()
    answers = [late]

    def handler(request: httpx.Request) -> httpx.Response:
        platform.calls.append(request)
        if answers:
            raise answers.pop()
        return httpx.Response(200, json=VALID)

    s = settings()
    auth = Authenticator(s, PlatformClient(s, transport=httpx.MockTransport(handler)))
    # A burst on a cold key: every call waits on the one check, and its second try serves them all.
    served = await asyncio.gather(*(auth.authenticate("/v1/chat/completions", KEY) for _ in range(50)))
    assert {a.user_id for a in served} == {"u1"}
    assert len(platform.calls) == 2


async def test_app_keys_cannot_reach_other_routes():
    platform = Platform()
    with pytest.raises(ProxyException) as raised:
        await make(platform).authenticate("/key/generate", KEY)
    assert raised.value.code == "403"
    assert platform.calls == []


async def test_master_key_is_admin_and_skips_the_platform():
    platform = Platform()
    auth = await make(platform).authenticate("/v1/model/info", "sk-master-key-0123456789")
    assert auth.user_role == LitellmUserRoles.PROXY_ADMIN
    assert platform.calls == []


async def test_a_key_with_no_enabled_model_gets_none_not_all():
    answer = {**VALID, "key": {**VALID["key"], "allowedModels": []}}
    auth = await make(Platform(answer)).authenticate("/v1/chat/completions", KEY)
    # LiteLLM reads an empty list as "every model": it must never be empty.
    assert auth.models == [NO_MODELS]


def test_settings_bound_the_cache_ttl(monkeypatch):
    monkeypatch.setenv("TOLLGATE_URL", "http://x")
    monkeypatch.setenv("TOLLGATE_GATEWAY_SECRET", SECRET)
    monkeypatch.setenv("TOLLGATE_AUTH_CACHE_TTL", "30")
    with pytest.raises(RuntimeError, match="TOLLGATE_AUTH_CACHE_TTL"):
        Settings.from_env()
    monkeypatch.setenv("TOLLGATE_AUTH_CACHE_TTL", "3")
    assert Settings.from_env().auth_cache_ttl == 3.0
    monkeypatch.setenv("TOLLGATE_GATEWAY_SECRET", "short")
    with pytest.raises(RuntimeError, match="TOLLGATE_GATEWAY_SECRET"):
        Settings.from_env()


class SlowLoad:
    """A load the test releases: how many began, and what each answers."""

    def __init__(self):
        self.started = 0
        self.answers: list[asyncio.Future] = []

    async def __call__(self):
        self.started += 1
        answer = asyncio.get_running_loop().create_future()
        self.answers.append(answer)
        return await answer


def clocked_cache(refresh_ahead=0.2):
    """A cache on a clock the test moves, holding "old" under "k" for 5 s from 0."""
    now = [0.0]
    cache = TTLCache(10, clock=lambda: now[0], refresh_ahead=refresh_ahead)
    cache.put("k", "old", 5)
    return now, cache


async def test_a_hit_in_the_last_fifth_of_the_ttl_is_served_at_once_and_reloads_once_in_the_background():
    now, cache = clocked_cache()
    load = SlowLoad()
    now[0] = 3.99
    assert await cache.get_or_load("k", load) == "old"
    assert load.started == 0
    now[0] = 4.0
    # Served without waiting for the load it starts (the load never answers until the test says so).
    assert await asyncio.wait_for(cache.get_or_load("k", load), 0.5) == "old"
    await asyncio.sleep(0)
    assert load.started == 1
    now[0] = 4.5
    assert await asyncio.wait_for(cache.get_or_load("k", load), 0.5) == "old"
    await asyncio.sleep(0)
    assert load.started == 1  # one reload per key
    load.answers[0].set_result(("new", 5))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    now[0] = 6.0  # past the old entry's expiry: the new one (put at 4.5) serves, nobody waits
    assert await asyncio.wait_for(cache.get_or_load("k", load), 0.5) == "new"
    assert (cache.misses, cache.refreshes, load.started) == (0, 1, 1)


async def test_a_failed_reload_leaves_the_entry_to_expire_at_its_time_then_the_caller_loads():
    now, cache = clocked_cache()
    now[0] = 4.2

    async def failing():
        raise RuntimeError("platform away")

    assert await cache.get_or_load("k", failing) == "old"
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    now[0] = 4.99
    assert cache.get("k") == "old"
    now[0] = 5.0  # never served past its TTL
    assert cache.get("k") is None
    now[0] = 5.2  # nor in what would be its grace: the reload failed, so the caller loads, and sees its failure
    with pytest.raises(RuntimeError):
        await cache.get_or_load("k", failing)

    async def fine():
        return "fresh", 5

    assert await cache.get_or_load("k", fine) == "fresh"


async def test_a_reload_slower_than_the_refresh_window_does_not_make_the_calls_behind_it_wait():
    now, cache = clocked_cache()
    load = SlowLoad()
    now[0] = 4.5
    assert await cache.get_or_load("k", load) == "old"
    await asyncio.sleep(0)
    # Past the TTL (5) with the reload still out: served at once for as long again as the refresh window (1 s).
    for t in (5.0, 5.5, 5.99):
        now[0] = t
        assert await asyncio.wait_for(cache.get_or_load("k", load), 0.5) == "old"
    assert cache.get("k") is None  # a plain read never sees it past its TTL
    # Past the grace: the caller waits for that same reload.
    now[0] = 6.0
    waiting = asyncio.ensure_future(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    assert not waiting.done()
    load.answers[0].set_result(("new", 5))
    assert await waiting == "new"
    assert (load.started, cache.refreshes, cache.grace_hits, cache.misses) == (1, 1, 3, 1)


async def test_a_refusal_has_no_grace_nor_any_entry_whose_reload_never_started():
    now = [0.0]
    cache = TTLCache(10, clock=lambda: now[0], refresh_ahead=0.2, refreshable=lambda v: v == "valid")
    cache.put("k", "refused", 2)
    load = SlowLoad()
    now[0] = 1.9  # no reload ahead for a refusal
    assert await cache.get_or_load("k", load) == "refused"
    await asyncio.sleep(0)
    assert load.started == 0
    now[0] = 2.0
    waiting = asyncio.ensure_future(cache.get_or_load("k", load))
    for _ in range(3):
        await asyncio.sleep(0)
    assert not waiting.done() and load.started == 1
    load.answers[0].set_result(("valid", 5))
    assert await waiting == "valid"


async def test_a_refusal_not_cached_still_ends_the_valid_answer_and_its_grace():
    """With no negative TTL (0), a reload answered "revoked" is not cached, but the valid answer it replaces is
    dropped: a later reload, slow, gives it no grace past its TTL, and the call after the TTL waits and is refused."""
    now = [0.0]
    answers: list = [VALID]
    revoked = {"valid": False, "reason": "revoked", "message": "API key tg_validKey… has been revoked."}

    async def handler(request: httpx.Request) -> httpx.Response:
        answer = answers[0]
        if isinstance(answer, asyncio.Future):
            answer = await answer
        return httpx.Response(200, json=answer)

    s = settings(auth_negative_ttl=0.0)
    auth = Authenticator(s, PlatformClient(s, transport=httpx.MockTransport(handler)))
    auth.cache._clock = lambda: now[0]
    await auth.authenticate("/v1/chat/completions", KEY)  # valid for 5 s
    answers[0] = revoked
    now[0] = 4.0  # served; its reload answers "revoked"
    await auth.authenticate("/v1/chat/completions", KEY)
    for _ in range(20):
        await asyncio.sleep(0)
    slow = asyncio.get_running_loop().create_future()
    answers[0] = slow
    now[0] = 4.9  # no valid answer is cached any more: this call waits for the (slow) platform
    waiting = asyncio.ensure_future(auth.authenticate("/v1/chat/completions", KEY))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not waiting.done()
    now[0] = 5.5
    later = asyncio.ensure_future(auth.authenticate("/v1/chat/completions", KEY))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not later.done()
    slow.set_result(revoked)
    for call in (waiting, later):
        with pytest.raises(ProxyException) as raised:
            await call
        assert raised.value.code == "401"


async def test_a_caller_that_gives_up_never_fails_the_callers_that_joined_its_load():
    gate = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        await gate.wait()
        return httpx.Response(200, json=VALID)

    s = settings()
    auth = Authenticator(s, PlatformClient(s, transport=httpx.MockTransport(handler)))
    first = asyncio.ensure_future(auth.authenticate("/v1/chat/completions", KEY))
    await asyncio.sleep(0)
    others = [asyncio.ensure_future(auth.authenticate("/v1/chat/completions", KEY)) for _ in range(50)]
    await asyncio.sleep(0)
    first.cancel()  # its client went away
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*others, return_exceptions=True)
    assert [type(r).__name__ for r in results if isinstance(r, BaseException)] == []
    assert {a.user_id for a in results} == {"u1"}
    assert first.cancelled()
    assert auth.stats()["platformCalls"] == 1
    assert auth.cache._inflight == {} and auth.cache._reloading == {} and auth.cache._tasks == set()


async def test_without_refresh_ahead_a_hit_never_reloads():
    now, cache = clocked_cache(refresh_ahead=0.0)
    load = SlowLoad()
    now[0] = 4.99
    assert await cache.get_or_load("k", load) == "old"
    await asyncio.sleep(0)
    assert load.started == 0


async def test_a_key_in_steady_use_is_reverified_ahead_and_a_revocation_still_lands_within_the_ttl():
    platform = Platform()
    auth = make(platform)
    now = [0.0]
    auth.cache._clock = lambda: now[0]
    await auth.authenticate("/v1/chat/completions", KEY)
    for t in (1.0, 2.0, 3.0, 4.0):
        now[0] = t
        await auth.authenticate("/v1/chat/completions", KEY)
    assert len(platform.calls) == 1
    now[0] = 4.1  # the last second of the 5 s TTL: answered from the cache, re-verified behind the call
    await auth.authenticate("/v1/chat/completions", KEY)
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(platform.calls) == 2
    # Revoked on the platform: the next reload (in the last second of the answer put at 4.1) refuses the key, and the
    # call after it is refused, before the answer it replaced would have expired (9.1).
    platform.answer = {"valid": False, "reason": "revoked", "message": "API key tg_x… revoked."}
    now[0] = 8.2
    await auth.authenticate("/v1/chat/completions", KEY)
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(platform.calls) == 3
    now[0] = 8.3
    with pytest.raises(ProxyException) as raised:
        await auth.authenticate("/v1/chat/completions", KEY)
    assert raised.value.openai_code == "api_key_revoked"
    assert auth.stats()["localMisses"] == 1 and auth.stats()["refreshes"] == 2


class SharedStore:
    """What another replica stored in Redis: one answer and the seconds it has left."""

    def __init__(self):
        self.entry = None
        self.puts = []

    async def get(self, fingerprint):
        return self.entry

    async def put(self, fingerprint, verdict, ttl):
        self.puts.append((verdict, ttl))

    def stats(self):
        return {}


class LeaseBook:
    def __init__(self):
        self.retired = []

    def has_live_lease(self, key_id):
        return key_id not in self.retired

    def retire_key(self, key_id, reason):
        self.retired.append(key_id)


def with_shared(platform: Platform, monkeypatch):
    s = settings()
    shared = SharedStore()
    auth = Authenticator(s, PlatformClient(s, transport=httpx.MockTransport(platform.handler)), shared=shared)
    now = [0.0]
    auth.cache._clock = lambda: now[0]
    book = LeaseBook()
    monkeypatch.setattr("tollgate_litellm.auth.shared_book", lambda: book)
    return auth, shared, book, now


REVOKED = {"valid": False, "reason": "revoked", "message": "API key tg_x… revoked."}


async def test_a_refusal_another_replica_shared_is_taken_however_little_it_has_left_even_with_the_platform_down(
    monkeypatch,
):
    platform = Platform()
    auth, shared, book, now = with_shared(platform, monkeypatch)
    await auth.authenticate("/v1/chat/completions", KEY)  # valid here, with a live lease
    # Revoked; another replica learned it and shared the refusal; then the platform went down.
    platform.answer = httpx.ConnectError("platform down")
    shared.entry = (REVOKED, 0.3)
    now[0] = 5.0
    with pytest.raises(ProxyException) as raised:
        await auth.authenticate("/v1/chat/completions", KEY)
    assert raised.value.openai_code == "api_key_revoked"
    assert book.retired == ["k1"]  # the lease goes back, not served on while the platform is away


async def test_a_valid_shared_answer_near_its_end_is_renewed_from_the_platform_and_still_serves_if_it_is_down(
    monkeypatch,
):
    platform = Platform()
    auth, shared, book, now = with_shared(platform, monkeypatch)
    shared.entry = (VALID, 0.5)  # within the refresh window: taken, it would be due again at once
    await auth.authenticate("/v1/chat/completions", KEY)
    assert len(platform.calls) == 1 and shared.puts == [(VALID, 5.0)]
    # The platform down and no lease here: the shared answer's last half second still holds.
    auth.cache.clear()
    book.retired.append("k1")
    platform.answer = httpx.ConnectError("platform down")
    auth_ok = await auth.authenticate("/v1/chat/completions", KEY)
    assert auth_ok.metadata["tollgate_key_id"] == "k1"


async def test_a_refusal_is_not_reloaded_ahead_of_its_expiry():
    platform = Platform(REVOKED)
    auth = make(platform)
    now = [0.0]
    auth.cache._clock = lambda: now[0]
    for t in (0.0, 1.7, 1.9):
        now[0] = t
        with pytest.raises(ProxyException):
            await auth.authenticate("/v1/chat/completions", KEY)
        await asyncio.sleep(0)
    assert len(platform.calls) == 1 and auth.stats()["refreshes"] == 0


async def test_the_call_id_header_is_accepted_only_as_the_gate_assigned_it():
    from starlette.datastructures import Headers

    from tollgate_litellm.ids import new_call_id

    mine = new_call_id()
    ok = await make(Platform()).authenticate("/v1/chat/completions", KEY, Headers({"x-litellm-call-id": mine}), assigned_call_id=mine)
    assert ok.api_key == key_fingerprint(KEY)
    refused = [
        (Headers({"x-litellm-call-id": mine}), None),  # not through the gate: the client's own
        (Headers({"x-litellm-call-id": new_call_id()}), mine),  # another value than the gate's
        (Headers(raw=[(b"x-litellm-call-id", mine.encode()), (b"x-litellm-call-id", b"c2")]), mine),  # a second one
    ]
    for headers, assigned in refused:
        platform = Platform()
        with pytest.raises(ProxyException) as raised:
            await make(platform).authenticate("/v1/chat/completions", KEY, headers, assigned_call_id=assigned)
        assert raised.value.code == "403" and raised.value.openai_code == "call_id_not_allowed"
        assert platform.calls == []


_calls = st.lists(st.floats(min_value=0.0, max_value=30.0, allow_nan=False), min_size=1, max_size=40)


@hyp_settings(max_examples=300, deadline=None)
@given(
    calls=_calls,
    latencies=st.lists(st.floats(min_value=0.0, max_value=4.0, allow_nan=False), min_size=1, max_size=10),
    revoked_at=st.floats(min_value=0.0, max_value=30.0, allow_nan=False),
    ttl=st.sampled_from([2.0, 5.0]),
)
def test_a_revoked_key_is_refused_within_ttl_times_the_grace_of_the_last_answer_accepting_it(calls, latencies, revoked_at, ttl):
    """Calls at any times, loads of any latency (each reads the source when it starts), a revocation at any time: a
    call served "valid" is served from an answer read before the revocation and put less than TTL × 1.2 before it;
    a call the cache answers at once (no load waited for) is never a refusal it could not know."""

    async def run() -> None:
        now = [0.0]
        cache: TTLCache[str] = TTLCache(10, clock=lambda: now[0], refresh_ahead=0.2, refreshable=lambda v: v.startswith("valid"))
        put_at: dict[str, float] = {}
        pending: list[tuple[float, int, asyncio.Future]] = []  # (answers at, load id, future)
        started = [0]

        async def load() -> tuple[str, float]:
            n = started[0]
            started[0] += 1
            answer = f"valid#{n}" if now[0] < revoked_at else f"refused#{n}"
            done = asyncio.get_running_loop().create_future()
            pending.append((now[0] + latencies[n % len(latencies)], n, done))
            await done
            put_at[answer] = now[0]
            return answer, ttl

        async def settle_until(t: float) -> None:
            while True:
                for _ in range(4):
                    await asyncio.sleep(0)
                due = sorted((p for p in pending if p[0] <= t), key=lambda p: (p[0], p[1]))
                if not due:
                    break
                at, n, done = due[0]
                pending.remove(due[0])
                now[0] = max(now[0], at)
                done.set_result(None)
            now[0] = t

        for t in sorted(calls):
            await settle_until(t)
            served = asyncio.ensure_future(cache.get_or_load("k", load))
            for _ in range(4):
                await asyncio.sleep(0)
            while not served.done():  # it waits for a load: let the loads answer in their order
                at, n, done = min(pending, key=lambda p: (p[0], p[1]))
                pending.remove((at, n, done))
                now[0] = max(now[0], at)
                done.set_result(None)
                for _ in range(4):
                    await asyncio.sleep(0)
            answer = served.result()
            if answer.startswith("valid"):
                # The answer accepting the key was put less than TTL × 1.2 before the call was answered.
                assert now[0] < put_at[answer] + ttl * 1.2
            now[0] = max(now[0], t)
        for _, _, done in pending:
            done.cancel()

    asyncio.run(run())
