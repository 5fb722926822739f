"""
Billing hooks: a hold before each call (pre-call hook), and a usage event after it (success, cut or failure),
written to the durable outbox and delivered to the platform. Wired in config.yaml as
`litellm_settings.callbacks: [tollgate_callbacks.handler]`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import hmac
import logging
import math
import uuid
from collections.abc import AsyncGenerator, Callable
from datetime import datetime, timezone
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import UserAPIKeyAuth

from . import contract, response_cache
from .bounds import BadAudio, Reservation, reservation_units, separate_inputs
from .contract import LITELLM_CALL_KINDS, PriceUnit
from .ids import new_call_id
from . import credentials as byok
from .errors import GatewayError, platform_refusal, reservation_unavailable
from .gate import HOOK_ASSIGNED_CALL_ID_KINDS, note_call_id
from .guard import guard_call
from .leases import LeaseBook, LeaseRefused, shared_book
from .outbox import Outbox
from .platform import PlatformClient, PlatformUnavailable, PlatformUnreachable
from .pricing import IMAGE_UNIT, ModelNotBilledHere, ModelNotPriced, Units
from .routing import Routing
from .settings import Settings

logger = logging.getLogger("tollgate.billing")

# The call types LiteLLM's proxy passes to the pre-call hook for each billed route (proxy_server.py, 1.102.4), to
# their call kind: the contract's table (lib/billing/contract.json).
CALL_KINDS = LITELLM_CALL_KINDS


# Streaming kinds whose client-cut streams LiteLLM does not log (no success, no failure event): the plugin reports them.
UNLOGGED_CUT_KINDS = frozenset({"responses", "messages", "completion"})

def _call_kind(call_type: Any) -> str | None:
    return CALL_KINDS.get(str(call_type))


def _delivered_text(chunk: Any) -> str:
    """The text a streamed chunk carries to the client, whatever the route: chat deltas, legacy completion text, a
    Responses `response.output_text.delta` event, or an Anthropic Messages `text_delta` (as LiteLLM streams it: an
    object or its SSE bytes). What was delivered is what a stream cut short is charged for (estimated)."""
    if isinstance(chunk, (bytes, str)):
        raw = chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
        texts = []
        for line in raw.splitlines():
            if line.startswith("data:") and '"text_delta"' in line:
                try:
                    texts.append(str((json.loads(line[5:].strip()).get("delta") or {}).get("text") or ""))
                except ValueError:
                    continue
        return "".join(texts)
    get = chunk.get if isinstance(chunk, dict) else (lambda name, default=None: getattr(chunk, name, default))
    # Chat and legacy completion chunks first: they are most of what streams, and asking a pydantic chunk for a
    # field it lacks ("type") costs an exception inside pydantic.
    choices = get("choices")
    if not choices:
        kind = get("type")
        if kind == "response.output_text.delta":
            return str(get("delta") or "")
        if kind == "content_block_delta":
            delta = get("delta") or {}
            text = delta.get("text") if isinstance(delta, dict) else getattr(delta, "text", None)
            return str(text or "")
        return ""
    texts = []
    for choice in choices:
        delta = getattr(choice, "delta", None) if not isinstance(choice, dict) else choice.get("delta")
        content = (delta.get("content") if isinstance(delta, dict) else getattr(delta, "content", None)) if delta else None
        text = choice.get("text") if isinstance(choice, dict) else getattr(choice, "text", None)
        texts.append(str(content or text or ""))
    return "".join(texts)


def _delivered_texts(chunks: list[Any]):
    """The text each chunk a stream delivered carries (one that cannot be read delivered none)."""
    for chunk in chunks:
        try:
            yield _delivered_text(chunk)
        except Exception:
            continue


def _reported_audio_ms(response: Any) -> int | None:
    """The audio length a transcription's provider reports: usage {type: duration, seconds} or verbose_json's duration."""
    usage = getattr(response, "usage", None)
    seconds = getattr(usage, "seconds", None) if usage is not None else None
    if seconds is None and isinstance(usage, dict):
        seconds = usage.get("seconds")
    if seconds is None:
        seconds = getattr(response, "duration", None)
    try:
        milliseconds = float(seconds) * 1000 if seconds is not None else None
    except (TypeError, ValueError):
        return None
    # An infinite or NaN length (valid JSON as 1e999) is no report: the call is billed for what it asked.
    return max(0, math.ceil(milliseconds)) if milliseconds is not None and math.isfinite(milliseconds) else None


def _images_made(state: dict, response: Any, asked: int) -> int:
    """The images the upstream made (an image call asks for n; a provider may make fewer)."""
    data = getattr(response, "data", None)
    return len(data) if isinstance(data, list) else 0


def _audio_heard(state: dict, response: Any, asked: int) -> int:
    """Reported by the provider, else the WAV header's, else the reservation's (the longest accepted)."""
    audio_ms = _reported_audio_ms(response)
    if audio_ms is None:
        logger.warning("transcription %s: no length reported; charged %s ms", state["callId"], asked)
        return asked
    return audio_ms


# Asked units the upstream's answer measures, on the kinds they bill; any other is reported as the call asked for it.
MEASURED_UNITS = {IMAGE_UNIT: _images_made, "audio": _audio_heard}


def _reported_count(unit: PriceUnit, state: dict, response: Any) -> int:
    """An asked unit's count in the usage event, under its contract field name."""
    asked = int(state.get(unit.field) or 0)
    measure = MEASURED_UNITS.get(unit.key)
    if measure is None:
        return asked
    return measure(state, response, asked) if state.get("kind") in unit.bills else 0


