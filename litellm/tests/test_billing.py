"""The billing hooks: the hold before a call (and its refusals), the events after it, the response headers."""

import asyncio
import io
import json
import types
import wave

import httpx
import pytest
from fastapi import HTTPException
from litellm.proxy._types import UserAPIKeyAuth

from tollgate_litellm import billing as billing_module
from tollgate_litellm.billing import STATE, TollgateBilling, reachable_models
from tollgate_litellm.outbox import Outbox
from tollgate_litellm.platform import PlatformClient
from tollgate_litellm.settings import Settings

KEY_ID = "11111111-1111-4111-8111-111111111111"
CALL_ID = "22222222-2222-4222-8222-222222222222"


def settings():
    return Settings("http://platform.test", "s" * 40, None, 5.0, 2.0, 1.0, 100)


def make(tmp_path, handler):
    s = settings()
    outbox = Outbox(str(tmp_path / "o.db"), s.platform_url, "w" * 40, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    return TollgateBilling(s, outbox, PlatformClient(s, transport=httpx.MockTransport(handler)))


def auth():
    return UserAPIKeyAuth(api_key="tg-x", metadata={"tollgate_key_id": KEY_ID})


def data():
    return {"model": "fake-small", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 50, "litellm_call_id": CALL_ID}


async def test_the_hold_request_carries_call_key_model_and_token_estimate(tmp_path):
    seen = []
    seen_headers = []

    def handler(request):
        seen.append(json.loads(request.content))
        seen_headers.append(request.headers)
        return httpx.Response(200, json={"holdId": "h1", "amountMicros": 80, "availableMicros": 920, "outcome": "placed"})

    billing = make(tmp_path, handler)
    out = await billing.async_pre_call_hook(auth(), None, data(), "acompletion")
    sent = seen[0]
    assert sent["keyId"] == KEY_ID and sent["callId"] == CALL_ID and sent["model"] == "fake-small"
    # The call id is the platform's request id too (one id in both logs).
    assert seen_headers[0]["x-request-id"] == CALL_ID
    # The prompt's bound: the body's input bytes (54: {"messages":[{"role":"user","content":"hello there"}]}), 16 per
    # request, 4 per message (bounds.py).
    assert sent["maxOutputTokens"] == 50 and sent["promptTokens"] == 54 + 16 + 4 and sent["nonce"]
    assert sent["choices"] == 1 and sent["fallbackModels"] == []
    assert out["metadata"][STATE]["holdId"] == "h1"


async def test_an_embeddings_call_reserves_its_input_tokens_and_no_output(tmp_path):
    seen = []

    def handler(request):
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"holdId": "h1", "amountMicros": 5, "availableMicros": 995, "outcome": "placed"})

    billing = make(tmp_path, handler)
    texts = {"model": "fake-embed", "input": ["one two three", "four five"], "litellm_call_id": CALL_ID}
    out = await billing.async_pre_call_hook(auth(), None, texts, "aembedding")
    # Each text by its bytes + 4: 13 + 4 + 9 + 4.
    assert seen[0]["maxOutputTokens"] == 0 and seen[0]["promptTokens"] == 30 and seen[0]["choices"] == 1
    assert out["metadata"][STATE]["kind"] == "embedding"
    tokens = {"model": "fake-embed", "input": [[1, 2, 3], [4, 5]], "litellm_call_id": CALL_ID}
    await billing.async_pre_call_hook(auth(), None, tokens, "aembedding")
    assert seen[1]["promptTokens"] == 5


async def test_an_anthropic_messages_call_keeps_its_state_out_of_the_metadata_sent_upstream(tmp_path):
    """On /v1/messages a body's `metadata` goes to the provider: our state lives in LiteLLM's litellm_metadata."""
    seen = []

    def handler(request):
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"holdId": "h1", "amountMicros": 5, "availableMicros": 995, "outcome": "placed"})

    billing = make(tmp_path, handler)
    # LiteLLM fills litellm_metadata (its own metadata on this route) before the hooks run.
    body = {"model": "fake-small", "max_tokens": 30, "system": "Be brief.", "messages": [{"role": "user", "content": "hi"}],
            "litellm_call_id": CALL_ID, "litellm_metadata": {"user_api_key": "hashed"}}
    out = await billing.async_pre_call_hook(auth(), None, body, "anthropic_messages")
    assert STATE not in (out.get("metadata") or {})
    assert out["litellm_metadata"][STATE]["kind"] == "messages"
    assert seen[0]["maxOutputTokens"] == 30 and seen[0]["promptTokens"] == 66 + 16 + 4
    # The system prompt is input too.
    without = await billing.async_pre_call_hook(auth(), None, {**body, "system": None}, "anthropic_messages")
    assert seen[1]["promptTokens"] == 45 + 16 + 4
    assert billing._find_state(without) is not None


