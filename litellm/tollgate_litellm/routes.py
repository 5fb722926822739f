"""The plugin's own routes on LiteLLM's app (/tollgate/*): outbox, lease, auth and routing health stats, outbox control,
metrics — for the platform (gateway secret) and operators (master key)."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from .auth import authenticator
from .billing import TollgateBilling
from .errors import GatewayError
from .metrics import GatewayCollector, enable_litellm_prometheus, registry_for, render
from .settings import Settings

logger = logging.getLogger("tollgate.routes")


def operator_only(settings: Settings) -> Callable[[Request], None]:
    """A FastAPI dependency: the bearer must be the gateway secret or the master key (compared in constant time,
    with both always compared)."""
    secrets = [secret.encode() for secret in (settings.gateway_secret, settings.master_key) if secret]

    def require_operator(request: Request) -> None:
        presented = request.headers.get("authorization", "").removeprefix("Bearer ").strip().encode()
        matches = [hmac.compare_digest(presented, secret) for secret in secrets]
        if not any(matches):
            raise GatewayError(401, "unauthorized", "auth_error").as_proxy_exception()

    return require_operator


def mount(app: Any, handler: TollgateBilling) -> None:
    """Adds the routes to LiteLLM's app (the plugin is imported during the proxy's startup), starts delivering usage
    events, and has the leases returned at shutdown."""
    outbox, leases = handler.outbox, handler.leases
    if handler.settings.litellm_prometheus:
        enable_litellm_prometheus()
    registry = registry_for(GatewayCollector(outbox, leases, authenticator))

    async def outbox_stats():
        return await outbox.stats_async()

    async def outbox_events(keyId: str = Query(...), callId: str = Query(...)):
        return {"events": await outbox.find_async(keyId, callId)}

    async def outbox_dead(limit: int = Query(100, ge=1, le=1000)):
        return {"events": await outbox.dead_async(limit)}

    async def outbox_requeue():
        return {"requeued": await outbox.requeue_dead_async(), **(await outbox.stats_async())}

    async def outbox_pause():
        outbox.paused = True
        return {"paused": True, **(await outbox.stats_async())}

    async def outbox_resume():
        outbox.paused = False
        if outbox._wake is not None:
            outbox._wake.set()
        return {"paused": False, **(await outbox.stats_async())}

    async def lease_stats():
        return leases.stats()

    async def auth_stats():
        return authenticator().stats()

    async def routing_health():
        # Which model groups this process rests now (routing's breaker), for Admin → Model health.
        routing = handler.routing
        return {"windowSeconds": routing.settings.window_seconds, "cooldownSeconds": routing.settings.cooldown_seconds,
                "models": routing.health.snapshot()}

    async def metrics():
        await outbox.stats_async()  # read off the event loop; the collector renders this snapshot
        return Response(render(registry), media_type="text/plain; version=0.0.4; charset=utf-8")

    operator = [Depends(operator_only(handler.settings))]
    for method, path, endpoint in (
        ("GET", "/tollgate/leases/stats", lease_stats),
        ("GET", "/tollgate/auth/stats", auth_stats),
        ("GET", "/tollgate/routing/health", routing_health),
        ("GET", "/tollgate/metrics", metrics),
        ("GET", "/tollgate/outbox/stats", outbox_stats),
        ("POST", "/tollgate/outbox/pause", outbox_pause),
        ("POST", "/tollgate/outbox/resume", outbox_resume),
        ("GET", "/tollgate/outbox/events", outbox_events),
        ("GET", "/tollgate/outbox/dead", outbox_dead),
        ("POST", "/tollgate/outbox/requeue", outbox_requeue),
    ):
        app.add_api_route(path, endpoint, methods=[method], dependencies=operator, include_in_schema=False)
    _return_leases_at_shutdown(handler)
    try:
        asyncio.get_running_loop()
        outbox.start()  # resume delivery of events left from before a restart
    except RuntimeError:
        logger.info("no running loop at import: outbox delivery starts with the first call")


def _return_leases_at_shutdown(handler: TollgateBilling) -> None:
    """LiteLLM's lifespan calls proxy_server.proxy_shutdown_event by its module name at shutdown: the leases go back
    first (what no call drew returns to the balance at once instead of at expiry)."""
    from litellm.proxy import proxy_server

    original = proxy_server.proxy_shutdown_event
    if getattr(original, "tollgate", False):
        return

    async def shutdown(*args, **kwargs):
        try:
            await asyncio.wait_for(handler.leases.return_all(), timeout=5)
        except Exception:
            logger.exception("could not return the leases at shutdown (they expire on the platform)")
        return await original(*args, **kwargs)

    shutdown.tollgate = True  # type: ignore[attr-defined]
    proxy_server.proxy_shutdown_event = shutdown