# The most of one unit a usage event may carry (lib/billing/contract.json's count.max: the platform's schema refuses
# more). Usage a provider reports past it (an owner's own server can report anything) is held to it, never made an
# event the platform refuses, which would leave the call unbilled.
MAX_COUNTS = {u["count"]["field"]: int(u["count"]["max"]) for u in contract.CONTRACT["priceUnits"] if u.get("count")}


def _reported(value: Any, field: str = "promptTokens") -> int:
    """A count as reported upstream, as an event may carry it: a finite integer from 0 to the unit's maximum (a
    negative, infinite or unreadable one is 0)."""
    try:
        number = float(value or 0)
    except (TypeError, ValueError):
        return 0
    if not math.isfinite(number) or number <= 0:
        return 0
    return min(int(number), MAX_COUNTS.get(field, MAX_COUNTS["promptTokens"]))


def _nonnegative(count: Any, field: str = "promptTokens") -> Any:
    return _reported(count, field) if isinstance(count, (int, float)) else count


def _asked_fields(units: Units) -> dict[str, int]:
    """The asked units' counts under the contract's field names, as the hold request and the usage event carry them."""
    return {u.field: units.count(u.key) for u in contract.ASKED_UNITS}


def _event_units(fields: dict) -> Units:
    """The asked units of a usage event (its contract field names), of the image size and quality it names."""
    return Units({u.key: int(fields.get(u.field) or 0) for u in contract.ASKED_UNITS}, fields.get("imageSize"),
                 fields.get("imageQuality"))


def _text_of(value: Any) -> str:
    """The text of a system prompt or message content: a string, or the text of its blocks."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(_text_of(b.get("text") if isinstance(b, dict) else b) for b in value)
    return "" if value is None else str(value)


def _embedding_tokens(model: str, value: Any) -> int:
    """The input tokens an embeddings call is billed for at most: its texts counted, token-id arrays by length."""
    total = 0
    for item in separate_inputs(value):
        if isinstance(item, list):
            total += len(item)
        else:
            total += litellm.token_counter(model=model, text=str(item))
    return total


def _prompt_estimate(kind: str, model: str, data: Any) -> int | None:
    """A cut stream's prompt, estimated with LiteLLM's tokenizer from the text of the request (clause 8): what it is
    charged, never more than its reservation's bound. None where the request is not at hand."""
    if not isinstance(data, dict):
        return None
    try:
        if kind == "completion":
            return _embedding_tokens(model, data.get("prompt"))
        if kind == "responses":
            items = data.get("input")
            texts = [items] if isinstance(items, str) else [
                _text_of(i.get("content") if isinstance(i, dict) else i) for i in (items or [])
            ]
            text = " ".join([_text_of(data.get("instructions")), *texts]).strip()
            return litellm.token_counter(model=model, text=text) if text else 0
        tokens = litellm.token_counter(model=model, messages=data.get("messages") or [])
        if kind == "messages" and data.get("system"):
            tokens += litellm.token_counter(model=model, text=_text_of(data.get("system")))
        return tokens
    except Exception:
        return None


STATE = "tollgate"  # our per-request state, under the request's LiteLLM metadata (never sent upstream)


def _litellm_metadata_key(data: dict) -> str:
    """Where LiteLLM keeps its own request metadata for this request: it fills `litellm_metadata` before the hooks run
    on the routes whose body has a `metadata` of its own that goes upstream (Anthropic Messages, Responses: its
    LITELLM_METADATA_ROUTES), `metadata` elsewhere. The gate refuses a client's `litellm_metadata`."""
    return "litellm_metadata" if isinstance(data.get("litellm_metadata"), dict) else "metadata"


def _metadata_of(data: Any) -> list[Any]:
    """The places our state may be in a request's data or a call's litellm_params, in order."""
    if not isinstance(data, dict):
        return []
    return [data.get("metadata"), data.get("litellm_metadata")]


def _first_token(state: dict, kwargs: dict, stream: bool) -> str | None:
    """A stream's first token: seen by the streaming hook, else LiteLLM's completion_start_time. None otherwise."""
    if not stream:
        return None
    if state.get("firstTokenAt"):
        return state["firstTokenAt"]
    started = kwargs.get("completion_start_time")
    return _iso(started) if started else None


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


