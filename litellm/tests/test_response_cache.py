"""The response cache's mark (tollgate_litellm/response_cache.py, docs/adr/0021): which requests LiteLLM's cache may
answer, under whose namespace, for how long."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tollgate_litellm.response_cache import cacheable, mark

ACCOUNT = "6f1c1d7e-2d35-4f43-9a57-0c5e5a9b2f10"
POLICY = {"accountId": ACCOUNT, "responseCache": {"ttlSeconds": 3600, "maxTemperature": 0}, "pii": {}}


def chat(**extra):
    return {"model": "fake-small", "messages": [{"role": "user", "content": "hi"}], "temperature": 0, **extra}


def test_a_deterministic_chat_is_marked_under_its_account_with_the_owners_ttl():
    control = cacheable("chat", chat(), POLICY)
    assert control["namespace"].startswith(f"tollgate:{ACCOUNT}:")
    assert {k: v for k, v in control.items() if k != "namespace"} == {"use-cache": True, "ttl": 3600, "s-maxage": 3600}


def test_requests_litellm_would_key_alike_get_different_namespaces():
    # LiteLLM joins "param: value" with no separator, in the client's order: a string can swallow the fields after it.
    # Found by review: these two shared a key, and the n=1, max_tokens=1 call got the n=8 answer (448 µ$ on 85 held).
    a = chat(user="a", n=8, max_tokens=40, stop="Xn: 1max_tokens: 1stop: z")
    b = chat(user="an: 8max_tokens: 40stop: X", n=1, max_tokens=1, stop="z")
    assert cacheable("chat", a, POLICY)["namespace"] != cacheable("chat", b, POLICY)["namespace"]
    # The same request in another field order is the same request.
    assert cacheable("chat", dict(reversed(list(a.items()))), POLICY)["namespace"] == cacheable("chat", a, POLICY)["namespace"]
    # What the gateway adds (metadata, call ids) is not the request.
    assert cacheable("chat", {**a, "metadata": {"x": 1}, "litellm_call_id": "c"}, POLICY)["namespace"] == \
        cacheable("chat", a, POLICY)["namespace"]


def test_two_accounts_never_share_a_namespace():
    other = {**POLICY, "accountId": "0b7c3f55-65a4-4b7e-8d0f-8a1f8f6d2c11"}
    assert cacheable("chat", chat(), POLICY)["namespace"] != cacheable("chat", chat(), other)["namespace"]


def test_streams_other_kinds_and_warm_requests_are_not_marked():
    assert cacheable("chat", chat(stream=True), POLICY) is None
    for kind in ("embedding", "responses", "messages", "image", "speech", "transcription"):
        assert cacheable(kind, chat(), POLICY) is None, kind
    assert cacheable("chat", chat(temperature=0.2), POLICY) is None
    unset = chat()
    del unset["temperature"]  # the provider's default, 1
    assert cacheable("chat", unset, POLICY) is None
    warm = {**POLICY, "responseCache": {"ttlSeconds": 60, "maxTemperature": 1}}
    assert cacheable("chat", unset, warm) is not None
    assert cacheable("completion", {"prompt": "x", "temperature": 1}, warm) is not None


def test_no_policy_or_a_malformed_one_marks_nothing():
    for policy in (None, {}, {"accountId": ACCOUNT, "responseCache": None}, {"responseCache": POLICY["responseCache"]},
                   {**POLICY, "responseCache": {"ttlSeconds": True, "maxTemperature": 0}},
                   {**POLICY, "responseCache": {"ttlSeconds": 0, "maxTemperature": 0}},
                   {**POLICY, "responseCache": {"ttlSeconds": 60, "maxTemperature": "1"}}):
        assert cacheable("chat", chat(), policy) is None, policy
    assert cacheable("chat", chat(temperature="0"), POLICY) is None
    assert cacheable("chat", chat(temperature=True), POLICY) is None


def test_mark_replaces_any_cache_control_already_on_the_request():
    planted = chat(cache={"use-cache": True, "namespace": "tollgate:someone-else", "ttl": 10**9})
    assert mark("chat", planted, POLICY) is True
    assert planted["cache"]["namespace"].startswith(f"tollgate:{ACCOUNT}:") and planted["cache"]["ttl"] == 3600
    refused = chat(stream=True, cache={"use-cache": True, "namespace": "tollgate:someone-else"})
    assert mark("chat", refused, POLICY) is False
    assert refused["cache"] == {"no-store": True}


def test_a_request_not_marked_keeps_litellms_cache_handler_out_and_a_marked_one_lets_it_in():
    refused = chat(stream=True, caching=True)  # `caching` true would make LiteLLM read and write its cache
    assert mark("chat", refused, POLICY) is False
    assert refused["caching"] is False and refused["cache"] == {"no-store": True}
    marked = chat(caching=False)
    assert mark("chat", marked, POLICY) is True
    assert marked["caching"] is True and marked["cache"]["use-cache"] is True


@given(temperature=st.floats(min_value=0, max_value=2, allow_nan=False), limit=st.floats(min_value=0, max_value=2))
def test_marked_exactly_when_the_temperature_is_within_the_owners_limit(temperature, limit):
    policy = {**POLICY, "responseCache": {"ttlSeconds": 60, "maxTemperature": limit}}
    assert (cacheable("chat", chat(temperature=temperature), policy) is not None) == (temperature <= limit)


def test_installing_the_cache_leaves_no_sync_success_callback_to_hand_every_call_to_a_thread_and_litellm_gets_it_at_the_first_marked_call():
    import datetime

    import litellm
    from litellm.litellm_core_utils.litellm_logging import Logging

    from tollgate_litellm import response_cache
    from tollgate_litellm.response_cache import install
    from tollgate_litellm.settings import Settings

    saved = (litellm.cache, list(litellm.success_callback), list(litellm.input_callback),
             list(litellm._async_success_callback))
    try:
        litellm.cache = object()  # another cache, installed before: dropped
        installed = install(Settings("http://platform.test", "s" * 40, None, 5.0, 2.0, 1.0, 100))
        assert installed.mode == "default_off"
        # Until a request is marked LiteLLM has no cache, so its caching handler skips every call's answer; one set
        # meanwhile is dropped by the next call.
        assert litellm.cache is None
        litellm.cache = object()
        assert mark("chat", chat(stream=True), POLICY) is False and litellm.cache is None
        assert mark("chat", chat(), POLICY) is True and litellm.cache is installed
        # A cache set after the plugin loaded (LiteLLM's router makes a default-on one when the operator sets
        # cache_responses) is Tollgate's again at the next call, marked or not, its sync callback gone.
        litellm.cache = object()
        litellm.success_callback.append("cache")
        assert mark("chat", chat(stream=True), POLICY) is False and litellm.cache is installed
        assert "cache" not in litellm.success_callback
        assert "cache" not in litellm.success_callback and "cache" not in litellm.input_callback
        call = Logging(model="fake-small", messages=[], stream=False, call_type="acompletion",
                       start_time=datetime.datetime.now(), litellm_call_id="c1", function_id="f1")
        # What LiteLLM asks before submitting its sync success handler to a thread after every async call.
        assert call._should_run_sync_callbacks_for_async_calls() is False
    finally:
        response_cache._installed, response_cache._active = None, False
        litellm.cache = saved[0]
        litellm.success_callback[:], litellm.input_callback[:] = saved[1], saved[2]
        litellm._async_success_callback[:] = saved[3]
