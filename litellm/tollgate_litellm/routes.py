"""Gateway-side routes of the plugin: outbox stats and replay, for the platform (gateway secret) and operators."""

from __future__ import annotations

import asyncio
import hmac
import logging

from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response

from .billing import TollgateBilling
from .gate import install as install_gate

logger = logging.getLogger("tollgate.routes")


def _authorized(request: Request, handler: TollgateBilling) -> bool:
    presented = request.headers.get("authorization", "").removeprefix("Bearer ").strip().encode()
    allowed = [handler.settings.gateway_secret, handler.settings.master_key or ""]
    return any(secret and hmac.compare_digest(presented, secret.encode()) for secret in allowed)


def mount(handler: TollgateBilling) -> None:
    """Adds the routes to LiteLLM's FastAPI app (it is imported during the proxy's startup) and starts delivery."""
    try:
        from litellm.proxy.proxy_server import app
    except Exception:  # imported outside the proxy (tests)
        return

    async def stats(request: Request):
        if not _authorized(request, handler):
            return JSONResponse({"error": {"message": "unauthorized", "type": "auth_error"}}, status_code=401)
        return handler.outbox.stats()

    async def events(request: Request, keyId: str = Query(...), callId: str = Query(...)):
        if not _authorized(request, handler):
            return JSONResponse({"error": {"message": "unauthorized", "type": "auth_error"}}, status_code=401)
        return {"events": handler.outbox.find(keyId, callId)}

    async def pause(request: Request):
        if not _authorized(request, handler):
            return JSONResponse({"error": {"message": "unauthorized", "type": "auth_error"}}, status_code=401)
        handler.outbox.paused = True
        return {"paused": True, **handler.outbox.stats()}

    async def dead(request: Request, limit: int = Query(100, ge=1, le=1000)):
        if not _authorized(request, handler):
            return JSONResponse({"error": {"message": "unauthorized", "type": "auth_error"}}, status_code=401)
        return {"events": handler.outbox.dead(limit)}

    async def requeue(request: Request):
        if not _authorized(request, handler):
            return JSONResponse({"error": {"message": "unauthorized", "type": "auth_error"}}, status_code=401)
        return {"requeued": handler.outbox.requeue_dead(), **handler.outbox.stats()}

    async def resume(request: Request):
        if not _authorized(request, handler):
            return JSONResponse({"error": {"message": "unauthorized", "type": "auth_error"}}, status_code=401)
        handler.outbox.paused = False
        if handler.outbox._wake is not None:
            handler.outbox._wake.set()
        return {"paused": False, **handler.outbox.stats()}

    async def lease_stats(request: Request):
        if not _authorized(request, handler):
            return JSONResponse({"error": {"message": "unauthorized", "type": "auth_error"}}, status_code=401)
        return handler.leases.stats()

    app.add_api_route("/tollgate/leases/stats", lease_stats, methods=["GET"], include_in_schema=False)

    async def auth_stats(request: Request):
        if not _authorized(request, handler):
            return JSONResponse({"error": {"message": "unauthorized", "type": "auth_error"}}, status_code=401)
        from .auth import authenticator

        return authenticator().stats()

    app.add_api_route("/tollgate/auth/stats", auth_stats, methods=["GET"], include_in_schema=False)

    from .auth import authenticator
    from .metrics import GatewayCollector, enable_litellm_prometheus, registry_for, render

    if handler.settings.litellm_prometheus:
        enable_litellm_prometheus()

    registry = registry_for(GatewayCollector(handler.outbox, handler.leases, authenticator))

    async def metrics(request: Request):
        if not _authorized(request, handler):
            return JSONResponse({"error": {"message": "unauthorized", "type": "auth_error"}}, status_code=401)
        return Response(render(registry), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.add_api_route("/tollgate/metrics", metrics, methods=["GET"], include_in_schema=False)
    app.add_api_route("/tollgate/outbox/stats", stats, methods=["GET"], include_in_schema=False)
    app.add_api_route("/tollgate/outbox/pause", pause, methods=["POST"], include_in_schema=False)
    app.add_api_route("/tollgate/outbox/resume", resume, methods=["POST"], include_in_schema=False)
    app.add_api_route("/tollgate/outbox/events", events, methods=["GET"], include_in_schema=False)
    app.add_api_route("/tollgate/outbox/dead", dead, methods=["GET"], include_in_schema=False)
    app.add_api_route("/tollgate/outbox/requeue", requeue, methods=["POST"], include_in_schema=False)
    _return_leases_at_shutdown(handler)
    # Every request passes the gate (gate.py) before LiteLLM sees it.
    if install_gate(app, handler.settings.master_key, handler.settings.max_audio_bytes):
        logger.info("request gate installed in front of LiteLLM")
    try:
        asyncio.get_running_loop()
        handler.outbox.start()  # resume delivery of events left from before a restart
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
