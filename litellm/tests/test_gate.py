"""The front door: what an app key may send (routes, headers, body fields) and what responses may reveal."""

import json
import re
import time

import httpx
import pytest

from tollgate_litellm.gate import ASSIGNED_CALL_ID, Gate, filter_response_headers
from tollgate_litellm.ids import call_id_ms

MASTER = "sk-master-key-0123456789"
CHAT = "/v1/chat/completions"
BASE = {"model": "fake-small", "messages": [{"role": "user", "content": "hi"}]}


class Inner:
    """Stands in for LiteLLM's app: records what reached it and answers with LiteLLM's usual headers."""

    def __init__(self):
        self.bodies = []
        self.scopes = []

    async def __call__(self, scope, receive, send):
        self.scopes.append(scope)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-litellm-call-id", b"c1"),
                    (b"x-litellm-model-group", b"fake-small"),
                    (b"x-litellm-model-api-base", b"http://10.0.0.1/v1"),
                    (b"x-litellm-response-cost", b"0.0001"),
                    (b"x-litellm-key-spend", b"1.2"),
                    (b"llm_provider-x-request-id", b"req_1"),
                    (b"x-tollgate-hold-micros", b"80"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"{}"})


def client():
    inner = Inner()
    transport = httpx.ASGITransport(app=Gate(inner, MASTER))
    return inner, httpx.AsyncClient(transport=transport, base_url="http://gw")


async def post(body, path=CHAT, headers=None, key="tg_app", **kw):
    inner, c = client()
    h = {"authorization": f"Bearer {key}", "content-type": "application/json", **(headers or {})}
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    async with c:
        response = await c.post(path, content=content, headers=h, **kw)
    return inner, response


async def test_a_plain_chat_request_passes_unchanged():
    inner, response = await post({**BASE, "max_tokens": 20, "n": 2, "stream": True, "stream_options": {"include_usage": True}})
    assert response.status_code == 200
    assert json.loads(inner.bodies[0])["n"] == 2


