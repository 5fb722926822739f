"""
Bring your own provider key (BYOK, issue 29): which provider credentials serve a key's call.

The platform answers per key (POST /api/internal/gateway/credentials: the resolved credential per provider, key →
member → organization, and whether a provider with none falls back to the platform's credentials or is refused).
The answer stays in this process's memory for the auth TTL: never in Redis (shared.py holds auth answers only), a
log line, a metric label, the request's metadata (LiteLLM logs it) or the outbox. The pre-call hook decides before
anything is reserved (a refusal reserves nothing) and sets data["api_key"] (and api_base / api_version) last, after
the reservation: LiteLLM's router passes a request's api_key over the deployment's and builds a client for it.
"""

from __future__ import annotations

import contextvars
import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litellm.router_utils.clientside_credential_handler import (
    _ADMIN_CONFIG_FIELDS_TO_CLEAR_ON_BASE_OVERRIDE as ADMIN_FIELDS,
)

from .cache import REFRESH_AHEAD, TTLCache
from .errors import GatewayError, unavailable
from .platform import PlatformClient, PlatformUnavailable
from .settings import Settings

logger = logging.getLogger("tollgate.credentials")

# LiteLLM's provider of a deployment → the credential kinds that may serve it, in order.
PROVIDER_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "openai": ("openai", "openai_compatible"),
    "text-completion-openai": ("openai", "openai_compatible"),
    "azure": ("azure",),
    "azure_text": ("azure",),
    "anthropic": ("anthropic",),
    "gemini": ("gemini",),
    "hosted_vllm": ("openai_compatible",),
    "openai_like": ("openai_compatible",),
    "ollama": ("openai_compatible",),
    "ollama_chat": ("openai_compatible",),
}
# Credential kinds whose own base URL replaces the deployment's.
OWN_BASE = frozenset({"azure", "openai_compatible"})
# A vendor's key goes to its own API only: a deployment with another api_base (openai/… at api.deepseek.com) is not
# served with it (issue 29's review).
OFFICIAL_HOSTS: dict[str, str] = {
    "openai": "api.openai.com",
    "anthropic": "api.anthropic.com",
    "gemini": "generativelanguage.googleapis.com",
}


@dataclass(frozen=True)
class Choice:
    """What serves a call: the platform's credentials (credential None), or one of the owner's."""

    credential: dict[str, Any] | None = None
    kind: str = ""

    @property
    def byok(self) -> bool:
        return self.credential is not None


PLATFORM = Choice()


def deployment_provider(router: Any, model_group: str) -> str | None:
    """The LiteLLM provider of every deployment of a model group (None when they differ or none is known)."""
    import litellm

    providers: set[str] = set()
    for deployment in getattr(router, "model_list", None) or []:
        if not isinstance(deployment, dict) or deployment.get("model_name") != model_group:
            continue
        params = deployment.get("litellm_params") or {}
        try:
            _, provider, _, _ = litellm.get_llm_provider(
                model=str(params.get("model") or ""), custom_llm_provider=params.get("custom_llm_provider"))
        except Exception:
            return None
        providers.add(str(provider))
    return providers.pop() if len(providers) == 1 else None


def _deployment_bases(router: Any, models: list[str]) -> list[str | None]:
    """The api_base of every deployment the call may reach (None: the provider's default)."""
    bases: list[str | None] = []
    for deployment in getattr(router, "model_list", None) or []:
        if not isinstance(deployment, dict) or deployment.get("model_name") not in models:
            continue
        params = deployment.get("litellm_params") or {}
        base = params.get("api_base") or params.get("base_url") or None
        if isinstance(base, str) and base.startswith("os.environ/"):
            base = os.environ.get(base.removeprefix("os.environ/")) or None
        if base is None:
            # No base of its own: LiteLLM's default, which the gateway's environment or litellm.api_base may move
            # off the vendor's API (found by review: an owner's OpenAI key then went to that server).
            base = _default_base(str(params.get("model") or "").split("/", 1)[0])
        bases.append(base)
    return bases