def _valid_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def reachable_models(model: str, router: Any) -> list[str]:
    """
    The model groups a call for `model` may be served by: itself, then every operator-configured fallback
    (general, context-window and content-policy, `*` defaults included), transitively. The hold is sized for
    the most expensive of them (billing contract: charged at the price of the group that served the call).
    """
    mappings: list[dict] = []
    for name in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
        for entry in getattr(router, name, None) or []:
            if isinstance(entry, dict):
                mappings.append(entry)
    seen = [model]
    queue = [model]
    while queue:
        current = queue.pop(0)
        for mapping in mappings:
            for source, targets in mapping.items():
                if source not in (current, "*"):
                    continue
                for target in targets if isinstance(targets, list) else [targets]:
                    name = target.get("model") if isinstance(target, dict) else target
                    if isinstance(name, str) and name not in seen:
                        seen.append(name)
                        queue.append(name)
    return seen


# The request field that caps a kind's output, as the provider reads it (LiteLLM maps max_tokens for models that want
# max_completion_tokens). Kinds that bill no output tokens have none.
OUTPUT_CAP_FIELDS = {"chat": "max_tokens", "completion": "max_tokens", "responses": "max_output_tokens",
                     "messages": "max_tokens"}


def _cap_output(kind: str, data: dict, reserved: Any) -> None:
    """The output the provider may produce is never more than what was reserved for (clause 3): a call that names no
    cap, or a larger one than the model's output limit in the catalog, is sent with the reserved cap — else a
    provider whose own limit is higher than the catalog's would generate (and bill) past the reservation."""
    field = OUTPUT_CAP_FIELDS.get(kind)
    if field is None or not isinstance(reserved, int) or isinstance(reserved, bool) or reserved < 1:
        return
    if kind == "chat" and data.get("max_completion_tokens") is not None:
        field = "max_completion_tokens"
        data.pop("max_tokens", None)  # one cap, the one reserved for
    asked = data.get(field)
    if not isinstance(asked, int) or isinstance(asked, bool) or asked > reserved:
        data[field] = reserved


def _call_id(kind: str, data: dict) -> str:
    """The call's id, a UUIDv7 the gateway made (gate.assign_call_id, or below for the kinds whose route reads no
    header; a client's x-litellm-call-id is refused): the reservation is placed under it and the usage event reports
    it, always the same value."""
    call_id = data.get("litellm_call_id")
    if call_id is None and kind in HOOK_ASSIGNED_CALL_ID_KINDS:
        # LiteLLM's image and audio routes assign no call id before the hooks: one is assigned here, and LiteLLM
        # takes it from the request (its function setup reads litellm_call_id) for the call and its logging.
        call_id = data["litellm_call_id"] = new_call_id()
    if not _valid_uuid(call_id):
        raise GatewayError(400, "This request has no valid call id, so it cannot be billed and was not served.",
                           "invalid_request_error")
    return call_id


def _bound(kind: str, data: dict, settings: Settings, models: list[str], router: Any) -> Reservation:
    """The reservation's units: an upper bound of what the call can be charged, by kind (bounds.py)."""
    try:
        return reservation_units(kind, data, settings, models, router)
    except BadAudio as error:
        raise GatewayError(400, f"The audio file is a WAV that cannot be measured: {error}. Send a valid PCM WAV or "
                                "another audio format.", "invalid_request_error") from error


def _new_state(key_id: str, call_id: str, model: str, kind: str, bound: Reservation) -> dict:
    """Our per-request state, kept (signed) in the request's LiteLLM metadata until the call's usage is reported."""
    units = bound.units
    return {
        "keyId": key_id,
        "callId": call_id,
        "holdId": "",
        "leaseId": "",
        "drawMicros": 0,
        "promptTokens": int(bound.prompt_tokens),
        "model": model,
        "kind": kind,
        **_asked_fields(units),
        "imageSize": units.image_size,
        "imageQuality": units.image_quality,
        "startedAt": _iso(None),
        "delivered": [],
    }


def _usage_estimated(kind: str, data: dict) -> bool:
    """A chat or legacy completion streamed without stream_options.include_usage: the provider sends no usage, and
    LiteLLM counts the call's tokens itself from the streamed text (its tokenizer, all choices' text joined)."""
    if kind not in ("chat", "completion") or data.get("stream") is not True:
        return False
    options = data.get("stream_options")
    return not (isinstance(options, dict) and options.get("include_usage") is True)


def _note_estimated_usage(state: dict, kind: str, data: dict, reserved_output: Any, bound: Reservation) -> None:
    """What a call whose usage will be estimated (a stream without usage, a cut stream) can be charged at most: the
    output it was sent with (the reserved cap × choices: the provider makes no more) and, for a stream without usage,
    the prompt tokens LiteLLM's count leaves out — a legacy completion's token-id prompts, exact by their length (no
    tokenizer runs here: this is the pre-call path). An estimate is held to the reservation (clause 45)."""
    if isinstance(reserved_output, int) and not isinstance(reserved_output, bool) and reserved_output > 0:
        state["outputTokens"] = reserved_output * int(bound.choices)
    if _usage_estimated(kind, data):
        token_ids = separate_inputs(data.get("prompt")) if kind == "completion" else []
        state["estimatedPrompt"] = sum(len(p) for p in token_ids if isinstance(p, list))


