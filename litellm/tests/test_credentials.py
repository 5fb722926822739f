"""BYOK in the gateway (credentials.py): which credentials serve a call, a refusal before anything is reserved, the
owner's secret sent upstream in the request only (never in the call's state, its usage event or the hold request),
and a provider's refusal of the owner's key answered as such and reported free with the credential's id."""

import json
import types

import httpx
import pytest
from litellm.proxy._types import UserAPIKeyAuth

from tollgate_litellm import credentials as byok
from tollgate_litellm.billing import STATE, TollgateBilling
from tollgate_litellm.errors import GatewayError
from tollgate_litellm.outbox import Outbox
from tollgate_litellm.platform import PlatformClient
from tollgate_litellm.settings import Settings

KEY_ID = "11111111-1111-4111-8111-111111111111"
CALL_ID = "22222222-2222-4222-8222-222222222222"
CRED_ID = "33333333-3333-4333-8333-333333333333"
SECRET = "byok-secret-0123456789abcdef"


def settings():
    return Settings("http://platform.test", "s" * 40, None, 5.0, 2.0, 1.0, 100)


def router(*deployments):
    return types.SimpleNamespace(
        model_list=[{"model_name": name, "litellm_params": {"model": model}} for name, model in deployments],
        fallbacks=[],
    )


ROUTER = router(("fake-small", "openai/fake-small"), ("claude", "anthropic/claude-x"), ("mixed", "openai/a"),
                ("mixed", "anthropic/b"), ("vllm", "hosted_vllm/llama"))


def answer(credentials=None, missing="platform"):
    return {"credentials": credentials or {}, "missing": missing}


def openai_credential(**extra):
    return {"id": CRED_ID, "scope": "member", "apiKey": SECRET, "apiBase": None, "apiVersion": None, **extra}


def book(handler):
    s = settings()
    return byok.CredentialBook(s, PlatformClient(s, transport=httpx.MockTransport(handler)))


def replying(body, seen=None):
    def handler(request):
        if seen is not None:
            seen.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200, json=body)
    return handler


async def test_the_owners_credential_serves_its_providers_calls_and_is_asked_once_per_ttl():
    seen = []
    b = book(replying(answer({"openai": openai_credential()}), seen))
    choice = await b.choose(KEY_ID, "fake-small", ["fake-small"], ROUTER)
    assert choice.byok and choice.kind == "openai"
    await b.choose(KEY_ID, "fake-small", ["fake-small"], ROUTER)
    assert seen == [("/api/internal/gateway/credentials", {"keyId": KEY_ID})]
    data = {"model": "fake-small"}
    byok.apply(choice, data)
    assert sent(data) == {"model": "fake-small", "api_key": SECRET}  # the deployment's base stays


async def test_a_provider_without_a_credential_falls_back_or_is_refused_as_the_owner_chose():
    allowed = book(replying(answer({"openai": openai_credential()}, "platform")))
    assert not (await allowed.choose(KEY_ID, "claude", ["claude"], ROUTER)).byok
    refusing = book(replying(answer({"openai": openai_credential()}, "refuse")))
    with pytest.raises(GatewayError) as refused:
        await refusing.choose(KEY_ID, "claude", ["claude"], ROUTER)
    assert refused.value.status == 403 and "Provider keys" in refused.value.message
    # No credential at all but refusing (the owner deleted theirs): refused too.
    with pytest.raises(GatewayError):
        await book(replying(answer({}, "refuse"))).choose(KEY_ID, "fake-small", ["fake-small"], ROUTER)


async def test_a_call_that_may_reach_two_providers_never_carries_the_owners_key():
    b = book(replying(answer({"openai": openai_credential(), "anthropic": openai_credential()}, "platform")))
    assert not (await b.choose(KEY_ID, "mixed", ["mixed"], ROUTER)).byok
    assert not (await b.choose(KEY_ID, "fake-small", ["fake-small", "claude"], ROUTER)).byok