@pytest.mark.parametrize("call_type", ["acreate_batch", "moderation", "arerank", "aimage_edit", "_arealtime", "acreate_file"])
async def test_call_kinds_not_billed_are_refused_before_any_hold(tmp_path, call_type):
    seen = []
    billing = make(tmp_path, lambda r: seen.append(r) or httpx.Response(200))
    with pytest.raises(HTTPException) as refused:
        await billing.async_pre_call_hook(auth(), None, data(), call_type)
    assert refused.value.status_code == 403 and seen == []


def holds(tmp_path):
    seen = []

    def handler(request):
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"holdId": "h1", "amountMicros": 5, "availableMicros": 995, "outcome": "placed"})

    return seen, make(tmp_path, handler)


async def test_a_legacy_completion_reserves_every_prompt_times_best_of(tmp_path):
    seen, billing = holds(tmp_path)
    body = {"model": "fake-small", "prompt": ["one two", "three four"], "n": 2, "best_of": 3, "max_tokens": 20,
            "litellm_call_id": CALL_ID}
    out = await billing.async_pre_call_hook(auth(), None, body, "atext_completion")
    # Every prompt by its bytes + 4, and 16 per request: 7 + 4 + 10 + 4 + 16.
    assert seen[0]["choices"] == 6 and seen[0]["maxOutputTokens"] == 20 and seen[0]["promptTokens"] == 41
    assert out["metadata"][STATE]["kind"] == "completion"


async def test_an_image_call_reserves_n_images_speech_its_characters(tmp_path):
    seen, billing = holds(tmp_path)
    await billing.async_pre_call_hook(auth(), None, {"model": "fake-image", "prompt": "a cat", "n": 3,
                                                     "litellm_call_id": CALL_ID}, "image_generation")
    assert seen[0]["images"] == 3 and seen[0]["maxOutputTokens"] == 0 and seen[0]["promptTokens"] == 5 + 16
    assert seen[0]["imageSize"] is None and seen[0]["imageQuality"] is None  # the model's default size and quality
    await billing.async_pre_call_hook(auth(), None, {"model": "fake-tts", "input": "Hello, world.", "voice": "alloy",
                                                     "litellm_call_id": CALL_ID}, "aspeech")
    assert seen[1]["characters"] == 13 and seen[1]["promptTokens"] == 0 and seen[1]["images"] == 0


async def test_an_image_call_is_held_and_reported_at_the_size_and_quality_it_asks_for(tmp_path):
    from litellm.types.utils import ImageObject, ImageResponse

    seen, billing = holds(tmp_path)
    out = await billing.async_pre_call_hook(auth(), None, {"model": "fake-image", "prompt": "a cat", "n": 2,
                                                           "size": "1792x1024", "quality": "hd",
                                                           "litellm_call_id": CALL_ID}, "image_generation")
    assert (seen[0]["imageSize"], seen[0]["imageQuality"], seen[0]["images"]) == ("1792x1024", "hd", 2)
    state = out["metadata"][STATE]
    made = ImageResponse(data=[ImageObject(b64_json="x"), ImageObject(b64_json="y")])
    units = billing._reported_units(state, made)
    assert (units["images"], units["imageSize"], units["imageQuality"]) == (2, "1792x1024", "hd")
    # Only an image call reports a size: a chat call's state carries none.
    assert billing._reported_units({"kind": "chat", "callId": CALL_ID, "imageSize": "1792x1024"}, made)["imageSize"] is None


def wav(seconds: float, rate: int = 8000) -> io.BytesIO:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))
    buffer.seek(0)
    return buffer


