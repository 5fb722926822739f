"""
Billing hooks: a hold before each call (pre-call hook), and a usage event after it (success, cut or failure),
written to the durable outbox and delivered to the platform. Wired in config.yaml as
`litellm_settings.callbacks: tollgate_callbacks.handler`.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncGenerator
from datetime import datetime, timezone
from typing import Any

import litellm
from fastapi import HTTPException
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import UserAPIKeyAuth

from .outbox import Outbox
from .platform import PlatformClient, PlatformUnavailable
from .settings import Settings

logger = logging.getLogger("tollgate.billing")

CHAT_CALL_TYPES = {"completion", "acompletion"}
STATE = "tollgate"  # our per-request state, under data["metadata"] (never sent upstream)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, (int, float)):
        moment = datetime.fromtimestamp(value, tz=timezone.utc)
    else:
        moment = datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _key_id(auth: UserAPIKeyAuth | None) -> str | None:
    metadata = getattr(auth, "metadata", None) or {}
    return metadata.get("tollgate_key_id")


def _error(status: int, message: str, error_type: str) -> HTTPException:
    error = HTTPException(status_code=status, detail=message)
    error.type = error_type  # LiteLLM copies it into the OpenAI-shaped error body
    return error


class TollgateBilling(CustomLogger):
    def __init__(self, settings: Settings, outbox: Outbox, client: PlatformClient | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.outbox = outbox
        self.client = client or PlatformClient(settings)

    # -- before the call -----------------------------------------------------------------------------------
    async def async_pre_call_hook(self, user_api_key_dict: UserAPIKeyAuth, cache: Any, data: dict, call_type: Any):
        key_id = _key_id(user_api_key_dict)
        if key_id is None:
            return data  # the operator's master key: not metered
        if str(call_type) not in CHAT_CALL_TYPES:
            raise _error(403, "Only chat completions are available with Tollgate keys.", "permission_error")
        self.outbox.start()
        model = data.get("model") or ""
        messages = data.get("messages") or []
        try:
            prompt_tokens = litellm.token_counter(model=model, messages=messages)
        except Exception:  # an odd message shape must not make the call free: count its text instead
            prompt_tokens = litellm.token_counter(model=model, text=str(messages))
        max_tokens = data.get("max_completion_tokens") or data.get("max_tokens")
        call_id = data.get("litellm_call_id") or str(uuid.uuid4())
        request = {
            "keyId": key_id,
            "callId": call_id,
            "nonce": uuid.uuid4().hex,
            "model": model,
            "promptTokens": int(prompt_tokens),
            "maxOutputTokens": int(max_tokens) if max_tokens else None,
        }
        answer = await self._place_hold(request)
        data.setdefault("metadata", {})[STATE] = {
            "keyId": key_id,
            "callId": call_id,
            "holdId": answer["holdId"],
            "holdMicros": answer.get("amountMicros"),
            "availableMicros": answer.get("availableMicros"),
            "promptTokens": int(prompt_tokens),
            "model": model,
            "startedAt": _iso(None),
            "delivered": [],
        }
        return data

    async def _place_hold(self, request: dict) -> dict:
        # One retry with the same nonce: the platform answers a repeated hold with the same hold.
        for attempt in (1, 2):
            try:
                response = await self.client.request("/api/internal/gateway/holds", request)
            except PlatformUnavailable as error:
                if attempt == 2:
                    raise _error(503, "Tollgate could not reserve funds for this call right now, so it was not served. Retry shortly.", "service_unavailable") from error
                continue
            if response.status_code == 200:
                return response.json()
            if response.status_code >= 500:
                if attempt == 2:
                    raise _error(503, "Tollgate could not reserve funds for this call right now, so it was not served. Retry shortly.", "service_unavailable")
                continue
            body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
            err = body.get("error", {})
            status = {401: 401, 402: 402, 429: 429, 403: 403, 409: 409}.get(response.status_code, 503)
            error_type = {
                401: "authentication_error",
                402: "insufficient_quota",
                429: "budget_exceeded",
                403: "permission_error",
                409: "invalid_request_error",
            }.get(status, "service_unavailable")
            raise _error(status, err.get("message") or f"Refused by Tollgate (HTTP {response.status_code}).", error_type)
        raise AssertionError("unreachable")

    # -- response headers: what the call reserved and what is left -----------------------------------------
    async def async_post_call_success_hook(self, data: dict, user_api_key_dict: UserAPIKeyAuth, response: Any):
        """Non-streaming responses carry x-tollgate-* headers an OpenAI client can read (with_raw_response)."""
        state = (data.get("metadata") or {}).get(STATE)
        if not state:
            return response
        try:
            hidden = getattr(response, "_hidden_params", None)
            if isinstance(hidden, dict):
                headers = hidden.setdefault("additional_headers", {}) or {}
                hidden["additional_headers"] = headers
                headers["x-tollgate-hold-micros"] = str(state.get("holdMicros"))
                headers["x-tollgate-available-micros"] = str(state.get("availableMicros"))
        except Exception:
            logger.exception("could not add Tollgate headers")
        return response

    # -- while streaming: remember what reached the client -------------------------------------------------
    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: UserAPIKeyAuth, response: Any, request_data: dict
    ) -> AsyncGenerator[Any, None]:
        state = (request_data.get("metadata") or {}).get(STATE)
        async for chunk in response:
            if state is not None:
                try:
                    for choice in getattr(chunk, "choices", None) or []:
                        content = getattr(getattr(choice, "delta", None), "content", None)
                        if content:
                            state["delivered"].append(content)
                except Exception:
                    pass
            yield chunk

    # -- after the call ------------------------------------------------------------------------------------
    async def async_log_success_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        try:
            slo = kwargs.get("standard_logging_object") or {}
            metadata = slo.get("metadata") or {}
            key_id = (metadata.get("user_api_key_auth_metadata") or {}).get("tollgate_key_id")
            if not key_id:
                return
            litellm_metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
            disconnected = bool(litellm_metadata.get("client_disconnected") or metadata.get("client_disconnected"))
            usage = getattr(response_obj, "usage", None)
            details = getattr(usage, "prompt_tokens_details", None)
            cached = int(getattr(details, "cached_tokens", 0) or 0)
            self.outbox.append(
                {
                    "callId": kwargs.get("litellm_call_id"),
                    "keyId": key_id,
                    "modelGroup": slo.get("model_group") or kwargs.get("model") or "",
                    "providerModel": slo.get("model") or "",
                    "status": "cut" if disconnected else "success",
                    "stream": bool(slo.get("stream")),
                    "promptTokens": int(slo.get("prompt_tokens") or 0),
                    "completionTokens": int(slo.get("completion_tokens") or 0),
                    "cachedTokens": cached,
                    "reportedCostMicros": max(0, round(float(slo.get("response_cost") or 0) * 1_000_000)),
                    "startedAt": _iso(start_time),
                    "endedAt": _iso(end_time),
                    "errorClass": "ClientDisconnected" if disconnected else None,
                }
            )
        except Exception:
            logger.exception("could not record a usage event")

    async def async_post_call_failure_hook(
        self,
        request_data: dict,
        original_exception: Exception,
        user_api_key_dict: UserAPIKeyAuth,
        traceback_str: str | None = None,
    ) -> None:
        """The request's final failure. With output already streamed it is a cut stream, charged as estimated."""
        try:
            state = (request_data.get("metadata") or {}).get(STATE)
            if not state or not state.get("holdId"):
                return  # refused before a hold was placed: nothing to release
            delivered = "".join(state.get("delivered") or [])
            completion_tokens = litellm.token_counter(model=state["model"], text=delivered) if delivered else 0
            self.outbox.append(
                {
                    "callId": state["callId"],
                    "keyId": state["keyId"],
                    "modelGroup": state["model"],
                    "providerModel": "",
                    "status": "cut" if delivered else "failure",
                    "stream": bool(request_data.get("stream")),
                    "promptTokens": state["promptTokens"] if delivered else 0,
                    "completionTokens": completion_tokens,
                    "cachedTokens": 0,
                    "reportedCostMicros": 0,
                    "startedAt": state["startedAt"],
                    "endedAt": _iso(None),
                    "errorClass": type(original_exception).__name__,
                }
            )
        except Exception:
            logger.exception("could not record a failure event")


_handler: TollgateBilling | None = None


def default_outbox_path() -> str:
    return os.environ.get("TOLLGATE_OUTBOX_PATH") or os.path.join(os.path.dirname(os.path.dirname(__file__)), ".outbox", "outbox.db")


def handler() -> TollgateBilling:
    global _handler
    if _handler is None:
        settings = Settings.from_env()
        secret = os.environ.get("TOLLGATE_WEBHOOK_SECRET", "")
        if len(secret) < 32:
            raise RuntimeError("TOLLGATE_WEBHOOK_SECRET is required (32+ characters, the platform's WEBHOOK_SECRET)")
        outbox = Outbox(default_outbox_path(), settings.platform_url, secret)
        _handler = TollgateBilling(settings, outbox)
    return _handler