# Where LiteLLM sends a provider's calls when a deployment names no base (besides litellm.api_base).
DEFAULT_BASE_ENV = {"openai": ("OPENAI_BASE_URL", "OPENAI_API_BASE"), "text-completion-openai": ("OPENAI_BASE_URL",
                    "OPENAI_API_BASE"), "anthropic": ("ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL"),
                    "gemini": ("GEMINI_API_BASE",)}


def _default_base(provider: str) -> str | None:
    import litellm

    configured = getattr(litellm, "api_base", None)
    if configured:
        return str(configured)
    for name in DEFAULT_BASE_ENV.get(provider, ()):
        if os.environ.get(name):
            return os.environ[name]
    return None


def official_base(kind: str, base: str | None, extra: tuple[str, ...] = ()) -> bool:
    """A deployment's base is the credential's vendor's own API (or none: LiteLLM's default for it)."""
    if base is None:
        return True
    if base.rstrip("/") in extra:
        return True
    parts = urlsplit(base)
    return parts.scheme == "https" and (parts.hostname or "").lower() == OFFICIAL_HOSTS.get(kind)


def call_provider(router: Any, models: list[str]) -> str | None:
    """The one provider every model the call may reach (itself and its fallbacks) is served by, else None: an owner's
    key is never sent to another provider's fallback."""
    providers = {deployment_provider(router, model) for model in models}
    return providers.pop() if len(providers) == 1 else None


class CredentialBook:
    def __init__(self, settings: Settings, client: PlatformClient) -> None:
        self.settings = settings
        self.client = client
        self.cache: TTLCache[dict[str, Any]] = TTLCache(settings.cache_max_entries, refresh_ahead=REFRESH_AHEAD)
        self.platform_calls = 0

    async def answer(self, key_id: str) -> dict[str, Any]:
        return await self.cache.get_or_load(key_id, lambda: self._load(key_id))

    async def _load(self, key_id: str) -> tuple[dict[str, Any], float]:
        try:
            self.platform_calls += 1
            answer = await self.client.post("/api/internal/gateway/credentials", {"keyId": key_id})
        except PlatformUnavailable as error:
            last = self.cache.stale(key_id)
            if last is not None:  # as the auth answer: the last one serves while the platform is away
                return last, min(1.0, self.settings.auth_cache_ttl)
            logger.warning("platform unavailable during a credentials check: %s", type(error).__name__)
            raise unavailable("Tollgate could not look up this key's provider credentials right now. Retry shortly.") from error
        return answer, self.settings.auth_cache_ttl

    async def choose(self, key_id: str, model: str, models: list[str], router: Any) -> Choice:
        """The credentials that serve this call, or a 403 (before anything is reserved) when the owner refuses the
        platform's and has none usable for its provider."""
        answer = await self.answer(key_id)
        credentials = answer.get("credentials") or {}
        refuse = answer.get("missing") == "refuse"
        if not credentials and not refuse:
            return PLATFORM
        provider = call_provider(router, models)
        for kind in PROVIDER_CREDENTIALS.get(provider or "", ()):
            credential = credentials.get(kind)
            if not (isinstance(credential, dict) and credential.get("apiKey")):
                continue
            if kind in OWN_BASE and credential.get("apiBase"):
                self._check_host(credential, model)
            elif kind in OFFICIAL_HOSTS and not all(
                    official_base(kind, base, self.settings.byok_official_bases)
                    for base in _deployment_bases(router, models)):
                continue  # the deployment is another vendor's API: never sent this vendor's key
            return Choice(credential, kind)
        if not refuse:
            return PLATFORM
        raise GatewayError(
            403,
            f"This key's owner serves calls with their own provider keys only, and has no usable key for the provider "
            f"of {model!r}. Add one under Provider keys (or allow the platform's keys there); nothing was charged.",
            "permission_error",
            code="provider_key_missing",
        )


    def _check_host(self, credential: dict, model: str) -> None:
        """In production an own base URL is called only at a host an admin allowed (the platform's answer says so): a
        base checked when stored can redirect or resolve elsewhere by call time. A refusal reserves nothing."""
        if not self.settings.byok_strict_hosts or credential.get("hostAllowed") is True:
            return
        raise GatewayError(
            403,
            f"This key's provider key for {model!r} names its own base URL, and its host is not one an admin allowed "
            f"(Admin → Operator → provider hosts). Ask an admin to allow it, or remove that provider key; nothing was "
            f"charged.",
            "permission_error",
            code="provider_host_not_allowed",
        )