async def test_a_transcription_reserves_the_wav_s_length_or_the_longest_audio_accepted(tmp_path):
    seen, billing = holds(tmp_path)
    audio = wav(2.5)
    out = await billing.async_pre_call_hook(auth(), None, {"model": "fake-whisper", "file": audio,
                                                           "litellm_call_id": CALL_ID}, "transcription")
    assert seen[0]["audioMs"] == 2500 and audio.tell() == 0  # LiteLLM sends the file from its start
    assert out["metadata"][STATE]["audioMs"] == 2500
    await billing.async_pre_call_hook(auth(), None, {"model": "fake-whisper", "file": io.BytesIO(b"ID3 not a wav"),
                                                     "litellm_call_id": CALL_ID}, "transcription")
    assert seen[1]["audioMs"] == settings().max_audio_seconds * 1000


def wav_header(data_bytes: int, rate: int = 16000, channels: int = 1, bits: int = 16, byte_rate: int | None = None,
               block_align: int | None = None, declared: int | None = None) -> bytes:
    """A PCM WAV whose header says what the arguments say (consistent unless told otherwise)."""
    align = channels * bits // 8 if block_align is None else block_align
    fmt = (1).to_bytes(2, "little") + channels.to_bytes(2, "little") + rate.to_bytes(4, "little") + (
        (rate * align if byte_rate is None else byte_rate).to_bytes(4, "little")) + align.to_bytes(2, "little") + (
        bits.to_bytes(2, "little"))
    size = data_bytes if declared is None else declared
    body = b"WAVE" + b"fmt " + (16).to_bytes(4, "little") + fmt + b"data" + size.to_bytes(4, "little") + b"\0" * data_bytes
    return b"RIFF" + (len(body)).to_bytes(4, "little") + body


async def test_a_transcription_is_measured_from_the_data_present_never_from_the_header_s_claims(tmp_path):
    seen, billing = holds(tmp_path)
    # One second of 16 kHz 16-bit audio whose header claims a byte rate of 1 byte/s: refused before any reservation.
    with pytest.raises(HTTPException) as refused:
        await billing.async_pre_call_hook(auth(), None, {"model": "fake-whisper", "file": io.BytesIO(wav_header(32000, byte_rate=1)),
                                                         "litellm_call_id": CALL_ID}, "transcription")
    assert refused.value.status_code == 400 and "inconsistent" in refused.value.detail and seen == []
    for bad in (wav_header(32000, block_align=1), wav_header(32000, rate=1, byte_rate=2), wav_header(100, bits=12)):
        with pytest.raises(HTTPException):
            await billing.async_pre_call_hook(auth(), None, {"model": "fake-whisper", "file": io.BytesIO(bad),
                                                             "litellm_call_id": CALL_ID}, "transcription")
    assert seen == []
    # A data chunk that claims 4 GiB but holds one second is one second long.
    await billing.async_pre_call_hook(auth(), None, {"model": "fake-whisper", "file": io.BytesIO(wav_header(32000, declared=2**32 - 1)),
                                                     "litellm_call_id": CALL_ID}, "transcription")
    # Stereo 8-bit at 8 kHz, 0.5 s present: 8,000 bytes ÷ 16,000 bytes/s.
    await billing.async_pre_call_hook(auth(), None, {"model": "fake-whisper", "file": io.BytesIO(wav_header(8000, rate=16000, channels=2, bits=8)),
                                                     "litellm_call_id": CALL_ID}, "transcription")
    assert [h["audioMs"] for h in seen] == [1000, 250]


