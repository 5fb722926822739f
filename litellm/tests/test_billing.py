"""The billing hooks: the hold before a call (and its refusals), the events after it, the response headers."""

import json
import types

import httpx
import pytest
from fastapi import HTTPException
from litellm.proxy._types import UserAPIKeyAuth

from tollgate_litellm.billing import STATE, TollgateBilling
from tollgate_litellm.outbox import Outbox
from tollgate_litellm.platform import PlatformClient
from tollgate_litellm.settings import Settings

KEY_ID = "11111111-1111-4111-8111-111111111111"


def settings():
    return Settings("http://platform.test", "s" * 40, None, 5.0, 2.0, 1.0, 100)


def make(tmp_path, handler):
    s = settings()
    outbox = Outbox(str(tmp_path / "o.db"), s.platform_url, "w" * 40, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    return TollgateBilling(s, outbox, PlatformClient(s, transport=httpx.MockTransport(handler)))


def auth():
    return UserAPIKeyAuth(api_key="tg-x", metadata={"tollgate_key_id": KEY_ID})


def data():
    return {"model": "fake-small", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 50, "litellm_call_id": "call-1"}


async def test_the_hold_request_carries_call_key_model_and_token_estimate(tmp_path):
    seen = []

    def handler(request):
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"holdId": "h1", "amountMicros": 80, "availableMicros": 920, "outcome": "placed"})

    billing = make(tmp_path, handler)
    out = await billing.async_pre_call_hook(auth(), None, data(), "acompletion")
    sent = seen[0]
    assert sent["keyId"] == KEY_ID and sent["callId"] == "call-1" and sent["model"] == "fake-small"
    assert sent["maxOutputTokens"] == 50 and sent["promptTokens"] > 0 and sent["nonce"]
    assert out["metadata"][STATE]["holdId"] == "h1"


@pytest.mark.parametrize("status,error_type", [(402, "insufficient_quota"), (429, "budget_exceeded"), (401, "authentication_error"), (409, "invalid_request_error")])
async def test_refusals_reach_the_app_with_status_type_and_message(tmp_path, status, error_type):
    billing = make(tmp_path, lambda r: httpx.Response(status, json={"error": {"code": "x", "message": "Insufficient balance: $1 needed"}}))
    with pytest.raises(HTTPException) as raised:
        await billing.async_pre_call_hook(auth(), None, data(), "acompletion")
    assert raised.value.status_code == status
    assert raised.value.type == error_type
    assert "Insufficient balance" in raised.value.detail


async def test_platform_trouble_is_503_after_one_retry_with_the_same_nonce(tmp_path):
    nonces = []

    def handler(request):
        nonces.append(json.loads(request.content)["nonce"])
        return httpx.Response(500, json={})

    billing = make(tmp_path, handler)
    with pytest.raises(HTTPException) as raised:
        await billing.async_pre_call_hook(auth(), None, data(), "acompletion")
    assert raised.value.status_code == 503
    assert len(nonces) == 2 and nonces[0] == nonces[1]


async def test_master_key_calls_are_not_metered(tmp_path):
    billing = make(tmp_path, lambda r: pytest.fail("no hold for the operator"))
    out = await billing.async_pre_call_hook(UserAPIKeyAuth(api_key="sk-master"), None, data(), "acompletion")
    assert STATE not in (out.get("metadata") or {})


async def test_failure_after_delivered_text_is_a_cut_stream_otherwise_a_failure(tmp_path):
    billing = make(tmp_path, lambda r: httpx.Response(200))
    state = {"keyId": KEY_ID, "callId": "c1", "holdId": "h", "promptTokens": 9, "model": "fake-small", "startedAt": "2026-01-01T00:00:00.000Z", "delivered": ["hello", " world"]}
    await billing.async_post_call_failure_hook({"metadata": {STATE: state}, "stream": True}, RuntimeError("cut"), auth())
    await billing.async_post_call_failure_hook({"metadata": {STATE: {**state, "callId": "c2", "delivered": []}}}, RuntimeError("500"), auth())
    events = billing.outbox.find(KEY_ID, "c1") + billing.outbox.find(KEY_ID, "c2")
    assert [(e["status"], e["completionTokens"] > 0, e["promptTokens"]) for e in events] == [("cut", True, 9), ("failure", False, 0)]


async def test_success_hook_adds_the_hold_and_available_headers(tmp_path):
    billing = make(tmp_path, lambda r: httpx.Response(200))
    response = types.SimpleNamespace(_hidden_params={})
    request = {"metadata": {STATE: {"holdMicros": 80, "availableMicros": 920}}}
    await billing.async_post_call_success_hook(request, auth(), response)
    assert response._hidden_params["additional_headers"] == {"x-tollgate-hold-micros": "80", "x-tollgate-available-micros": "920"}
