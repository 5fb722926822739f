"""The front door: what an app key may send (routes, headers, body fields) and what responses may reveal."""

import json

import httpx
import pytest

from tollgate_litellm.gate import Gate, filter_response_headers

MASTER = "sk-master-key-0123456789"
CHAT = "/v1/chat/completions"
BASE = {"model": "fake-small", "messages": [{"role": "user", "content": "hi"}]}


class Inner:
    """Stands in for LiteLLM's app: records what reached it and answers with LiteLLM's usual headers."""

    def __init__(self):
        self.bodies = []

    async def __call__(self, scope, receive, send):
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