def test_reported_units_are_read_from_litellm_s_responses(tmp_path):
    from litellm.types.utils import (
        CompletionTokensDetailsWrapper,
        ImageObject,
        ImageResponse,
        PromptTokensDetailsWrapper,
        TranscriptionResponse,
        Usage,
    )

    billing = make(tmp_path, lambda r: httpx.Response(200))
    usage = Usage(prompt_tokens=1000, completion_tokens=300,
                  prompt_tokens_details=PromptTokensDetailsWrapper(cached_tokens=200, cache_write_tokens=500),
                  completion_tokens_details=CompletionTokensDetailsWrapper(reasoning_tokens=120))
    chat = types.SimpleNamespace(usage=usage)
    assert billing._reported_units({"kind": "chat", "callId": CALL_ID}, chat) == {
        "cachedTokens": 200, "cacheWriteTokens": 500, "reasoningTokens": 120, "images": 0, "audioMs": 0, "characters": 0,
        "imageSize": None, "imageQuality": None}
    images = ImageResponse(data=[ImageObject(b64_json="x"), ImageObject(b64_json="y")])
    assert billing._reported_units({"kind": "image", "callId": CALL_ID}, images)["images"] == 2
    spoken = billing._reported_units({"kind": "speech", "callId": CALL_ID, "characters": 13}, object())
    assert spoken["characters"] == 13
    heard = TranscriptionResponse(text="hi")
    heard.usage = {"type": "duration", "seconds": 2.4}
    assert billing._reported_units({"kind": "transcription", "callId": CALL_ID, "audioMs": 9000}, heard)["audioMs"] == 2400
    silent = TranscriptionResponse(text="hi")
    assert billing._reported_units({"kind": "transcription", "callId": CALL_ID, "audioMs": 9000}, silent)["audioMs"] == 9000


@pytest.mark.parametrize("call_id", ["", None, "call-1", "not-a-uuid"])
async def test_a_call_without_a_gateway_call_id_is_refused_before_any_hold(tmp_path, call_id):
    billing = make(tmp_path, lambda r: pytest.fail("no hold without a call id"))
    with pytest.raises(HTTPException) as raised:
        await billing.async_pre_call_hook(auth(), None, {**data(), "litellm_call_id": call_id}, "acompletion")
    assert raised.value.status_code == 400


async def test_the_hold_covers_every_choice_and_every_configured_fallback(tmp_path):
    seen = []

    def handler(request):
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"holdId": "h1", "amountMicros": 80, "availableMicros": 920})

    billing = make(tmp_path, handler)
    router = types.SimpleNamespace(fallbacks=[{"fake-small": ["fake-large"]}, {"fake-large": [{"model": "fake-xl"}]}])
    billing.router = lambda: router
    await billing.async_pre_call_hook(auth(), None, {**data(), "n": 5}, "acompletion")
    assert seen[0]["choices"] == 5
    assert seen[0]["fallbackModels"] == ["fake-large", "fake-xl"]


def test_reachable_models_follow_every_fallback_kind_and_defaults_once():
    router = types.SimpleNamespace(
        fallbacks=[{"a": ["b"]}, {"*": ["z"]}],
        context_window_fallbacks=[{"b": ["c"]}],
        content_policy_fallbacks=[{"c": ["a", "d"]}],
    )
    assert reachable_models("a", router) == ["a", "b", "z", "c", "d"]
    assert reachable_models("q", None) == ["q"]


@pytest.mark.parametrize(
    "status,expected,error_type",
    [
        (402, 402, "insufficient_quota"),
        (429, 429, "budget_exceeded"),
        (401, 401, "authentication_error"),
        (409, 409, "invalid_request_error"),
        # A request the platform finds malformed is the client's fault: 400, never a retryable 503.
        (422, 400, "invalid_request_error"),
        (400, 400, "invalid_request_error"),
    ],
)
async def test_refusals_reach_the_app_with_status_type_and_message(tmp_path, status, expected, error_type):
    billing = make(tmp_path, lambda r: httpx.Response(status, json={"error": {"code": "x", "message": "Insufficient balance: $1 needed"}}))
    with pytest.raises(HTTPException) as raised:
        await billing.async_pre_call_hook(auth(), None, data(), "acompletion")
    assert raised.value.status_code == expected
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


