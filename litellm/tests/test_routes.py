"""Every route LiteLLM's proxy serves (read from its own app at the pinned version) against what an app key may do:
billed by Tollgate, free and harmless (the model list, the liveness probe), or refused by the gate before LiteLLM
sees it. A route LiteLLM adds in a later version is refused until it is added here, with its billing."""

import importlib
import re

import httpx
import pytest
from litellm.proxy._lazy_features import LAZY_FEATURES
from litellm.proxy.proxy_server import app as litellm_app

from tollgate_litellm.gate import APP_ROUTES, Gate

# What an app key's call to each billed route is billed as (the plugin's call kinds).
BILLED = {
    ("POST", "/chat/completions"): "chat",
    ("POST", "/v1/chat/completions"): "chat",
    ("POST", "/embeddings"): "embedding",
    ("POST", "/v1/embeddings"): "embedding",
    ("POST", "/v1/messages"): "messages",
    ("POST", "/responses"): "responses",
    ("POST", "/v1/responses"): "responses",
    ("POST", "/completions"): "completion",
    ("POST", "/v1/completions"): "completion",
    ("POST", "/images/generations"): "image",
    ("POST", "/v1/images/generations"): "image",
    ("POST", "/audio/speech"): "speech",
    ("POST", "/v1/audio/speech"): "speech",
    ("POST", "/audio/transcriptions"): "transcription",
    ("POST", "/v1/audio/transcriptions"): "transcription",
}
FREE = {("GET", "/models"), ("GET", "/v1/models"), ("GET", "/models/{model_id}"), ("GET", "/v1/models/{model_id}")}
# The liveness probe answers any method without a key (is_open).
PROBE = {"/health/liveliness", "/health/liveness"}


def litellm_routes() -> set[tuple[str, str]]:
    """(method, path template) for every HTTP route and ("WS", path) for every websocket route of LiteLLM's app."""
    found: set[tuple[str, str]] = set()

    def walk(routes, prefix=""):
        for route in routes:
            kind = type(route).__name__
            if kind == "_IncludedRouter":
                walk(route.original_router.routes, prefix + (getattr(route.include_context, "prefix", "") or ""))
            elif kind == "Mount":
                found.add(("GET", prefix + route.path + "/index.html"))
            elif getattr(route, "methods", None):
                found.update((method, prefix + route.path) for method in route.methods)
            else:
                found.add(("WS", prefix + route.path))

    # LiteLLM registers its optional feature routers (Anthropic Messages, Realtime, pass-through, MCP, agents, …) on
    # their first request: each is loaded here as that request would, so its routes are in the list too.
    for feature in LAZY_FEATURES:
        try:
            feature.register_fn(litellm_app, importlib.import_module(feature.module_path))
        except ImportError:
            continue  # an optional dependency not installed here: LiteLLM cannot serve it either
    walk(litellm_app.routes)
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "fake-small", path)


class Unreachable:
    def __init__(self):
        self.reached: list[str] = []

    async def __call__(self, scope, receive, send):
        self.reached.append(scope.get("path", ""))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


ROUTES = sorted(litellm_routes())


def test_litellm_serves_hundreds_of_routes_and_every_billed_one_is_among_them():
    assert len(ROUTES) > 600  # the pinned version, its optional features loaded: ~1,100
    assert set(FREE) <= set(ROUTES) and all(("GET", p) in ROUTES for p in PROBE)
    assert set(BILLED) <= set(ROUTES)
    assert {(r.method, r.kind) for r in APP_ROUTES if r.fields is not None} == {("POST", k) for k in BILLED.values()}


@pytest.mark.parametrize("method,path", [r for r in ROUTES if r[0] != "WS" and r not in BILLED and r not in FREE and r[1] not in PROBE])
async def test_an_app_key_is_refused_on_every_other_route(method, path):
    inner = Unreachable()
    transport = httpx.ASGITransport(app=Gate(inner, "sk-master-key-0123456789"))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        response = await client.request(method, concrete(path), headers={"authorization": "Bearer tg_app_key"},
                                        json={"model": "fake-small"} if method in ("POST", "PUT", "PATCH") else None)
    assert inner.reached == []
    assert response.status_code in (403, 405), (method, path, response.status_code)
    if method != "HEAD":
        assert response.json()["error"]["type"] in ("permission_error", "invalid_request_error")


@pytest.mark.parametrize("path", [p for m, p in ROUTES if m == "WS"])
async def test_an_app_key_cannot_open_any_websocket(path):
    inner = Unreachable()
    sent = []
    messages = iter([{"type": "websocket.connect"}])

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message)

    scope = {"type": "websocket", "path": path, "headers": [(b"authorization", b"Bearer tg_app_key")]}
    await Gate(inner, "sk-master-key-0123456789")(scope, receive, send)
    assert inner.reached == []
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "not available with Tollgate keys"}]


async def test_options_reaches_litellm_only_as_a_cors_preflight():
    inner = Unreachable()
    transport = httpx.ASGITransport(app=Gate(inner, "sk-master-key-0123456789"))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        plain = await client.options("/mcp", headers={"authorization": "Bearer tg_app_key"})
        preflight = await client.options("/v1/chat/completions", headers={"access-control-request-method": "POST",
                                                                           "origin": "http://app.example"})
    assert plain.status_code == 403
    assert preflight.status_code == 200 and inner.reached == ["/v1/chat/completions"]
