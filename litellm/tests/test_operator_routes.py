"""The plugin's /tollgate/* routes answer the gateway secret and the master key only, in OpenAI's error shape."""

import httpx
import pytest
from fastapi import FastAPI
from litellm.proxy._types import ProxyException
from litellm.proxy.proxy_server import openai_exception_handler

from tollgate_litellm.billing import TollgateBilling
from tollgate_litellm.outbox import Outbox
from tollgate_litellm.platform import PlatformClient
from tollgate_litellm.routes import mount
from tollgate_litellm.settings import Settings

SECRET = "s" * 40
MASTER = "sk-master-key"
PATHS = [("GET", "/tollgate/outbox/stats"), ("GET", "/tollgate/leases/stats"), ("GET", "/tollgate/metrics"),
         ("GET", "/tollgate/outbox/dead"), ("POST", "/tollgate/outbox/requeue"), ("GET", "/tollgate/auth/stats"),
         ("GET", "/tollgate/outbox/events?keyId=k&callId=c"), ("POST", "/tollgate/outbox/pause"),
         ("POST", "/tollgate/outbox/resume"), ("GET", "/tollgate/routing/health")]


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("TOLLGATE_URL", "http://platform.test")
    monkeypatch.setenv("TOLLGATE_GATEWAY_SECRET", SECRET)
    settings = Settings("http://platform.test", SECRET, MASTER, 5.0, 2.0, 1.0, 100)
    outbox = Outbox(str(tmp_path / "o.db"), settings.platform_url, "w" * 40,
                    transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    app = FastAPI()
    app.add_exception_handler(ProxyException, openai_exception_handler)  # as on LiteLLM's own app
    mount(app, TollgateBilling(settings, outbox, PlatformClient(settings)))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test")


@pytest.mark.parametrize("method,path", PATHS)
@pytest.mark.parametrize("bearer", [None, "", "tg_an_app_key", SECRET[:-1], SECRET + "s", MASTER.upper()])
async def test_anyone_else_gets_401_in_openai_s_shape(client, method, path, bearer):
    headers = {"authorization": f"Bearer {bearer}"} if bearer is not None else {}
    response = await client.request(method, path, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"message": "unauthorized", "type": "auth_error", "param": None, "code": "401"}}


@pytest.mark.parametrize("method,path", PATHS)
@pytest.mark.parametrize("bearer", [SECRET, MASTER])
async def test_the_gateway_secret_and_the_master_key_are_served(client, method, path, bearer):
    response = await client.request(method, path, headers={"authorization": f"Bearer {bearer}"})
    assert response.status_code == 200