def _output_held(state: dict, completion: int) -> int:
    """Estimated completion tokens, at most the output the call was sent with."""
    cap = state.get("outputTokens")
    return completion if not isinstance(cap, int) else min(completion, cap)


def _estimated_tokens(state: dict, prompt: int, completion: int) -> tuple[int, int]:
    """A stream without usage: LiteLLM's counts held to what the call could have been billed — the prompt at least its
    token-id part and never above its bound, the completion at most the output it was sent with."""
    return min(max(prompt, int(state["estimatedPrompt"])), int(state["promptTokens"])), _output_held(state, completion)


def _count_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _observed(state: dict) -> dict:
    """What the guardrails saw of the call (counts of PII masked per category, the prompt-injection score): reported
    with its usage, never the values themselves."""
    return {"piiMasked": dict(state.get("pii") or {}), "safetyScore": state.get("safetyScore"),
            # Whose provider credentials served it (credentials.py): the owner's are billed the BYOK fee (clause 62).
            "credential": state.get("credential") or "platform", "credentialId": state.get("credentialId")}


def _hold_request(state: dict, models: list[str], bound: Reservation) -> dict:
    """A per-call hold, priced by the platform for the dearest model the call may reach."""
    units = bound.units
    return {
        "keyId": state["keyId"],
        "callId": state["callId"],
        "nonce": uuid.uuid4().hex,
        "model": state["model"],
        "fallbackModels": models[1:],
        "promptTokens": int(bound.prompt_tokens),
        "maxOutputTokens": _count_or_none(bound.max_output),
        "choices": int(bound.choices),
        **_asked_fields(units),
        "imageSize": units.image_size,
        "imageQuality": units.image_quality,
        "kind": state["kind"],
    }


def _router() -> Any:
    try:
        from litellm.proxy.proxy_server import llm_router
    except Exception:  # outside the proxy (unit tests)
        return None
    return llm_router