def apply(choice: Choice, data: dict) -> None:
    """Sends the call with the owner's credential (the last step of the pre-call hook, after the reservation)."""
    if not choice.byok:
        return
    credential = choice.credential or {}
    # Nothing of the platform's deployment goes with the owner's credential: LiteLLM's router sends the deployment's
    # own parameters (organization, extra headers and body, Azure AD tokens, cloud credentials…) with a request's
    # api_key unless the request sets them; every one is set to nothing here (LiteLLM's own list of them, plus the
    # client headers it does not name).
    for field in (*ADMIN_FIELDS, "default_headers", "headers"):
        if field not in ("api_key", "api_base", "base_url", "api_version"):
            data[field] = None
    data["api_key"] = credential["apiKey"]
    if choice.kind in OWN_BASE and credential.get("apiBase"):
        data["api_base"] = credential["apiBase"]
    if choice.kind == "azure" and credential.get("apiVersion"):
        data["api_version"] = credential["apiVersion"]


def refused_by_provider(error: Exception) -> bool:
    """The provider refused the credential itself (401/403), not the request."""
    status = getattr(error, "status_code", None)
    return status in (401, 403) and not isinstance(error, GatewayError)


def upstream_error(error: Exception) -> GatewayError | None:
    """A BYOK call's upstream failure, answered with a fixed message naming its status: the body an owner's server
    sent (or a redirect it led to) is never echoed to the caller."""
    if isinstance(error, GatewayError):
        return None
    status = getattr(error, "status_code", None)
    status = status if isinstance(status, int) and 400 <= status <= 599 else 502
    return GatewayError(
        status,
        f"The provider behind this key's own provider key answered with status {status}. Its answer is not shown. This "
        f"call was not charged.",
        "api_error" if status >= 500 else "invalid_request_error",
        code="provider_error",
    )


# LiteLLM's router takes a request's api_key / api_base as "client-side credentials" and, in
# Router._handle_clientside_credential, upserts a deployment carrying them into the model group for every later call
# (docs/litellm-notes.md). Tollgate lets that method build the per-call deployment but never add it to the router.
_CLIENTSIDE_CALL: contextvars.ContextVar[bool] = contextvars.ContextVar("tollgate_clientside_call", default=False)


def install_router_guard() -> None:
    """Once, at plugin load: the per-call deployment of a BYOK call is never added to the shared router."""
    from litellm.router import Router

    if getattr(Router._handle_clientside_credential, "_tollgate_guard", False):
        return
    handle_original = Router._handle_clientside_credential
    upsert_original = Router.upsert_deployment

    def handle_clientside_credential(self: Any, *args: Any, **kwargs: Any) -> Any:
        token = _CLIENTSIDE_CALL.set(True)
        try:
            return handle_original(self, *args, **kwargs)
        finally:
            _CLIENTSIDE_CALL.reset(token)

    def upsert_deployment(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _CLIENTSIDE_CALL.get():
            return None  # the per-call deployment serves this call only
        return upsert_original(self, *args, **kwargs)

    handle_clientside_credential._tollgate_guard = True  # type: ignore[attr-defined]
    Router._handle_clientside_credential = handle_clientside_credential  # type: ignore[method-assign]
    Router.upsert_deployment = upsert_deployment  # type: ignore[method-assign]


def refused_error(status: int) -> GatewayError:
    return GatewayError(
        status,
        "The provider refused the stored provider key for this call: it is marked invalid under Provider keys. Replace "
        "or re-test it there. This call was not charged.",
        "authentication_error",
        code="provider_key_refused",
    )