async def test_an_openai_compatible_credential_brings_its_base_and_azure_its_version():
    compatible = {"id": CRED_ID, "scope": "key", "apiKey": SECRET, "apiBase": "https://vllm.example/v1", "apiVersion": None,
                  "hostAllowed": True}
    choice = await book(replying(answer({"openai_compatible": compatible}))).choose(KEY_ID, "vllm", ["vllm"], ROUTER)
    data = {}
    byok.apply(choice, data)
    assert sent(data) == {"api_key": SECRET, "api_base": "https://vllm.example/v1"}
    azure = {"id": CRED_ID, "scope": "key", "apiKey": SECRET, "apiBase": "https://x.openai.azure.com", "apiVersion": "2024-10-21"}
    data = {}
    byok.apply(byok.Choice(azure, "azure"), data)
    assert sent(data) == {"api_key": SECRET, "api_base": "https://x.openai.azure.com", "api_version": "2024-10-21"}


def billing_with(tmp_path, credentials_answer, seen):
    s = settings()

    def handler(request):
        body = json.loads(request.content)
        seen.append((request.url.path, body))
        if request.url.path == "/api/internal/gateway/credentials":
            return httpx.Response(200, json=credentials_answer)
        return httpx.Response(200, json={"holdId": "h1", "amountMicros": 80, "availableMicros": 920, "outcome": "placed"})

    outbox = Outbox(str(tmp_path / "o.db"), s.platform_url, "w" * 40, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    billing = TollgateBilling(s, outbox, PlatformClient(s, transport=httpx.MockTransport(handler)))
    billing.router = lambda: ROUTER
    return billing, outbox


def auth(flag=True):
    return UserAPIKeyAuth(api_key="tg-x", metadata={"tollgate_key_id": KEY_ID, "tollgate_byok": flag})


def request_data():
    return {"model": "fake-small", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5,
            "litellm_call_id": CALL_ID}


async def test_the_pre_call_hook_sends_the_secret_upstream_only(tmp_path):
    seen = []
    billing, _ = billing_with(tmp_path, answer({"openai": openai_credential()}), seen)
    out = await billing.async_pre_call_hook(auth(), None, request_data(), "acompletion")
    assert out["api_key"] == SECRET
    state = out["metadata"][STATE]
    assert state["credential"] == "byok" and state["credentialId"] == CRED_ID
    assert SECRET not in json.dumps(out["metadata"])
    assert SECRET not in json.dumps([body for _, body in seen])
    # A key whose owners use no provider keys: no question asked, the platform's credentials serve.
    seen.clear()
    out = await billing.async_pre_call_hook(auth(False), None, request_data(), "acompletion")
    assert "api_key" not in out and [path for path, _ in seen] == ["/api/internal/gateway/holds"]


async def test_a_refusal_reserves_nothing(tmp_path):
    seen = []
    billing, _ = billing_with(tmp_path, answer({}, "refuse"), seen)
    with pytest.raises(GatewayError):
        await billing.async_pre_call_hook(auth(), None, request_data(), "acompletion")
    assert [path for path, _ in seen] == ["/api/internal/gateway/credentials"]


async def test_the_providers_refusal_of_the_owners_key_is_answered_as_such_and_reported_free(tmp_path):
    import litellm

    seen = []
    billing, outbox = billing_with(tmp_path, answer({"openai": openai_credential()}), seen)
    out = await billing.async_pre_call_hook(auth(), None, request_data(), "acompletion")
    error = litellm.AuthenticationError(message="Incorrect API key provided", llm_provider="openai", model="fake-small")
    replaced = await billing.async_post_call_failure_hook(out, error, auth())
    assert isinstance(replaced, GatewayError) and replaced.status == 401
    assert "stored provider key" in replaced.message and "not charged" in replaced.message
    events = await outbox.find_async(KEY_ID, CALL_ID)
    assert [(e["status"], e["credential"], e["credentialId"], e["errorClass"]) for e in events] == [
        ("failure", "byok", CRED_ID, "AuthenticationError")]
    assert SECRET not in json.dumps(events)
    # A platform-served call's failure is LiteLLM's own answer, unchanged.


# -- issue 29's review -----------------------------------------------------------------------------------------------

def test_a_call_with_its_own_api_key_adds_no_deployment_to_the_router():
    """LiteLLM's router upserts a request's api_key/api_base as a deployment of the shared group (other tenants'
    calls were balanced onto it); with the guard installed the per-call deployment serves that call only."""
    import asyncio

    from litellm import Router
    from litellm.types.router import Deployment

    byok.install_router_guard()
    byok.install_router_guard()  # once: a second load wraps nothing twice
    shared = Router(model_list=[{"model_name": "fake-small", "litellm_params": {
        "model": "openai/fake-small", "api_key": "platform-key", "api_base": "https://platform.example/v1"}}])
    before = [d["model_info"]["id"] for d in shared.model_list]
    answer = asyncio.run(shared.acompletion(model="fake-small", messages=[{"role": "user", "content": "hi"}],
                                            api_key=SECRET, api_base="https://owner.example/v1", mock_response="ok"))
    assert answer.choices[0].message.content == "ok"
    assert [d["model_info"]["id"] for d in shared.model_list] == before
    assert SECRET not in json.dumps(shared.model_list, default=str)
    # The router's own upserts (an admin adding a model) still work.
    shared.upsert_deployment(Deployment(model_name="fake-large", litellm_params={"model": "openai/fake-large"}))
    assert len(shared.model_list) == 2


def router_with_bases(*deployments):
    return types.SimpleNamespace(fallbacks=[], model_list=[
        {"model_name": name, "litellm_params": {"model": model, **({"api_base": base} if base else {})}}
        for name, model, base in deployments])


async def test_an_owners_vendor_key_goes_to_that_vendors_api_only():
    bases = router_with_bases(("deepseek", "openai/deepseek-chat", "https://api.deepseek.com/v1"),
                              ("gpt", "openai/gpt-4o", None), ("gpt-official", "openai/gpt-4o", "https://api.openai.com/v1"),
                              ("claude", "anthropic/claude-x", "https://proxy.example/anthropic"))
    b = book(replying(answer({"openai": openai_credential(), "anthropic": openai_credential()})))
    assert not (await b.choose(KEY_ID, "deepseek", ["deepseek"], bases)).byok  # the platform's key serves it
    assert not (await b.choose(KEY_ID, "claude", ["claude"], bases)).byok
    assert (await b.choose(KEY_ID, "gpt", ["gpt"], bases)).kind == "openai"
    assert (await b.choose(KEY_ID, "gpt-official", ["gpt-official"], bases)).kind == "openai"
    refusing = book(replying(answer({"openai": openai_credential()}, "refuse")))
    with pytest.raises(GatewayError) as refused:
        await refusing.choose(KEY_ID, "deepseek", ["deepseek"], bases)
    assert refused.value.status_code == 403
    # An openai_compatible key brings its own base: it may serve an openai/ deployment anywhere.
    compatible = {"id": CRED_ID, "scope": "key", "apiKey": SECRET, "apiBase": "https://vllm.example/v1", "hostAllowed": True}
    assert (await book(replying(answer({"openai_compatible": compatible}))).choose(
        KEY_ID, "deepseek", ["deepseek"], bases)).kind == "openai_compatible"
    # Tests list the fake upstream as an official base; production lists none.
    test_settings = Settings("http://platform.test", "s" * 40, None, 5.0, 2.0, 1.0, 100,
                             byok_official_bases=("https://api.deepseek.com/v1",))
    lenient = byok.CredentialBook(test_settings, PlatformClient(test_settings, transport=httpx.MockTransport(
        replying(answer({"openai": openai_credential()})))))
    assert (await lenient.choose(KEY_ID, "deepseek", ["deepseek"], bases)).kind == "openai"


async def test_an_own_base_is_called_only_at_a_host_an_admin_allowed():
    own = {"id": CRED_ID, "scope": "key", "apiKey": SECRET, "apiBase": "https://rebinding.example/v1", "apiVersion": None}
    for credential in (own, {**own, "hostAllowed": False}):
        with pytest.raises(GatewayError) as refused:
            await book(replying(answer({"openai_compatible": credential}))).choose(KEY_ID, "vllm", ["vllm"], ROUTER)
        assert refused.value.status_code == 403 and refused.value.openai_code == "provider_host_not_allowed"
    allowed = await book(replying(answer({"openai_compatible": {**own, "hostAllowed": True}}))).choose(
        KEY_ID, "vllm", ["vllm"], ROUTER)
    assert allowed.kind == "openai_compatible"
    local = Settings("http://platform.test", "s" * 40, None, 5.0, 2.0, 1.0, 100, byok_strict_hosts=False)
    lenient = byok.CredentialBook(local, PlatformClient(local, transport=httpx.MockTransport(
        replying(answer({"openai_compatible": own})))))
    assert (await lenient.choose(KEY_ID, "vllm", ["vllm"], ROUTER)).kind == "openai_compatible"


async def test_a_host_refusal_reserves_nothing(tmp_path):
    seen = []
    own = {"id": CRED_ID, "scope": "key", "apiKey": SECRET, "apiBase": "http://169.254.169.254/v1", "apiVersion": None}
    billing, _ = billing_with(tmp_path, answer({"openai_compatible": own}), seen)
    with pytest.raises(GatewayError):
        await billing.async_pre_call_hook(auth(), None, {**request_data(), "model": "vllm"}, "acompletion")
    assert [path for path, _ in seen] == ["/api/internal/gateway/credentials"]


async def test_an_owners_server_error_body_is_never_echoed_and_feeds_no_shared_health(tmp_path):
    import litellm

    seen = []
    billing, outbox = billing_with(tmp_path, answer({"openai": openai_credential()}), seen)
    heard = []
    billing.routing.failed = lambda model, error: heard.append(("failed", model))
    billing.routing.succeeded = lambda model, *a, **k: heard.append(("succeeded", model))
    out = await billing.async_pre_call_hook(auth(), None, request_data(), "acompletion")
    error = litellm.InternalServerError(message="AccessKeyId=INTERNAL-METADATA", llm_provider="openai", model="fake-small")
    replaced = await billing.async_post_call_failure_hook(out, error, auth())
    assert isinstance(replaced, GatewayError) and replaced.status_code == 500
    assert "INTERNAL-METADATA" not in replaced.message and "500" in replaced.message
    [event] = await outbox.find_async(KEY_ID, CALL_ID)
    assert (event["status"], event["credential"]) == ("failure", "byok")
    # Its success does not revive a resting model for everyone either.
    await billing.async_log_success_event(success_kwargs(out, prompt=3, completion=4), types.SimpleNamespace(
        usage=types.SimpleNamespace(prompt_tokens_details=None)), None, None)
    assert heard == []
    # A platform-served call feeds the health as before.
    platform = await billing.async_pre_call_hook(auth(False), None, {**request_data(), "litellm_call_id": OTHER_CALL},
                                                 "acompletion")
    await billing.async_post_call_failure_hook(platform, error, auth(False))
    assert heard == [("failed", "fake-small")]


OTHER_CALL = "44444444-4444-4444-8444-444444444444"


def success_kwargs(out, prompt, completion):
    state = out["metadata"][STATE]
    return {
        "litellm_call_id": state["callId"],
        "litellm_params": {"metadata": out["metadata"]},
        "standard_logging_object": {
            "model_group": "fake-small", "prompt_tokens": prompt, "completion_tokens": completion,
            "metadata": {"user_api_key_auth_metadata": {"tollgate_key_id": KEY_ID}},
        },
    }


async def test_a_byok_call_is_never_marked_for_the_response_cache(tmp_path):
    seen = []
    billing, _ = billing_with(tmp_path, answer({"openai": openai_credential()}), seen)
    policy = {"accountId": "acct-1", "responseCache": {"ttlSeconds": 3600, "maxTemperature": 1}}
    key = UserAPIKeyAuth(api_key="tg-x", metadata={"tollgate_key_id": KEY_ID, "tollgate_byok": True, "tollgate_policy": policy})
    out = await billing.async_pre_call_hook(key, None, {**request_data(), "temperature": 0}, "acompletion")
    assert out["api_key"] == SECRET and out["cache"] == {"no-store": True} and out["caching"] is False
    platform = UserAPIKeyAuth(api_key="tg-x", metadata={"tollgate_key_id": KEY_ID, "tollgate_policy": policy})
    out = await billing.async_pre_call_hook(platform, None, {**request_data(), "temperature": 0,
                                                              "litellm_call_id": OTHER_CALL}, "acompletion")
    assert out["cache"]["use-cache"] is True


async def test_negative_reported_usage_is_reported_as_zero(tmp_path):
    seen = []
    billing, outbox = billing_with(tmp_path, answer({"openai": openai_credential()}), seen)
    out = await billing.async_pre_call_hook(auth(), None, request_data(), "acompletion")
    details = types.SimpleNamespace(cached_tokens=-50, cache_write_tokens=-1)
    await billing.async_log_success_event(success_kwargs(out, prompt=-1000, completion=-7), types.SimpleNamespace(
        usage=types.SimpleNamespace(prompt_tokens_details=details, completion_tokens_details=types.SimpleNamespace(
            reasoning_tokens=-3))), None, None)
    [event] = await outbox.find_async(KEY_ID, CALL_ID)
    assert [event[f] for f in ("promptTokens", "completionTokens", "cachedTokens", "cacheWriteTokens",
                               "reasoningTokens")] == [0, 0, 0, 0, 0]


def sent(data: dict) -> dict:
    """What a request sets (the deployment's own parameters apply.py clears are None: LiteLLM then sends none)."""
    return {k: v for k, v in data.items() if v is not None}


def test_nothing_of_the_platforms_deployment_goes_with_the_owners_key():
    """Found by review: LiteLLM's router sends a deployment's organization, extra headers and body (and Azure AD
    tokens) with a request's own api_key, to the owner's base. A real Router against two local servers."""
    import asyncio
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from litellm import Router

    seen: list = []

    class Upstream(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            seen.append({"port": self.server.server_address[1], "headers": dict(self.headers),
                         "body": json.loads(body or b"{}")})
            out = json.dumps({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                                           "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Upstream) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    platform_base, own_base = (f"http://127.0.0.1:{s.server_address[1]}/v1" for s in servers)
    byok.install_router_guard()
    router = Router(model_list=[{"model_name": "gpt", "litellm_params": {
        "model": "openai/gpt-4o", "api_key": "platform-key", "api_base": platform_base,
        "organization": "org-PLATFORM", "extra_headers": {"X-Platform-Secret": "psecret"},
        "extra_body": {"platform_body": "pb"}}}], num_retries=0)
    data = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}
    byok.apply(byok.Choice({"id": "c1", "apiKey": "owner-key", "apiBase": own_base}, "openai_compatible"), data)
    try:
        asyncio.run(router.acompletion(**data))
    finally:
        for server in servers:
            server.shutdown()
    assert [s["port"] for s in seen] == [servers[1].server_address[1]]
    headers = {k.lower(): v for k, v in seen[0]["headers"].items()}
    assert headers["authorization"] == "Bearer owner-key"
    assert "openai-organization" not in headers and "x-platform-secret" not in headers
    assert "platform_body" not in seen[0]["body"]


def test_a_vendor_key_follows_where_litellm_would_really_send_the_call(monkeypatch):
    """Found by review: a deployment named by base_url, or one with no base while the gateway's environment moves
    the vendor's default, took the owner's OpenAI key to another server."""
    class FakeRouter:
        model_list = [{"model_name": "by-base-url", "litellm_params": {"model": "openai/m", "base_url": "https://other.example/v1"}},
                      {"model_name": "default", "litellm_params": {"model": "openai/gpt-4o"}}]

    assert byok._deployment_bases(FakeRouter(), ["by-base-url"]) == ["https://other.example/v1"]
    assert byok._deployment_bases(FakeRouter(), ["default"]) == [None]
    monkeypatch.setenv("OPENAI_BASE_URL", "https://proxy.example/v1")
    assert byok._deployment_bases(FakeRouter(), ["default"]) == ["https://proxy.example/v1"]
    assert not byok.official_base("openai", "https://proxy.example/v1")