@pytest.mark.parametrize(
    "answer, reported",
    [
        # A timeout or a server error may have placed the hold after the gateway stopped waiting: the call is
        # reported failed, so its event releases that hold (and refuses a later one) when it is delivered.
        (httpx.ReadTimeout("slow"), True),
        (httpx.Response(503, json={}), True),
        # No connection (refused, timed out, or none free in the pool): the request never left, there is no hold to
        # release and nothing to report.
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow connect"), False),
        (httpx.PoolTimeout("no free connection"), False),
    ],
)
async def test_a_hold_that_may_have_been_placed_unanswered_is_reported_as_a_failed_call(tmp_path, answer, reported):
    def handler(request):
        if isinstance(answer, Exception):
            raise answer
        return answer

    billing = make(tmp_path, handler)
    with pytest.raises(HTTPException) as raised:
        await billing.async_pre_call_hook(auth(), None, data(), "acompletion")
    assert raised.value.status_code == 503
    events = billing.outbox.find(KEY_ID, CALL_ID)
    if not reported:
        assert events == []
        return
    assert len(events) == 1
    event = events[0]
    assert (event["status"], event["errorClass"], event["modelGroup"], event["promptTokens"], event["completionTokens"]) == (
        "failure", "ReservationUnavailable", "fake-small", 0, 0)
    assert "leaseId" not in event and "drawMicros" not in event


async def test_a_call_abandoned_while_its_hold_is_on_the_way_is_reported_as_a_failed_call(tmp_path):
    asked = asyncio.Event()

    async def handler(request):
        if request.url.path != "/api/internal/gateway/holds":
            return httpx.Response(200, json={})
        asked.set()
        await asyncio.sleep(30)  # the platform is slow; the call is cancelled meanwhile
        return httpx.Response(200, json={})

    billing = make(tmp_path, handler)
    hook = asyncio.create_task(billing.async_pre_call_hook(auth(), None, data(), "acompletion"))
    await asyncio.wait_for(asked.wait(), 5)
    hook.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hook
    [event] = billing.outbox.find(KEY_ID, CALL_ID)
    assert (event["status"], event["errorClass"]) == ("failure", "ReservationUnavailable")


async def test_a_call_reserved_then_not_served_gives_its_reservation_back(tmp_path, monkeypatch):
    billing = make(tmp_path, lambda r: httpx.Response(200, json={"holdId": "h1", "amountMicros": 10, "outcome": "placed"}))

    def broken(*args, **kwargs):
        raise RuntimeError("a bug after the hold")

    monkeypatch.setattr(billing_module.response_cache, "mark", broken)
    with pytest.raises(RuntimeError):
        await billing.async_pre_call_hook(auth(), None, data(), "acompletion")
    [event] = billing.outbox.find(KEY_ID, CALL_ID)
    assert (event["status"], event["errorClass"], event["completionTokens"]) == ("failure", "NotServed", 0)


async def test_master_key_calls_are_not_metered(tmp_path):
    billing = make(tmp_path, lambda r: pytest.fail("no hold for the operator"))
    out = await billing.async_pre_call_hook(UserAPIKeyAuth(api_key="sk-master"), None, data(), "acompletion")
    assert STATE not in (out.get("metadata") or {})


def text_chunk(text):
    """A streamed chat chunk carrying `text`, as LiteLLM hands it to the streaming hook."""
    from litellm.types.utils import Delta, ModelResponseStream, StreamingChoices

    return ModelResponseStream(choices=[StreamingChoices(delta=Delta(content=text))])


def signed(billing, **state):
    state = {"keyId": KEY_ID, "callId": "c1", "holdId": "h", "leaseId": "", "drawMicros": 0, "promptTokens": 9, "model": "fake-small", "startedAt": "2026-01-01T00:00:00.000Z", "delivered": [], **state}
    state["sig"] = billing._sign(state)
    return state


async def test_failure_after_delivered_text_is_a_cut_stream_otherwise_a_failure(tmp_path):
    billing = make(tmp_path, lambda r: httpx.Response(200))
    import litellm

    messages = [{"role": "user", "content": "say hello to the whole wide world please"}]
    counted = litellm.token_counter(model="fake-small", messages=messages)
    state = signed(billing, chunks=[text_chunk("hello"), text_chunk(" world")], promptTokens=60)
    request = {"metadata": {STATE: state}, "stream": True, "messages": messages}
    await billing.async_post_call_failure_hook(request, RuntimeError("cut"), auth())
    await billing.async_post_call_failure_hook({"metadata": {STATE: signed(billing, callId="c2")}}, RuntimeError("500"), auth())
    # A cut stream's prompt is estimated with LiteLLM's tokenizer, never above the bound it was reserved for.
    bounded = signed(billing, callId="c3", delivered=["hello"], promptTokens=5)
    await billing.async_post_call_failure_hook({"metadata": {STATE: bounded}, "stream": True, "messages": messages},
                                               RuntimeError("cut"), auth())
    events = [*billing.outbox.find(KEY_ID, "c1"), *billing.outbox.find(KEY_ID, "c2"), *billing.outbox.find(KEY_ID, "c3")]
    assert 5 < counted < 60
    assert [(e["status"], e["completionTokens"] > 0, e["promptTokens"]) for e in events] == [
        ("cut", True, counted), ("failure", False, 0), ("cut", True, 5)]