class TollgateBilling(CustomLogger):
    def __init__(
        self, settings: Settings, outbox: Outbox, client: PlatformClient | None = None, leases: LeaseBook | None = None
    ) -> None:
        super().__init__()
        self.settings = settings
        self.outbox = outbox
        self.client = client or PlatformClient(settings)
        self.leases = leases or LeaseBook(self.client, settings.lease)
        self.routing = Routing(settings.routing, lambda: self.client.get("/api/internal/gateway/routing"))
        self.credentials = byok.CredentialBook(settings, self.client)

    # -- before the call -----------------------------------------------------------------------------------
    async def async_pre_call_hook(self, user_api_key_dict: UserAPIKeyAuth, cache: Any, data: dict, call_type: Any):
        """A metered call's state (key, kind, call id), its bound (bounds.py), its reservation (a lease draw or a
        platform hold), the output cap sent upstream, and the signed state kept in the request's metadata."""
        key_id = _key_id(user_api_key_dict)
        if key_id is None:
            return data  # the operator's master key: not metered
        kind = _call_kind(call_type)
        if kind is None:
            raise GatewayError(403, "This endpoint is not available with Tollgate keys.", "permission_error")
        self.outbox.start()
        policy = (getattr(user_api_key_dict, "metadata", None) or {}).get("tollgate_policy") or {}
        # The guardrails first (guard.py): a refusal (400) comes before any money is reserved, and the bound below is
        # the body as it will be sent, masked. A large body is scanned in a worker thread, a small one inline.
        observed = await guard_call(kind, data, policy.get("pii") or {})
        call_id = _call_id(kind, data)
        model = data.get("model") or ""
        router = self.router()
        # A virtual model (routing.py) is sent to its choice, and reserved for every candidate the key may call.
        routed = await self.routing.route(model, getattr(user_api_key_dict, "models", None), bool(data.get("stream")))
        if routed is not None:
            model = data["model"] = routed.model
        models = reachable_models(model, router)
        for other in routed.candidates if routed is not None else ():
            models += [m for m in reachable_models(other, router) if m not in models]
        # Whose provider credentials serve it (BYOK): a refusal comes before anything is reserved.
        choice = await self.credentials.choose(key_id, model, models, router) if (
            getattr(user_api_key_dict, "metadata", None) or {}).get("tollgate_byok") else byok.PLATFORM
        bound = _bound(kind, data, self.settings, models, router)
        state = _new_state(key_id, call_id, model, kind, bound)
        state.update(pii=observed.pii_counts, safetyScore=observed.safety_score)
        if choice.byok:  # the class and the credential's id, never its secret
            state.update(credential="byok", credentialId=(choice.credential or {}).get("id"))
        reserved_output = await self._reserve(state, user_api_key_dict, models, bound)
        try:
            _cap_output(kind, data, reserved_output)
            # After the cap: the cache key is the request as it goes upstream. A BYOK call is never cached: an owner's
            # own server must not answer the organization's later calls.
            if choice.byok:
                response_cache.skip(data)
            else:
                response_cache.mark(kind, data, policy)
            _note_estimated_usage(state, kind, data, reserved_output, bound)
            state["sig"] = self._sign(state)
            data.setdefault(_litellm_metadata_key(data), {})[STATE] = state
        except BaseException:
            # Reserved but not to be served, and no state for the failure hook to find: the call is reported failed
            # (charged nothing), which gives its hold or its draw back.
            self._record_unfinished(state, False, contract.NOT_SERVED)
            raise
        byok.apply(choice, data)  # last: the secret is in the request only, never in the state or its events
        return data

    async def _reserve(self, state: dict, auth: UserAPIKeyAuth, models: list[str], bound: Reservation) -> Any:
        """A draw from this process's lease on the key (lease billing), else a platform hold; noted in the state.
        Returns the output per choice it was sized for (the cap sent upstream)."""
        metadata = getattr(auth, "metadata", None) or {}
        if self.settings.billing_mode == "lease" and metadata.get("tollgate_billing") == "lease":
            draw = await self._draw(state, str(metadata.get("tollgate_lease_epoch") or ""), models, bound)
            state.update(leaseId=draw.lease_id, drawMicros=draw.micros, holdMicros=draw.micros,
                         availableMicros=draw.available + draw.remaining)
            return self.leases.output_cap(draw.lease_id, state["model"], bound.max_output)
        hold = await self._place_hold(_hold_request(state, models, bound), state)
        state.update(holdId=hold["holdId"], holdMicros=hold.get("amountMicros"),
                     availableMicros=hold.get("availableMicros"))
        return hold.get("maxOutputTokens")

    def router(self) -> Any:
        return _router()

    def _sign(self, state: dict) -> str:
        """Binds our per-request state to this gateway: a client cannot plant a look-alike in metadata."""
        message = f"{state['keyId']}:{state['callId']}:{state['holdId']}:{state['leaseId']}:{state['drawMicros']}".encode()
        return hmac.new(self.settings.gateway_secret.encode(), message, hashlib.sha256).hexdigest()

    def _find_state(self, data: Any) -> dict | None:
        """Our signed state in a request's data (or a call's litellm_params), wherever the route keeps metadata."""
        for metadata in _metadata_of(data):
            state = self._state(metadata)
            if state is not None:
                return state
        return None

    def _state(self, metadata: Any) -> dict | None:
        state = (metadata or {}).get(STATE) if isinstance(metadata, dict) else None
        if not isinstance(state, dict) or not all(
            isinstance(state.get(k), str) for k in ("keyId", "callId", "holdId", "leaseId", "sig")
        ) or not isinstance(state.get("drawMicros"), int):
            return None
        return state if hmac.compare_digest(state["sig"], self._sign(state)) else None

    async def _draw(self, state: dict, epoch: str, models: list[str], bound: Reservation):
        """The call's worst case from this process's lease on the key: no platform round trip on a warm key."""
        try:
            return await self.leases.draw(state["keyId"], epoch, state["callId"], models, int(bound.prompt_tokens),
                                          _count_or_none(bound.max_output), int(bound.choices), bound.units,
                                          state["kind"])
        except ModelNotBilledHere as error:
            message = (
                f"Model {error.model} is not sold for {error.kind} calls: its price charges nothing for what this "
                "route reports." if error.model == models[0]
                else f"Model {error.model} (a fallback of {models[0]}) is not sold for {error.kind} calls, so calls "
                "that may reach it are not served."
            )
            raise GatewayError(403, message, "permission_error") from error
        except ModelNotPriced as error:
            name = str(error)
            message = (
                f"Model {models[0]} is not available to this key" if name == models[0]
                else f"Model {name} (a fallback of {models[0]}) has no price, so calls that may reach it are not served"
            )
            raise GatewayError(403, message, "permission_error") from error
        except LeaseRefused as error:  # the platform wrote the sentence (the grant carried the call and the lease)
            raise platform_refusal(error.status, error.message) from error
        except PlatformUnavailable as error:
            raise reservation_unavailable() from error

    async def _place_hold(self, request: dict, state: dict) -> dict:
        """The platform's hold for the call, or its refusal. One retry with the same nonce: the platform answers a
        repeated hold with the same hold. When neither attempt got an answer and one may have reached the platform (a
        timeout, a dropped answer, a server error), the hold may be placed after this gateway stopped waiting for it:
        the call is reported failed (charged nothing), and its event, once delivered, releases that hold and keeps
        any later one from being placed (place_hold refuses a settled call), instead of the day's settlement."""
        reached = False
        cause: Exception | None = None
        for _ in (1, 2):
            try:
                response = await self.client.request("/api/internal/gateway/holds", request, request["callId"])
            except PlatformUnreachable as error:  # no connection: the request never left
                cause = error
                continue
            except PlatformUnavailable as error:
                reached, cause = True, error
                continue
            except asyncio.CancelledError:  # the call is abandoned while its hold may be on its way
                self._record_unfinished(state, False, contract.RESERVATION_UNAVAILABLE)
                raise
            if response.status_code == 200:
                return response.json()
            if response.status_code >= 500:
                reached = True
                continue
            body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
            err = body.get("error", {})
            raise platform_refusal(response.status_code,
                                   err.get("message") or f"Refused by Tollgate (HTTP {response.status_code}).")
        if reached:
            self._record_unfinished(state, False, contract.RESERVATION_UNAVAILABLE)
        raise reservation_unavailable() from cause

    @staticmethod
    def _reservation(state: dict) -> dict:
        """A call served from a lease names it and its draw (the platform takes the draw off the lease)."""
        return {"leaseId": state["leaseId"], "drawMicros": state["drawMicros"]} if state["leaseId"] else {}

    # -- response headers: what the call reserved and what is left -----------------------------------------
    def _tollgate_headers(self, data: Any) -> dict[str, str] | None:
        state = self._find_state(data)
        if not state:
            return None
        return {
            "x-tollgate-hold-micros": str(state.get("holdMicros")),
            "x-tollgate-available-micros": str(state.get("availableMicros")),
            "x-tollgate-model": str(state.get("model")),  # the group it was sent to (routing's choice)
        }

    async def async_post_call_success_hook(self, data: dict, user_api_key_dict: UserAPIKeyAuth, response: Any):
        """Non-streaming responses carry x-tollgate-* headers an OpenAI client can read (with_raw_response). The
        routes of base_process_llm_request re-read the response's hidden params after this hook: a model object's
        `_hidden_params` (a dict, or LiteLLM's HiddenParams for text completions) or, for /v1/messages, whose answer
        is a plain dict, its `_hidden_params` key (LiteLLM pops it before sending)."""
        headers = self._tollgate_headers(data)
        if not headers:
            return response
        try:
            if isinstance(response, dict):
                hidden = response.get("_hidden_params")
                if not isinstance(hidden, dict):
                    hidden = response["_hidden_params"] = {}
            else:
                hidden = getattr(response, "_hidden_params", None)
            if hidden is not None:
                extra = hidden.get("additional_headers") or {}
                extra.update(headers)
                if extra.get("x-litellm-model-group"):  # the group that served (a fallback's, if one did)
                    extra["x-tollgate-model"] = extra["x-litellm-model-group"]
                hidden["additional_headers"] = extra
        except Exception:
            logger.exception("could not add Tollgate headers")
        return response

    async def async_post_call_response_headers_hook(
        self, data: dict, user_api_key_dict: UserAPIKeyAuth, response: Any, request_headers: dict | None = None
    ) -> dict[str, str] | None:
        """The same headers on the routes that run no success hook or do not read its headers (images, speech,
        transcription) and on streams; LiteLLM calls this with every served answer, and with None on a failure
        (which gets none: nothing stays reserved)."""
        if response is None:
            return None
        return self._tollgate_headers(data)

    # -- while streaming: remember what reached the client -------------------------------------------------
    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: UserAPIKeyAuth, response: Any, request_data: dict
    ) -> AsyncGenerator[Any, None]:
        state = self._find_state(request_data)
        completed = False
        try:
            async for chunk in response:
                if state is not None:
                    # A chat chunk is kept as it is (LiteLLM's stream wrapper keeps the same objects): its text is read
                    # only if the stream ends unfinished, and until the first text passes (the first token's time).
                    # Other routes' chunks are objects nothing else keeps, many times their text: their text is kept.
                    try:
                        if state.get("kind", "chat") == "chat":
                            state.setdefault("chunks", []).append(chunk)
                            text = _delivered_text(chunk) if "firstTokenAt" not in state else ""
                        else:
                            text = _delivered_text(chunk)
                            if text:
                                state["delivered"].append(text)
                        if text and "firstTokenAt" not in state:
                            state["firstTokenAt"] = _iso(None)
                    except Exception:
                        pass
                yield chunk
            completed = True
        finally:
            # A client that goes away mid-stream closes this generator. LiteLLM bills the partial output of chat
            # streams itself (their wrapper keeps the chunks); a Responses or Messages stream gets no success or
            # failure event at all, so the cut is reported here, estimated from what was delivered.
            if not completed and state is not None and state.get("kind") in UNLOGGED_CUT_KINDS:
                try:
                    self._record_unfinished(state, True, "ClientDisconnected", request_data)
                except Exception:
                    logger.exception("could not record a cut stream")

    # -- after the call ------------------------------------------------------------------------------------
    async def async_log_success_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        try:
            slo = kwargs.get("standard_logging_object") or {}
            metadata = slo.get("metadata") or {}
            key_id = (metadata.get("user_api_key_auth_metadata") or {}).get("tollgate_key_id")
            if not key_id:
                return
            litellm_params = kwargs.get("litellm_params") or {}
            litellm_metadata = litellm_params.get("metadata") or {}
            state = self._find_state(litellm_params) or self._find_state(kwargs)
            if state is None or state["keyId"] != key_id:
                logger.error("a metered call ended without its hold state (call %s): not reported", kwargs.get("litellm_call_id"))
                return
            if kwargs.get("litellm_call_id") != state["callId"]:
                logger.warning("LiteLLM reported call %s for the hold of call %s", kwargs.get("litellm_call_id"), state["callId"])
            disconnected = bool(litellm_metadata.get("client_disconnected") or metadata.get("client_disconnected"))
            units = self._reported_units(state, response_obj)
            # Never below zero: an owner's own server reports what it likes, and the platform refuses negative counts.
            prompt_tokens = _reported(slo.get("prompt_tokens"), "promptTokens")
            completion_tokens = _reported(slo.get("completion_tokens"), "completionTokens")
            if "estimatedPrompt" in state:  # no usage from the provider: LiteLLM's count, held to the reservation
                prompt_tokens, completion_tokens = _estimated_tokens(state, prompt_tokens, completion_tokens)
            # Stored by the outbox's next group commit, off the event loop; the draw is finished once it is durable.
            stored = self.outbox.append(
                {
                    "callId": state["callId"],
                    "keyId": key_id,
                    "modelGroup": slo.get("model_group") or kwargs.get("model") or "",
                    "providerModel": slo.get("model") or "",
                    "status": "cut" if disconnected else "success",
                    "kind": state.get("kind") or "chat",
                    "stream": bool(slo.get("stream")),
                    "promptTokens": prompt_tokens,
                    "completionTokens": completion_tokens,
                    **units,
                    "reportedCostMicros": max(0, round(float(slo.get("response_cost") or 0) * 1_000_000)),
                    "startedAt": _iso(start_time),
                    "endedAt": _iso(end_time),
                    "firstTokenAt": _first_token(state, kwargs, bool(slo.get("stream"))),
                    "errorClass": "ClientDisconnected" if disconnected else None,
                    # Answered from the response cache: charged the model's cache-hit share (clause 60).
                    "cacheHit": bool(slo.get("cache_hit")) and not disconnected,
                    **self._reservation(state),
                    **_observed(state),
                }
            )
            model_group = slo.get("model_group") or state["model"]
            if state.get("credential") != "byok":  # the shared routing health hears the platform's credentials only
                self.routing.succeeded(model_group, start_time, end_time, bool(slo.get("cache_hit")),
                                       _first_token(state, kwargs, bool(slo.get("stream"))))

            # Usage worth more than the draw (the upstream billed past the call's bound): this lease stops now, not
            # once the event is committed, and the key's draws wait until the platform has settled it (flushed()
            # counts this append: the outbox's I/O thread runs its jobs in order). Waiting for the commit let a
            # loaded gateway serve a whole further round of calls into an account already in deficit (clause 46).
            if state["leaseId"] and self.leases.reported(
                state["leaseId"], model_group, prompt_tokens, completion_tokens, _event_units(units),
                int(state["drawMicros"])):
                self.leases.pause(key_id, self.outbox.flushed())
                self.outbox.deliver_now()
            self._when_stored(stored, state)
        except Exception:
            logger.exception("could not record a usage event")

    def _when_stored(self, stored: Any, state: dict, then: Callable[[], None] | None = None) -> None:
        """Finishes the call's draw once its usage event is committed, on the event loop, whatever became of the hook
        that appended it (LiteLLM's logging worker cancels a callback that outlasts its timeout, and this must not
        depend on it): the event is durable before the call's accounting moves on, and `then` sees it stored. An event
        that could not be stored (logged by the outbox with its call) still finishes its draw, so the lease is not held
        by it forever."""
        loop = asyncio.get_running_loop()

        def committed(future: Any) -> None:
            self.leases.finish(state["leaseId"], state["callId"])
            if then is not None and not future.cancelled() and future.exception() is None:
                try:
                    then()
                except Exception:
                    logger.exception("could not check call %s against its draw", state["callId"])

        def on_loop() -> bool:
            try:
                return asyncio.get_running_loop() is loop
            except RuntimeError:
                return False

        def done(future: Any) -> None:
            try:
                if on_loop():  # committed on the loop itself (the outbox's direct append): no wake-up needed
                    loop.call_soon(committed, future)
                else:
                    loop.call_soon_threadsafe(committed, future)
            except RuntimeError:  # the loop is gone (the interpreter exiting): finish here
                committed(future)

        stored.add_done_callback(done)

    def _reported_units(self, state: dict, response: Any) -> dict[str, int | str | None]:
        """What the call is billed by besides prompt and completion tokens, as the upstream reported it: cached reads
        and cache writes (LiteLLM's prompt_tokens_details; both inside prompt_tokens), reasoning (inside
        completion_tokens), images made (of the size and quality asked for), the audio's length, the characters
        spoken."""
        usage = getattr(response, "usage", None)
        prompt_details = getattr(usage, "prompt_tokens_details", None)
        completion_details = getattr(usage, "completion_tokens_details", None)
        kind = state.get("kind")
        return {
            "cachedTokens": _reported(getattr(prompt_details, "cached_tokens", 0), "cachedTokens"),
            "cacheWriteTokens": _reported(getattr(prompt_details, "cache_write_tokens", 0), "cacheWriteTokens"),
            "reasoningTokens": _reported(getattr(completion_details, "reasoning_tokens", 0), "reasoningTokens"),
            **{u.field: _nonnegative(_reported_count(u, state, response), u.field) for u in contract.ASKED_UNITS},
            "imageSize": state.get("imageSize") if kind == "image" else None,
            "imageQuality": state.get("imageQuality") if kind == "image" else None,
        }

    async def async_post_call_failure_hook(
        self,
        request_data: dict,
        original_exception: Exception,
        user_api_key_dict: UserAPIKeyAuth,
        traceback_str: str | None = None,
    ) -> GatewayError | None:
        """The request's final failure. With output already streamed it is a cut stream, charged as estimated. Every
        route awaits this hook before it raises its error: the gate's error answer gets the call's id from here (one
        callback, not a second one LiteLLM would run on every call)."""
        note_call_id(request_data, user_api_key_dict)
        try:
            state = self._find_state(request_data)
            if state is None:
                return  # refused before a hold was placed: nothing to release
            if state.get("credential") == "byok" and byok.refused_by_provider(original_exception):
                # The owner's key was refused (not the model's health): a free failure whose answer says so; the
                # platform marks the credential invalid when the event arrives.
                self._record_unfinished(state, bool(request_data.get("stream")), type(original_exception).__name__,
                                        request_data)
                return byok.refused_error(int(getattr(original_exception, "status_code", 401)))
            if state.get("credential") == "byok":
                # An owner's own server neither rests nor revives a shared model, and what it sent is not echoed.
                self._record_unfinished(state, bool(request_data.get("stream")), type(original_exception).__name__,
                                        request_data)
                return byok.upstream_error(original_exception)
            self.routing.failed(state["model"], original_exception)
            self._record_unfinished(state, bool(request_data.get("stream")), type(original_exception).__name__,
                                    request_data)
        except Exception:
            logger.exception("could not record a failure event")

    def _record_unfinished(self, state: dict, stream: bool, error_class: str, data: Any = None) -> None:
        """A call that did not finish: a cut stream (estimated: the prompt and the text delivered) when output
        reached the client, else a failure (charged nothing). Reported once; a later success outranks it."""
        delivered = "".join(state.get("delivered") or []) + "".join(_delivered_texts(state.get("chunks") or []))
        completion_tokens = litellm.token_counter(model=state["model"], text=delivered) if delivered else 0
        # The prompt as LiteLLM's tokenizer counts it, never above the bound it was reserved for; the text delivered
        # counted, never above the output the call was sent with.
        estimate = _prompt_estimate(state.get("kind") or "chat", state["model"], data) if delivered else None
        prompt = state["promptTokens"] if estimate is None else min(estimate, state["promptTokens"])
        completion_tokens = _output_held(state, completion_tokens)
        stored = self.outbox.append(
            {
                "callId": state["callId"],
                "keyId": state["keyId"],
                "modelGroup": state["model"],
                "providerModel": "",
                "status": "cut" if delivered else "failure",
                "kind": state.get("kind") or "chat",
                "stream": stream,
                "promptTokens": prompt if delivered else 0,
                "completionTokens": completion_tokens,
                "cachedTokens": 0,
                "reportedCostMicros": 0,
                "startedAt": state["startedAt"],
                "endedAt": _iso(None),
                "firstTokenAt": state.get("firstTokenAt"),
                "errorClass": error_class,
                **self._reservation(state),
                **_observed(state),
            }
        )
        self._when_stored(stored, state)


_handler: TollgateBilling | None = None


def handler() -> TollgateBilling:
    global _handler
    if _handler is None:
        settings = Settings.from_env()
        outbox = Outbox(settings.outbox_path, settings.platform_url, settings.usage_webhook_secret())
        client = PlatformClient(settings)
        book = shared_book(lambda: LeaseBook(client, settings.lease))
        # The platform's answer to each delivery shrinks overrun leases and stops keys in deficit (clause 46).
        if book is not None:
            outbox.on_answer = book.settled
        _handler = TollgateBilling(settings, outbox, client, book)
        response_cache.install(settings)
        byok.install_router_guard()
    return _handler