@pytest.mark.parametrize(
    "field,value",
    [
        ("fallbacks", [{"model": "fake-large"}]),
        ("api_base", "http://127.0.0.1:9"),
        ("base_url", "http://127.0.0.1:9"),
        ("api_key", "sk-x"),
        ("timeout", 0.001),
        ("num_retries", 5),
        ("extra_headers", {"x": "y"}),
        ("headers", {"x": "y"}),
        ("mock_response", "free"),
        ("input_cost_per_token", 0),
        ("output_cost_per_token", 0),
        ("metadata", {"user_api_key_auth_metadata": {"tollgate_key_id": "x"}}),
        ("litellm_call_id", ""),
        ("no-log", True),
        ("caching", False),
        ("model_list", []),
        ("litellm_metadata", {}),
        ("web_search_options", {}),
        # Rejected predicted tokens are billed as output past the reserved cap.
        ("prediction", {"type": "content", "content": "x " * 10_000}),
    ],
)
async def test_routing_pricing_and_logging_fields_are_refused_with_400(field, value):
    inner, response = await post({**BASE, field: value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == field
    assert f"Unrecognized request argument supplied: {field}" == error["message"]
    assert inner.bodies == []


@pytest.mark.parametrize(
    "field,value",
    [("max_tokens", -5), ("max_tokens", 0), ("max_tokens", 2**31), ("max_tokens", 1.5), ("max_tokens", "10"), ("max_tokens", True),
     ("n", 0), ("n", 129), ("n", "5"), ("stream", "yes"), ("stream_options", {"include_usage": True, "x": 1}), ("model", ""),
     ("model", 5), ("messages", []), ("messages", "hi"), ("user", 7)],
)
async def test_money_relevant_values_are_type_checked(field, value):
    inner, response = await post({**BASE, field: value})
    assert response.status_code == 400 and response.json()["error"]["param"] == field
    assert inner.bodies == []


async def test_a_huge_max_tokens_within_int32_is_passed_on_for_the_hold_to_cap():
    _, response = await post({**BASE, "max_tokens": 1_000_000_000})
    assert response.status_code == 200


@pytest.mark.parametrize("header", ["x-litellm-call-id", "x-litellm-timeout", "x-litellm-num-retries", "x-litellm-tags", "litellm_user_api_key"])
async def test_litellm_control_headers_are_refused(header):
    inner, response = await post(BASE, headers={header: ""})
    assert response.status_code == 403 and inner.bodies == []


@pytest.mark.parametrize(
    "path", ["/openai/v1/chat/completions", "/v1/model/info", "/model/info", "/key/generate", "/v1/images/edits",
             "/engines/x/chat/completions", "/openai/deployments/x/embeddings"]
)
async def test_other_routes_are_closed_to_app_keys(path):
    inner, response = await post(BASE, path=path)
    assert response.status_code == 403 and response.json()["error"]["code"] == "route_not_allowed"
    assert inner.bodies == []


EMBED = {"model": "fake-embed", "input": "hello there"}


@pytest.mark.parametrize(
    "body",
    [EMBED, {**EMBED, "input": ["a", "b"]}, {**EMBED, "input": [1, 2, 3]}, {**EMBED, "input": [[1, 2], [3]]},
     {**EMBED, "encoding_format": "base64", "dimensions": 256, "user": "u1"}],
)
async def test_embeddings_pass_with_openai_s_body(body):
    inner, response = await post(body, path="/v1/embeddings")
    assert response.status_code == 200 and [json.loads(b) for b in inner.bodies] == [body]


@pytest.mark.parametrize(
    "field,value",
    [("input", ""), ("input", []), ("input", [1, "a"]), ("input", [[]]), ("input", None), ("input", [True]),
     ("input", ["x"] * 2049), ("encoding_format", "int8"), ("dimensions", 0), ("dimensions", "8"), ("model", ""),
     ("messages", [{"role": "user", "content": "x"}]), ("api_base", "http://attacker"), ("metadata", {})],
)
async def test_embeddings_bodies_are_checked_before_anything_runs(field, value):
    inner, response = await post({**EMBED, field: value}, path="/v1/embeddings")
    assert response.status_code == 400 and response.json()["error"]["param"] == field
    assert inner.bodies == []


COMPLETION = {"model": "fake-small", "prompt": "Once upon a time", "max_tokens": 16}
IMAGE = {"model": "fake-image", "prompt": "a lighthouse", "n": 2, "size": "1024x1024", "quality": "hd"}
SPEECH = {"model": "fake-tts", "input": "Hello there.", "voice": "alloy", "speed": 1.25}


@pytest.mark.parametrize(
    "path,body",
    [("/v1/completions", COMPLETION), ("/v1/completions", {**COMPLETION, "prompt": ["a", "b"], "n": 2, "best_of": 3}),
     ("/completions", {**COMPLETION, "prompt": [[1, 2], [3]], "echo": True}), ("/v1/images/generations", IMAGE),
     ("/v1/images/generations", {"model": "fake-image", "prompt": "x"}), ("/v1/audio/speech", SPEECH)],
)
async def test_completions_images_and_speech_pass_with_openai_s_body(path, body):
    inner, response = await post(body, path=path)
    assert response.status_code == 200 and [json.loads(b) for b in inner.bodies] == [body]


@pytest.mark.parametrize(
    "path,body,field",
    [("/v1/completions", {**COMPLETION, "prompt": ""}, "prompt"), ("/v1/completions", {**COMPLETION, "n": 3, "best_of": 2}, "best_of"),
     ("/v1/completions", {**COMPLETION, "prompt": ["a"] * 65}, "prompt"), ("/v1/completions", {**COMPLETION, "max_tokens": "9"}, "max_tokens"),
     ("/v1/completions", {**COMPLETION, "api_base": "http://attacker"}, "api_base"),
     ("/v1/images/generations", {**IMAGE, "n": 11}, "n"), ("/v1/images/generations", {**IMAGE, "n": True}, "n"),
     ("/v1/images/generations", {**IMAGE, "size": "huge"}, "size"), ("/v1/images/generations", {**IMAGE, "quality": "ultra"}, "quality"),
     ("/v1/images/generations", {**IMAGE, "prompt": None}, "prompt"), ("/v1/images/generations", {**IMAGE, "metadata": {}}, "metadata"),
     ("/v1/audio/speech", {**SPEECH, "input": ""}, "input"), ("/v1/audio/speech", {**SPEECH, "input": "x" * 4097}, "input"),
     ("/v1/audio/speech", {**SPEECH, "speed": 9}, "speed"), ("/v1/audio/speech", {**SPEECH, "mock_response": "x"}, "mock_response")],
)
async def test_completions_images_and_speech_bodies_are_checked(path, body, field):
    inner, response = await post(body, path=path)
    assert response.status_code == 400 and response.json()["error"]["param"] == field
    assert inner.bodies == []


async def transcribe(files, data, max_audio=1024 * 1024):
    inner = Inner()
    transport = httpx.ASGITransport(app=Gate(inner, MASTER, max_audio))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
        response = await c.post("/v1/audio/transcriptions", files=files, data=data, headers={"authorization": "Bearer tg_app"})
    return inner, response


async def test_a_transcription_form_passes_whole_with_its_file():
    inner, response = await transcribe({"file": ("a.wav", b"RIFF0000WAVE", "audio/wav")},
                                       {"model": "fake-whisper", "language": "en", "response_format": "json"})
    assert response.status_code == 200
    assert b"RIFF0000WAVE" in inner.bodies[0] and b"fake-whisper" in inner.bodies[0]


@pytest.mark.parametrize(
    "files,data,status,param",
    [({"file": ("a.wav", b"RIFF", "audio/wav")}, {"model": "fake-whisper", "api_base": "http://attacker"}, 400, "api_base"),
     ({"file": ("a.wav", b"RIFF", "audio/wav")}, {"model": "fake-whisper", "metadata": "{}"}, 400, "metadata"),
     ({"file": ("a.wav", b"RIFF", "audio/wav")}, {}, 400, "model"),
     ({"model": (None, b"fake-whisper")}, {}, 400, "file"),
     ({"file": ("a.wav", b"R" * (1024 * 1024 + 1), "audio/wav")}, {"model": "fake-whisper"}, 413, "file"),
     ({"file": ("a.wav", b"RIFF", "audio/wav"), "prompt": ("p.txt", b"x", "text/plain")}, {"model": "fake-whisper"}, 400, "prompt")],
)
async def test_transcription_forms_are_checked_before_litellm_reads_them(files, data, status, param):
    inner, response = await transcribe(files, data)
    assert response.status_code == status and response.json()["error"]["param"] == param
    assert inner.bodies == []


async def test_a_transcription_sent_as_json_is_415():
    inner, response = await post({"model": "fake-whisper", "file": "x"}, path="/v1/audio/transcriptions")
    assert response.status_code == 415 and inner.bodies == []


async def test_bad_bodies_are_4xx_not_500():
    assert (await post(b"{not json"))[1].status_code == 400
    assert (await post(b"[1,2]"))[1].status_code == 400
    assert (await post(json.dumps(BASE), headers={"content-type": "application/x-www-form-urlencoded"}))[1].status_code == 415
    assert (await post(BASE, path=CHAT + "?model=fake-large"))[1].status_code == 400


async def test_duplicate_keys_are_read_as_litellm_reads_them():
    raw = '{"model":"fake-small","messages":[{"role":"user","content":"x"}],"model":"fake-small","fallbacks":[]}'
    assert (await post(raw))[1].status_code == 400


async def test_responses_lose_upstream_and_cost_headers():
    _, response = await post(BASE)
    assert response.headers["x-litellm-call-id"] == "c1"
    assert response.headers["x-litellm-model-group"] == "fake-small"
    assert response.headers["x-tollgate-hold-micros"] == "80"
    for hidden in ("x-litellm-model-api-base", "x-litellm-response-cost", "x-litellm-key-spend", "llm_provider-x-request-id"):
        assert hidden not in response.headers


async def test_the_master_key_is_not_gated():
    inner, response = await post({**BASE, "fallbacks": []}, path="/v1/model/info", key=MASTER)
    assert response.status_code == 200 and inner.bodies
    assert "x-litellm-model-api-base" in response.headers


async def test_probes_and_plugin_routes_pass():
    inner, c = client()
    async with c:
        assert (await c.get("/health/liveliness")).status_code == 200
        assert (await c.get("/tollgate/outbox/stats")).status_code == 200


def test_header_filter_keeps_only_what_apps_need():
    kept = filter_response_headers([(b"X-LiteLLM-Version", b"1"), (b"x-ratelimit-remaining-requests", b"9"), (b"retry-after", b"2")])
    assert [k for k, _ in kept] == [b"x-ratelimit-remaining-requests", b"retry-after"]


def test_error_messages_lose_the_gateway_s_routing():
    from tollgate_litellm.gate import scrub_error_message

    leaky = (
        "litellm.InternalServerError: InternalServerError: OpenAIException - fake upstream: internal errorNo fallback"
        " model group found for lookup_groups=fake-error-500. Fallbacks=[{'fake-dead': ['fake-large']}]. Received"
        " Model Group=fake-error-500 Available Model Group Fallbacks=None LiteLLM Retried: 2 times"
    )
    assert scrub_error_message(leaky) == "fake upstream: internal error"
    # Tollgate's own refusals are left as they are.
    own = "Insufficient balance: this call may cost up to $0.000125, but only $0.000010 is available."
    assert scrub_error_message(own) == own


async def test_an_upstream_error_body_reaches_the_app_without_routing_details():
    body = {"error": {"message": "litellm.APIError: APIError: OpenAIException - boom. Fallbacks=[{'a': ['b']}]",
                      "type": None, "param": None, "code": "500"}}

    async def failing(scope, receive, send):
        raw = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": 500,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})
        await send({"type": "http.response.body", "body": raw[:10], "more_body": True})
        await send({"type": "http.response.body", "body": raw[10:]})

    transport = httpx.ASGITransport(app=Gate(failing, MASTER))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
        res = await c.post(CHAT, json=BASE, headers={"authorization": "Bearer tg_app"})
    assert res.status_code == 500
    assert res.json()["error"]["message"] == "boom."
    assert int(res.headers["content-length"]) == len(res.content)


# -- LiteLLM's cost figure never reaches an app -----------------------------------------------------------------
from hypothesis import given, settings
from hypothesis import strategies as st

from tollgate_litellm.gate import _CALL, note_call_id, strip_sse_cost, strip_usage_cost

# What LiteLLM 1.102.4 sends: streamed chat's usage chunk, a Responses stream's last event, a Responses body.
CHAT_USAGE_CHUNK = (
    b'data: {"id":"chatcmpl-1","created":1,"model":"fake-small","object":"chat.completion.chunk","choices":[{"index":0,'
    b'"delta":{}}],"usage":{"completion_tokens":8,"prompt_tokens":9,"total_tokens":17,"completion_tokens_details":'
    b'{"reasoning_tokens":0},"cost":0.0000165}}\n\n'
)
RESPONSES_COMPLETED = (
    b'data: {"type":"response.completed","response":{"id":"resp_1","tools":[{"type":"function","name":"quote",'
    b'"parameters":{"properties":{"cost":{"type":"number"}}}}],"output":[{"content":[{"text":"the \\"cost\\": 3",'
    b'"type":"output_text"}]}],"usage":{"input_tokens":8,"output_tokens":16,"total_tokens":24,"cost":0.000028}},'
    b'"sequence_number":22}\n\n'
)


def test_usage_cost_is_cut_and_every_other_byte_is_kept():
    assert strip_usage_cost(b'{"usage":{"prompt_tokens":1,"cost":0.5}}') == b'{"usage":{"prompt_tokens":1}}'
    assert strip_usage_cost(b'{"usage": {"a": 1, "cost": null}}') == b'{"usage": {"a": 1}}'
    assert strip_usage_cost(b'{"usage":{"cost":1,"a":2}}') == b'{"usage":{"a":2}}'
    assert strip_usage_cost(b'{"usage":{"cost":1}}') == b'{"usage":{}}'
    # A provider's own figures (OpenRouter: cost, cost_details; Perplexity: a breakdown object) go too.
    assert (strip_usage_cost(b'{"usage":{"a":1,"cost":1,"cost_details":{"upstream_inference_cost":2},"b":0}}')
            == b'{"usage":{"a":1,"b":0}}')
    assert strip_usage_cost(b'{"usage":{"a":1,"cost":1,"cost_details":{}}}') == b'{"usage":{"a":1}}'
    # "cost" anywhere else is the app's: a tool's parameter, text, a top-level field.
    chunk = strip_sse_cost(RESPONSES_COMPLETED)
    assert b'"properties":{"cost":{"type":"number"}}' in chunk and b'the \\"cost\\": 3' in chunk
    assert b'"usage":{"input_tokens":8,"output_tokens":16,"total_tokens":24}},"sequence_number":22}\n\n' in chunk
    assert strip_usage_cost(b'{"cost":5,"usage":{"p":3}}') == b'{"cost":5,"usage":{"p":3}}'
    # Not JSON: left as it is.
    for broken in (b'{"usage":{"cost":1}', b'{"usage":{"cost":1}}}', b'data: {"usage":{"cost":'):
        assert strip_usage_cost(broken) == broken
    # Nothing to cut: the very same object (no copy).
    plain = b'{"usage":{"prompt_tokens":1}}'
    assert strip_usage_cost(plain) is plain


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet='ab"\\c\u00e9\n', max_size=6) | st.sampled_from(["cost", '"cost":1', "usage"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["usage", "cost", "cost_details", "total_cost", "a", "b", "c\u00e9"]), inner,
                      max_size=5),
    max_leaves=30,
)