async def test_a_stream_records_when_its_first_token_passed_and_its_event_carries_it(tmp_path):
    billing = make(tmp_path, lambda r: httpx.Response(200))
    state = signed(billing)

    def chunk(text):
        return types.SimpleNamespace(choices=[types.SimpleNamespace(delta=types.SimpleNamespace(content=text))])

    async def upstream():
        yield chunk("")  # a role-only first chunk is not a token
        yield chunk("Hel")
        yield chunk("lo")

    request = {"metadata": {STATE: state}, "stream": True}
    seen = [c async for c in billing.async_post_call_streaming_iterator_hook(auth(), upstream(), request)]
    assert len(seen) == 3
    first = state["firstTokenAt"]
    assert first.endswith("Z") and first > state["startedAt"]
    # The stream is cut after its first tokens: the event says when the first one passed.
    await billing.async_post_call_failure_hook(request, RuntimeError("cut"), auth())
    assert [(e["status"], e["firstTokenAt"]) for e in billing.outbox.find(KEY_ID, "c1")] == [("cut", first)]


async def test_success_hook_adds_the_hold_and_available_headers(tmp_path):
    billing = make(tmp_path, lambda r: httpx.Response(200))
    response = types.SimpleNamespace(_hidden_params={})
    request = {"metadata": {STATE: signed(billing, holdMicros=80, availableMicros=920)}}
    await billing.async_post_call_success_hook(request, auth(), response)
    assert response._hidden_params["additional_headers"] == {"x-tollgate-hold-micros": "80", "x-tollgate-available-micros": "920", "x-tollgate-model": "fake-small"}
    # The group that served names the model when LiteLLM says it (a fallback's group, not the one it was sent to).
    served = types.SimpleNamespace(_hidden_params={"additional_headers": {"x-litellm-model-group": "fake-large"}})
    await billing.async_post_call_success_hook(request, auth(), served)
    assert served._hidden_params["additional_headers"]["x-tollgate-model"] == "fake-large"


async def test_every_non_streaming_answer_gets_the_headers_whatever_its_shape(tmp_path):
    """/v1/messages answers a plain dict (LiteLLM reads its "_hidden_params" key, then pops it); text completions keep
    LiteLLM's HiddenParams model; images, speech and transcription run no success hook: the response-headers hook."""
    from litellm.types.llms.base import HiddenParams

    billing = make(tmp_path, lambda r: httpx.Response(200))
    request = {"litellm_metadata": {STATE: signed(billing, holdMicros=80, availableMicros=920)}}
    expected = {"x-tollgate-hold-micros": "80", "x-tollgate-available-micros": "920", "x-tollgate-model": "fake-small"}
    message = {"type": "message", "usage": {"input_tokens": 3}}
    await billing.async_post_call_success_hook(request, auth(), message)
    assert message["_hidden_params"]["additional_headers"] == expected
    completion = types.SimpleNamespace(_hidden_params=HiddenParams())
    completion._hidden_params["additional_headers"] = {"x-ratelimit-remaining-requests": "9"}
    await billing.async_post_call_success_hook(request, auth(), completion)
    assert completion._hidden_params.model_dump()["additional_headers"] == {"x-ratelimit-remaining-requests": "9", **expected}
    assert await billing.async_post_call_response_headers_hook(request, auth(), object()) == expected
    # A failure (LiteLLM passes None) or a call without our state (the master key) gets none.
    assert await billing.async_post_call_response_headers_hook(request, auth(), None) is None
    assert await billing.async_post_call_response_headers_hook({"metadata": {}}, auth(), object()) is None
    untouched = {"type": "message"}
    await billing.async_post_call_success_hook({}, auth(), untouched)
    assert untouched == {"type": "message"}


