"""
LiteLLM custom auth: every request's key is verified by the Tollgate platform, cached for a few seconds.

Wired in config.yaml as `general_settings.custom_auth: tollgate_auth.user_api_key_auth`. The answer becomes
LiteLLM's UserAPIKeyAuth (models, RPM/TPM limits, expiry), so LiteLLM enforces those itself.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from fastapi import Request
from litellm.proxy._types import LitellmUserRoles, UserAPIKeyAuth

from .cache import REFRESH_AHEAD, TTLCache
from .errors import GatewayError, forbidden, unauthorized, unavailable
from .gate import ASSIGNED_CALL_ID, find_route
from .leases import shared_book
from .platform import PlatformClient, PlatformUnavailable
from .settings import Settings
from .shared import SharedVerdicts

logger = logging.getLogger("tollgate.auth")

# LiteLLM treats an empty model list as "all models": a key whose models are all disabled gets this instead.
NO_MODELS = "tollgate:no-model-enabled"


def _values(headers: Any, name: str) -> list[str]:
    """Every value of a header (Starlette's Headers keep repeats; a plain mapping has one)."""
    return list(headers.getlist(name)) if hasattr(headers, "getlist") else [headers[name]]


def key_fingerprint(key: str) -> str:
    """What LiteLLM logs and counts rate limits by: a hash, never the key itself."""
    return "tg-" + hashlib.sha256(key.encode()).hexdigest()


class Authenticator:
    def __init__(
        self, settings: Settings, client: PlatformClient | None = None, shared: SharedVerdicts | None = None
    ) -> None:
        self.settings = settings
        self.client = client or PlatformClient(settings)
        # Valid answers are reloaded ahead of expiry (no call of a key in use waits for the platform); refusals are not.
        self.cache: TTLCache[dict[str, Any]] = TTLCache(
            settings.cache_max_entries, refresh_ahead=REFRESH_AHEAD, refreshable=lambda verdict: bool(verdict.get("valid"))
        )
        # Replicas share answers through Redis when there is one (REDIS_HOST), bounded by the same TTL.
        self.shared = shared
        self.platform_calls = 0

    async def authenticate(
        self, path: str, api_key: str | None, headers: Any = None, method: str = "POST", assigned_call_id: str | None = None
    ) -> UserAPIKeyAuth:
        if not api_key:
            raise unauthorized("Missing API key. Send it as 'Authorization: Bearer tg_…'.", code="missing_api_key")
        if self.settings.master_key and hmac.compare_digest(api_key.encode(), self.settings.master_key.encode()):
            return UserAPIKeyAuth(api_key=api_key, user_role=LitellmUserRoles.PROXY_ADMIN, key_alias="master")
        # The gate (gate.py) refuses these before LiteLLM runs; checked again here so auth never depends on it.
        try:
            route = find_route(method, path)
        except GatewayError:  # an app route's path with another method (405)
            route = None
        if route is None:
            raise forbidden(f"{path} is not available with Tollgate API keys.", code="route_not_allowed")
        # The call id is billing's idempotency key: the gateway assigns it, clients may not choose it (empty or not).
        # The one header accepted is the gate's own (gate.assign_call_id: its value is in the request's scope).
        if headers is not None and "x-litellm-call-id" in headers and (
            assigned_call_id is None or _values(headers, "x-litellm-call-id") != [assigned_call_id]
        ):
            raise forbidden("The x-litellm-call-id header is not accepted: Tollgate assigns call ids.", code="call_id_not_allowed")
        fingerprint = key_fingerprint(api_key)
        verdict = await self.cache.get_or_load(fingerprint, lambda: self._load(api_key, fingerprint))
        if not verdict.get("valid"):
            raise unauthorized(str(verdict.get("message") or "Invalid API key."), code=_reason_code(verdict))
        return to_user_api_key_auth(fingerprint, verdict["key"])

    async def _load(self, api_key: str, fingerprint: str) -> tuple[dict[str, Any], float]:
        last = self.cache.stale(fingerprint)
        last_key_id = (last or {}).get("key", {}).get("id") if (last or {}).get("valid") else None
        stored: tuple[dict[str, Any], float] | None = None
        if self.shared is not None:
            stored = await self.shared.get(fingerprint)
            # A valid one with no more left than the refresh window would be due again at once: the platform is asked
            # instead (and its answer stored for the other replicas). A refusal is always taken: another replica
            # learned the key may no longer spend, and the platform may be the part that is down.
            if stored is not None and (
                not stored[0].get("valid") or stored[1] > self.settings.auth_cache_ttl * REFRESH_AHEAD
            ):
                verdict, left = stored
                self._retire_if_refused(last_key_id, verdict)
                return verdict, left
        try:
            self.platform_calls += 1
            verdict = await self.client.verify_key(api_key)
        except PlatformUnavailable as error:
            # A shared answer passed over above for its short time left still holds for that time.
            if stored is not None:
                return stored
            # Bounded availability (clause 37): a warm key whose lease is still valid here keeps being served on
            # its last answer until the lease is spent or lapses; everything else fails closed.
            book = shared_book()
            if last_key_id and book is not None and book.has_live_lease(last_key_id):
                logger.warning("platform unavailable: key %s served from its lease", last.get("key", {}).get("prefix"))
                return last, min(1.0, self.settings.auth_cache_ttl)
            logger.warning("platform unavailable during key check: %s", error)
            raise unavailable(
                "Tollgate could not verify this API key right now, so the request was not served. Retry shortly."
            ) from error
        self._retire_if_refused(last_key_id, verdict)
        ttl = self.settings.auth_cache_ttl if verdict.get("valid") else self.settings.auth_negative_ttl
        if self.shared is not None:
            await self.shared.put(fingerprint, verdict, ttl)
        return verdict, ttl

    @staticmethod
    def _retire_if_refused(last_key_id: str | None, verdict: dict[str, Any]) -> None:
        """Revoked, expired or suspended: the key's lease goes back now, not when it turns idle."""
        if last_key_id and not verdict.get("valid"):
            book = shared_book()
            if book is not None:
                book.retire_key(last_key_id, str(verdict.get("reason") or "invalid"))

    def stats(self) -> dict[str, Any]:
        return {
            "platformCalls": self.platform_calls,
            "localHits": self.cache.hits,
            # Calls that waited for an answer (none cached, or it expired), reloads begun ahead of expiry, and calls
            # served just past expiry because that reload had not answered yet (see TTLCache).
            "localMisses": self.cache.misses,
            "refreshes": self.cache.refreshes,
            "graceHits": self.cache.grace_hits,
            "shared": self.shared.stats() if self.shared is not None else None,
        }


def _reason_code(verdict: dict[str, Any]) -> str:
    return {
        "revoked": "api_key_revoked",
        "expired": "api_key_expired",
        "owner_suspended": "account_suspended",
    }.get(str(verdict.get("reason")), "invalid_api_key")


def to_user_api_key_auth(fingerprint: str, key: dict[str, Any]) -> UserAPIKeyAuth:
    models = list(key.get("allowedModels") or []) or [NO_MODELS]
    return UserAPIKeyAuth(
        api_key=fingerprint,
        token=fingerprint,
        key_alias=key.get("name"),
        key_name=f"{key.get('prefix')}…",
        user_id=key.get("userId"),
        user_email=key.get("userEmail"),
        user_role=LitellmUserRoles.INTERNAL_USER,
        models=models,
        rpm_limit=key.get("rpmLimit"),
        tpm_limit=key.get("tpmLimit"),
        expires=key.get("expiresAt"),
        metadata={
            "tollgate_key_id": key.get("id"),
            "tollgate_user_id": key.get("userId"),
            "tollgate_key_prefix": key.get("prefix"),
            # lease or hold (plans counting requests per day are billed per call), and the epoch a lease must match.
            "tollgate_billing": key.get("billing") or "hold",
            "tollgate_lease_epoch": key.get("leaseEpoch") or "",
            # The account's policies for its calls: the response cache and the PII guardrails (billing.py).
            "tollgate_policy": key.get("policy") or {},
            # The owners use their own provider keys: the pre-call hook asks which serve the call (credentials.py).
            "tollgate_byok": bool(key.get("byok")),
        },
    )


_authenticator: Authenticator | None = None


def authenticator() -> Authenticator:
    global _authenticator
    if _authenticator is None:
        settings = Settings.from_env()
        _authenticator = Authenticator(settings, shared=SharedVerdicts.from_settings(settings))
    return _authenticator


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    """The function LiteLLM calls (keep this name and signature)."""
    return await authenticator().authenticate(
        request.url.path, api_key, request.headers, request.method, assigned_call_id=request.scope.get(ASSIGNED_CALL_ID)
    )