def _without_usage_cost(value, in_usage=False):
    if isinstance(value, dict):
        return {k: _without_usage_cost(v, k == "usage") for k, v in value.items() if not (in_usage and "cost" in k)}
    if isinstance(value, list):
        return [_without_usage_cost(v) for v in value]
    return value


@settings(max_examples=400, deadline=None)
@given(_json_values, st.sampled_from([(",", ":"), (", ", ": "), (" , ", " : ")]), st.booleans())
def test_any_document_loses_exactly_its_usage_costs(value, separators, ascii_only):
    raw = json.dumps({"usage": value} if not isinstance(value, dict) else value, separators=separators,
                     ensure_ascii=ascii_only).encode()
    out = strip_usage_cost(raw)
    assert json.loads(out) == _without_usage_cost(json.loads(raw))
    if out == raw:
        assert _without_usage_cost(json.loads(raw)) == json.loads(raw)


class Streamer:
    """Stands in for LiteLLM's app answering with a body sent in the given pieces."""

    def __init__(self, pieces, content_type=b"text/event-stream", status=200, length=False):
        self.pieces, self.content_type, self.status, self.length = pieces, content_type, status, length

    async def __call__(self, scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        headers = [(b"content-type", self.content_type)]
        if self.length:
            headers.append((b"content-length", str(sum(len(p) for p in self.pieces)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        for i, piece in enumerate(self.pieces):
            await send({"type": "http.response.body", "body": piece, "more_body": i < len(self.pieces) - 1})


async def through_gate(app, key="tg_app", path=CHAT, body=None):
    transport = httpx.ASGITransport(app=Gate(app, MASTER))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
        return await c.post(path, json=body or BASE, headers={"authorization": f"Bearer {key}"})


STREAM = (b'data: {"choices":[{"delta":{"content":"what does it cost?"}}]}\n\n' + CHAT_USAGE_CHUNK
          + RESPONSES_COMPLETED + b"data: [DONE]\n\n")


@pytest.mark.parametrize("size", [1, 2, 7, 64, 10_000])
async def test_a_stream_split_anywhere_loses_usage_cost_and_nothing_else(size):
    pieces = [STREAM[i:i + size] for i in range(0, len(STREAM), size)]
    response = await through_gate(Streamer(pieces))
    assert response.content == strip_sse_cost(STREAM)
    assert b'"cost":0.0000165' not in response.content and b'"cost":0.000028' not in response.content
    assert b'"content":"what does it cost?"' in response.content
    assert b'"reasoning_tokens":0}}' in response.content and response.content.endswith(b"data: [DONE]\n\n")


async def test_stream_messages_without_cost_pass_as_they_are():
    sent = []
    plain = [b'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n', b"data: [DONE]\n\n"]

    async def app(scope, receive, send):
        await Streamer(plain)(scope, receive, send)

    async def record(message):
        sent.append(message)

    gate = Gate(app, MASTER)
    scope = {"type": "http", "method": "POST", "path": CHAT, "query_string": b"",
             "headers": [(b"authorization", b"Bearer tg_app"), (b"content-type", b"application/json")]}
    messages = iter([{"type": "http.request", "body": json.dumps(BASE).encode(), "more_body": False}])

    async def receive():
        return next(messages, {"type": "http.disconnect"})

    await gate(scope, receive, record)
    assert [m.get("body") for m in sent[1:]] == plain  # each message forwarded as it came


async def test_a_json_body_loses_usage_cost_and_its_length_is_right():
    body = json.dumps({"id": "resp_1", "usage": {"input_tokens": 8, "total_tokens": 24, "cost": None}}).encode()
    response = await through_gate(Streamer([body[:9], body[9:]], b"application/json", length=True))
    assert response.json() == {"id": "resp_1", "usage": {"input_tokens": 8, "total_tokens": 24}}
    assert int(response.headers["content-length"]) == len(response.content)
    # The master key (operators, the bare-LiteLLM benchmark) sees LiteLLM's answer as it is.
    raw = await through_gate(Streamer([body], b"application/json", length=True), key=MASTER)
    assert raw.content == body


async def test_audio_passes_untouched():
    audio = [b"ID3\x00cost\x01", b'"usage":{"cost":1}']
    response = await through_gate(Streamer(audio, b"audio/mpeg"))
    assert response.content == b"".join(audio)


# -- GET /v1/models/{id} --------------------------------------------------------------------------------------------
class Models:
    """LiteLLM's model list for a key (or its refusal)."""

    def __init__(self, status=200, models=("fake-small", "openai/gpt-x")):
        self.status, self.models, self.reached = status, models, []

    async def __call__(self, scope, receive, send):
        self.reached.append((scope["method"], scope["path"], scope.get("query_string")))
        if self.status == 200:
            body = json.dumps({"data": [{"id": m, "object": "model", "created": 1677610602, "owned_by": "openai",
                                         "max_input_tokens": 16384} for m in self.models], "object": "list"})
        else:
            body = json.dumps({"error": {"message": "Invalid API key.", "type": "auth_error", "param": None,
                                         "code": str(self.status)}})
        await send({"type": "http.response.start", "status": self.status,
                    "headers": [(b"content-type", b"application/json"), (b"x-litellm-version", b"1.102.4")]})
        await send({"type": "http.response.body", "body": body.encode()})


async def get(app, path, key="tg_app"):
    transport = httpx.ASGITransport(app=Gate(app, MASTER))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
        return await c.get(path, headers={"authorization": f"Bearer {key}"})


async def test_a_model_is_retrieved_from_the_key_s_own_list():
    app = Models()
    for path, model in (("/v1/models/fake-small", "fake-small"), ("/models/fake-small", "fake-small"),
                        ("/v1/models/openai/gpt-x", "openai/gpt-x")):
        response = await get(app, path)
        assert response.status_code == 200
        assert response.json() == {"id": model, "object": "model", "created": 1677610602, "owned_by": "openai"}
    assert [p for _, p, _ in app.reached] == ["/v1/models", "/models", "/v1/models"]


@pytest.mark.parametrize("path", ["/v1/models/fake-large", "/v1/models/fake small", "/v1/models/fake-small:x",
                                  "/v1/models/%E2%9C%93", "/v1/models/fake-smal"])
async def test_a_model_the_key_cannot_call_is_404_model_not_found(path):
    response = await get(Models(), path)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "model_not_found" and error["type"] == "invalid_request_error"


async def test_a_refused_key_gets_the_list_s_refusal_and_the_list_loses_its_query():
    response = await get(Models(status=401), "/v1/models/fake-small")
    assert response.status_code == 401 and response.json()["error"]["message"] == "Invalid API key."
    assert "x-litellm-version" not in response.headers
    app = Models()
    listing = await get(app, "/v1/models?include_metadata=true&fallback_type=general&scope=expand")
    assert listing.status_code == 200 and app.reached == [("GET", "/v1/models", b"")]


# -- an error never costs the client its connection, and carries the call id ---------------------------------------
async def test_an_exception_after_the_answer_does_not_reach_the_server():
    """Starlette's error middleware sends its 500 and raises again; uvicorn would then close the kept-alive
    connection. The gate keeps the answer and stops the exception there."""
    sent = []

    async def failing(scope, receive, send):
        await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"error": {"message": "Internal server error"}}'})
        raise RuntimeError("No module named 'prisma'")

    async def record(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/v1/models", "query_string": b"",
             "headers": [(b"authorization", b"Bearer tg_app")]}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    await Gate(failing, MASTER)(scope, receive, record)  # does not raise
    assert sent[0]["status"] == 500 and not sent[-1].get("more_body")


async def test_an_exception_before_any_answer_is_a_500_in_openai_s_shape_and_mid_stream_it_is_raised():
    async def before(scope, receive, send):
        raise RuntimeError("boom")

    response = await through_gate(before)
    assert response.status_code == 500 and response.json()["error"]["type"] == "server_error"

    async def midway(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": b"data: {}\n\n", "more_body": True})
        raise RuntimeError("cut")

    with pytest.raises(RuntimeError):
        await through_gate(midway)  # the server must drop a connection whose response was cut


CALL_ID = "0b9f0c1e-7a34-4d2b-9a51-3c3e1f7d2a10"


class AppKey:
    metadata = {"tollgate_key_id": "k1"}


class Failing:
    """LiteLLM's completions/image/audio routes: the failure hook runs, then an error without a call id header."""

    def __init__(self, data, auth=AppKey(), header=None):
        self.data, self.auth, self.header = data, auth, header

    async def __call__(self, scope, receive, send):
        note_call_id(self.data, self.auth)  # what the billing callback's failure hook does
        headers = [(b"content-type", b"application/json")] + ([(b"x-litellm-call-id", self.header)] if self.header else [])
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"error": {"message": "fake upstream: internal error"}}'})


async def test_error_answers_carry_the_call_id_litellm_assigned():
    response = await through_gate(Failing({"litellm_call_id": CALL_ID}))
    assert response.status_code == 500 and response.headers["x-litellm-call-id"] == CALL_ID
    # Chat's own header is kept, not doubled.
    response = await through_gate(Failing({"litellm_call_id": CALL_ID}, header=b"c1"))
    assert response.headers.get_list("x-litellm-call-id") == ["c1"]
    # Not a uuid (it would be a header), or not an app key's call (an auth failure's throwaway id): none.
    for failing in (Failing({"litellm_call_id": "x\r\nset-cookie: a"}), Failing({"litellm_call_id": CALL_ID}, None)):
        assert "x-litellm-call-id" not in (await through_gate(failing)).headers
    assert _CALL.get() is None  # the request's slot does not outlive it


async def test_the_billing_callbacks_failure_hook_notes_the_failed_call_and_is_the_only_tollgate_callback():
    import litellm

    from tollgate_litellm.billing import TollgateBilling
    from tollgate_litellm.gate import install

    class Quiet(TollgateBilling):
        def __init__(self):  # the hook under test needs no outbox, leases or platform
            pass

        def _find_state(self, request_data):
            return None

    slot = {}
    token = _CALL.set(slot)
    try:
        await Quiet().async_post_call_failure_hook({"litellm_call_id": CALL_ID}, RuntimeError("x"), AppKey())
    finally:
        _CALL.reset(token)
    assert slot == {"call_id": CALL_ID}
    # The gate adds no callback of its own: LiteLLM runs every registered callback's hooks on every call.
    before = list(litellm.callbacks)

    class App:
        middleware_stack = None

        def build_middleware_stack(self):
            return lambda scope, receive, send: None

    install(App(), None)
    assert litellm.callbacks == before


V7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


async def test_a_billed_call_reaches_litellm_with_a_time_ordered_call_id_the_gate_chose():
    before = time.time_ns() // 1_000_000
    inner, response = await post(BASE)
    after = time.time_ns() // 1_000_000
    assert response.status_code == 200
    scope = inner.scopes[0]
    ids = [v.decode() for k, v in scope["headers"] if k.lower() == b"x-litellm-call-id"]
    # One header, a UUIDv7 made during the call: LiteLLM takes its call id from it (billing's idempotency key).
    assert len(ids) == 1 and V7.match(ids[0])
    assert before <= call_id_ms(ids[0]) <= after
    # Recorded beside it for auth.py, which accepts this header value only.
    assert scope[ASSIGNED_CALL_ID] == ids[0]
    time.sleep(0.002)
    later, _ = await post(BASE)
    second = later.scopes[0][ASSIGNED_CALL_ID]
    assert second != ids[0] and second > ids[0]


async def test_image_and_audio_calls_get_their_id_from_billing_not_a_header_litellm_would_not_read():
    inner, response = await post({"model": "fake-image", "prompt": "a lighthouse"}, path="/v1/images/generations")
    assert response.status_code == 200
    assert ASSIGNED_CALL_ID not in inner.scopes[0]
    assert all(k.lower() != b"x-litellm-call-id" for k, _ in inner.scopes[0]["headers"])


async def test_the_model_list_gets_no_call_id():
    inner, c = client()
    async with c:
        await c.get("/v1/models", headers={"authorization": "Bearer tg_app"})
    assert ASSIGNED_CALL_ID not in inner.scopes[0]
    assert all(k.lower() != b"x-litellm-call-id" for k, _ in inner.scopes[0]["headers"])