async def test_state_planted_by_a_client_is_ignored(tmp_path):
    """A client's metadata.tollgate (the gate refuses metadata; this is the second line) reports nothing."""
    billing = make(tmp_path, lambda r: httpx.Response(200))
    forged = {"keyId": KEY_ID, "callId": "victim", "holdId": "h", "promptTokens": 9, "model": "fake-small", "startedAt": "2026-01-01T00:00:00.000Z", "delivered": [], "sig": "0" * 64}
    await billing.async_post_call_failure_hook({"metadata": {STATE: forged}}, RuntimeError("x"), auth())
    assert billing.outbox.find(KEY_ID, "victim") == []


async def test_the_success_event_reports_the_held_call_id(tmp_path):
    billing = make(tmp_path, lambda r: httpx.Response(200))
    state = signed(billing, callId=CALL_ID)
    usage = types.SimpleNamespace(prompt_tokens_details=None)
    kwargs = {
        "litellm_call_id": CALL_ID,
        "litellm_params": {"metadata": {STATE: state}},
        "standard_logging_object": {
            "model_group": "fake-large",
            "prompt_tokens": 10,
            "completion_tokens": 20,
            "metadata": {"user_api_key_auth_metadata": {"tollgate_key_id": KEY_ID}},
        },
    }
    await billing.async_log_success_event(kwargs, types.SimpleNamespace(usage=usage), None, None)
    [event] = billing.outbox.find(KEY_ID, CALL_ID)
    # The group that served the call (a fallback here) is what it is priced at.
    assert event["callId"] == CALL_ID and event["modelGroup"] == "fake-large" and event["status"] == "success"
    # Without our signed state (a call that was never held) nothing is reported under any id.
    await billing.async_log_success_event({**kwargs, "litellm_call_id": "", "litellm_params": {}}, types.SimpleNamespace(usage=usage), None, None)
    assert billing.outbox.find(KEY_ID, "") == []


def test_the_text_a_stream_delivers_is_read_from_every_streaming_route():
    from litellm.types.utils import Delta, ModelResponseStream, StreamingChoices

    from tollgate_litellm.billing import _delivered_text

    chat = ModelResponseStream(choices=[StreamingChoices(delta=Delta(content="Hello"))])
    assert _delivered_text(chat) == "Hello"
    completion = types.SimpleNamespace(choices=[types.SimpleNamespace(text=" world", delta=None)])
    assert _delivered_text(completion) == " world"
    assert _delivered_text({"type": "response.output_text.delta", "delta": "Resp"}) == "Resp"
    assert _delivered_text({"type": "response.created", "response": {}}) == ""
    sse = (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
           b'"delta":{"type":"text_delta","text":"Claude"}}\n\n')
    assert _delivered_text(sse) == "Claude"
    assert _delivered_text({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "says"}}) == "says"
    assert _delivered_text(b"event: ping\ndata: {}\n\n") == ""


def test_usage_an_upstream_reports_past_any_count_is_held_to_what_an_event_may_carry():
    """Found by review: an owner's server answering duration 1e999 (infinite) or a huge or negative token count
    made the usage event fail (OverflowError) or be refused by the platform: the served call was never billed."""
    import types

    from tollgate_litellm.billing import MAX_COUNTS, _reported, _reported_audio_ms

    assert _reported_audio_ms(types.SimpleNamespace(usage=None, duration=float("inf"))) is None
    assert _reported_audio_ms(types.SimpleNamespace(usage=None, duration=float("nan"))) is None
    assert _reported_audio_ms(types.SimpleNamespace(usage=None, duration=1.5)) == 1500
    assert _reported(float("inf")) == 0 and _reported(-5) == 0 and _reported("x") == 0 and _reported(None) == 0
    assert _reported(10**15, "promptTokens") == MAX_COUNTS["promptTokens"] == 100_000_000
    assert _reported(10**9, "audioMs") == MAX_COUNTS["audioMs"]
    assert _reported(41.9, "completionTokens") == 41
