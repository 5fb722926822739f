"""The control plane's internal API, as the gateway calls it (gateway secret, short timeouts, keep-alive)."""

from __future__ import annotations

from typing import Any

import httpx

from .settings import Settings


class PlatformUnavailable(Exception):
    """The platform could not be reached or answered with a server error: fail closed."""


class PlatformUnreachable(PlatformUnavailable):
    """No connection could be made: the request certainly did not reach the platform (nothing it asked happened)."""


def _unavailable(error: httpx.HTTPError) -> PlatformUnavailable:
    # A refused, failed or timed-out connect, or no free connection in the pool, never sent the request; a timeout
    # waiting for the answer, or a dropped answer, may have been acted on.
    never_sent = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
    kind = PlatformUnreachable if isinstance(error, never_sent) else PlatformUnavailable
    return kind(type(error).__name__)


def connect_timed_out(error: PlatformUnavailable) -> bool:
    """The request was never sent because its connect timed out: not a refusal (the platform down) and not a full pool
    (this process overloaded), but a connect that was late, which a loaded host's own event loop can make."""
    return isinstance(error, PlatformUnreachable) and isinstance(error.__cause__, httpx.ConnectTimeout)


class PlatformClient:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._settings = settings
        self._client = httpx.AsyncClient(
            base_url=settings.platform_url,
            timeout=httpx.Timeout(settings.platform_timeout),
            headers={"authorization": f"Bearer {settings.gateway_secret}", "user-agent": "tollgate-litellm"},
            # An idle connection is dropped after 4 s, before the platform closes it: Node's HTTP server (`next
            # start`, self-hosted) closes one idle for 5 s, httpx's default keeps one 5 s, and a request sent on a
            # connection as the server closes it is lost (a hold or a lease grant then fails as if the platform were
            # down). Load balancers in front of a hosted platform keep theirs longer (60 s and more).
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=4.0),
            transport=transport,
        )

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.post(path, json=body)
        except httpx.HTTPError as error:
            raise _unavailable(error) from error
        if response.status_code >= 500 or response.status_code in (401, 404):
            # 401/404 here mean a misconfigured gateway (wrong secret or URL), not a bad key.
            raise PlatformUnavailable(f"platform answered HTTP {response.status_code} on {path}")
        try:
            data = response.json()
        except ValueError as error:
            raise PlatformUnavailable(f"platform answered non-JSON on {path}") from error
        if response.status_code >= 400:
            raise PlatformUnavailable(f"platform refused the request on {path}: {data}")
        return data

    async def get(self, path: str) -> dict[str, Any]:
        """A GET of an internal route (the routing definitions); errors as post's."""
        try:
            response = await self._client.get(path)
        except httpx.HTTPError as error:
            raise _unavailable(error) from error
        if response.status_code >= 400:
            raise PlatformUnavailable(f"platform answered HTTP {response.status_code} on {path}")
        try:
            return response.json()
        except ValueError as error:
            raise PlatformUnavailable(f"platform answered non-JSON on {path}") from error

    async def request(self, path: str, body: dict[str, Any], request_id: str | None = None) -> httpx.Response:
        """A raw POST for callers that map the platform's statuses themselves (network errors: PlatformUnavailable).
        request_id (the call id) becomes the platform's request id, so one call reads the same in both logs."""
        try:
            headers = {"x-request-id": request_id} if request_id else None
            return await self._client.post(path, json=body, headers=headers)
        except httpx.HTTPError as error:
            raise _unavailable(error) from error

    async def verify_key(self, key: str) -> dict[str, Any]:
        # A key check changes nothing, so one that timed out or lost its connection is asked once more:
        # - under a burst of new connections on a cold key, this process's own event loop can be what was late: a fresh
        #   run of `npm test` on a loaded 2-core host saw a connect to the platform time out while 1,000 calls arrived
        #   at once, and all 1,000, waiting on that one check, were refused. By the second try those calls are parked
        #   on it and the loop is free;
        # - a kept-alive connection the platform closed as it was reused (its idle timeout and the pool's race) drops
        #   the request (ReadError, RemoteProtocolError): the next run saw that refuse a burst too.
        # A refused connection or an error answer is not asked again: the platform is down or failing, and the caller
        # fails closed at once.
        try:
            return await self.post("/api/internal/gateway/auth", {"key": key})
        except PlatformUnavailable as error:
            cause = error.__cause__
            if not isinstance(cause, httpx.TransportError) or isinstance(cause, httpx.ConnectError):
                raise
            return await self.post("/api/internal/gateway/auth", {"key": key})

    async def aclose(self) -> None:
        await self._client.aclose()
