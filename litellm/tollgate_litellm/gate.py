"""
The gateway's front door: an ASGI layer in front of LiteLLM's own app. It sees every request before LiteLLM
parses it and every response header before it leaves, so nothing a client sends reaches LiteLLM's routing,
pricing or logging switches.

For every caller but the operator's master key:
- only the routes Tollgate bills (and the liveness probe) are reachable; anything else is 403;
- LiteLLM's control headers (`x-litellm-*`, `litellm*`: call id, timeouts, retries, tags, …) are refused (403);
- JSON bodies may hold only the fields the route documents (OpenAI's parameters); routing, credential,
  pricing, caching, logging and mock fields (`fallbacks`, `api_base`, `api_key`, `timeout`, `num_retries`,
  `extra_headers`, `metadata`, `mock_response`, `input_cost_per_token`, …) are refused with 400, as OpenAI
  refuses an unrecognized argument; the money-relevant values (`max_tokens`, `n`, `stream`) are type-checked;
- responses lose the headers that reveal upstreams, deployments or provider cost, error bodies lose the
  routing LiteLLM writes into their messages (fallback groups, retries, model groups), and bodies and streams lose
  LiteLLM's cost figure (`usage.cost`: its price, not Tollgate's charge);
- error answers carry the call id LiteLLM assigned (`x-litellm-call-id`) on every route, as chat's already do;
- `GET /v1/models/{id}` is answered from the key's own model list, as OpenAI answers it;
- an exception that escapes LiteLLM after it answered does not reach the server (which would drop the kept-alive
  connection, failing the client's next call).
"""

from __future__ import annotations

import contextvars
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.datastructures import Headers

from .contract import CALL_KINDS, IMAGE_QUALITIES, IMAGE_SIZE
from .errors import GatewayError, bad_request
from .ids import new_call_id

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("tollgate.gate")

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_INT32 = 2_147_483_647

# The sampling and streaming parameters OpenAI's chat and legacy completions share.
SAMPLING_FIELDS = frozenset(
    {
        "temperature",
        "top_p",
        "n",
        "stream",
        "stream_options",
        "stop",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "seed",
        "user",
    }
)
# OpenAI's chat completion parameters (and the provider-neutral sampling knobs LiteLLM maps), nothing else. Not
# `prediction`: its rejected tokens are billed as output past the cap a reservation is sized by (clause 3).
CHAT_FIELDS = SAMPLING_FIELDS | frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "top_k",
        "top_logprobs",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "functions",
        "function_call",
        "response_format",
        "reasoning_effort",
        "thinking",
        "verbosity",
        "store",
        "safety_identifier",
        "prompt_cache_key",
    }
)
STREAM_OPTION_FIELDS = frozenset({"include_usage"})
# OpenAI's embeddings parameters.
EMBEDDING_FIELDS = frozenset({"model", "input", "encoding_format", "dimensions", "user"})
MAX_EMBEDDING_INPUTS = 2048
# OpenAI's Responses parameters for a stateless call (no previous_response_id: the gateway keeps no conversations).
RESPONSES_FIELDS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "max_output_tokens",
        "stream",
        "temperature",
        "top_p",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "text",
        "reasoning",
        "truncation",
        "user",
    }
)
# Anthropic's Messages parameters (as LiteLLM serves /v1/messages). Not `metadata`: LiteLLM reads a body's metadata as
# its own request metadata, which no client writes here.
MESSAGES_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "thinking",
    }
)


# OpenAI's legacy completions parameters. best_of makes the provider generate (and bill) that many candidates.
COMPLETION_FIELDS = SAMPLING_FIELDS | frozenset({"model", "prompt", "max_tokens", "best_of", "echo", "suffix"})
MAX_COMPLETION_PROMPTS = 64
# OpenAI's image generation parameters.
IMAGE_FIELDS = frozenset(
    {
        "model",
        "prompt",
        "n",
        "size",
        "quality",
        "style",
        "response_format",
        "background",
        "output_format",
        "output_compression",
        "moderation",
        "user",
    }
)
MAX_IMAGES = 10
# OpenAI's text-to-speech parameters. The input is billed by its characters, known before the call.
SPEECH_FIELDS = frozenset({"model", "input", "voice", "instructions", "response_format", "speed", "stream_format"})
MAX_SPEECH_CHARACTERS = 4096
# OpenAI's transcription form fields (multipart/form-data with the audio as `file`).
TRANSCRIPTION_FIELDS = frozenset(
    {"file", "model", "language", "prompt", "response_format", "temperature", "timestamp_granularities[]", "include[]"}
)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    # The JSON fields a body may hold; None: the route takes no body.
    fields: frozenset[str] | None = None
    # What the body is checked as (and billed as): chat, embedding, messages, responses, completion, image, speech,
    # transcription.
    kind: str = "chat"
    # The body's media type: JSON everywhere but transcription's multipart form.
    form: bool = False


# The billed routes: one per call kind of the contract (lib/billing/contract.json), each with its path as LiteLLM
# serves it and the body fields it takes. A kind the contract names and this table does not fails at import.
BILLED_ROUTES: dict[str, tuple[re.Pattern[str], frozenset[str]]] = {
    "chat": (re.compile(r"^/(v1/)?chat/completions$"), CHAT_FIELDS),
    "embedding": (re.compile(r"^/(v1/)?embeddings$"), EMBEDDING_FIELDS),
    "messages": (re.compile(r"^/v1/messages$"), MESSAGES_FIELDS),
    "responses": (re.compile(r"^/(v1/)?responses$"), RESPONSES_FIELDS),
    "completion": (re.compile(r"^/(v1/)?completions$"), COMPLETION_FIELDS),
    "image": (re.compile(r"^/(v1/)?images/generations$"), IMAGE_FIELDS),
    "speech": (re.compile(r"^/(v1/)?audio/speech$"), SPEECH_FIELDS),
    "transcription": (re.compile(r"^/(v1/)?audio/transcriptions$"), TRANSCRIPTION_FIELDS),
}
if set(BILLED_ROUTES) != set(CALL_KINDS):
    raise RuntimeError(f"gate routes {sorted(BILLED_ROUTES)} are not the contract's call kinds {sorted(CALL_KINDS)}")

# Kinds whose LiteLLM route takes no call id from the x-litellm-call-id header and runs the hooks before it assigns one
# (images, speech, transcription): billing.py assigns theirs, so the gate adds no header to them.
HOOK_ASSIGNED_CALL_ID_KINDS = frozenset({"image", "speech", "transcription"})

# What an app key may call. Each is billed by the plugin (or free and harmless, like the model list).
APP_ROUTES: tuple[Route, ...] = (
    *(Route("POST", *BILLED_ROUTES[kind], kind, form=kind == "transcription") for kind in CALL_KINDS),
    Route("GET", re.compile(r"^/(v1/)?models$"), kind="models"),
    # Answered by the gate from the key's model list (the path itself never reaches LiteLLM): any model name.
    Route("GET", re.compile(r"^/(v1/)?models/[^\x00-\x1f\x7f]{1,256}$"), kind="model"),
)
# Reachable without an app key: the liveness probe, and the plugin's own routes (gateway secret).
OPEN_ROUTES: tuple[re.Pattern[str], ...] = (
    re.compile(r"^/health/(liveliness|liveness)$"),
    re.compile(r"^/tollgate/"),
)

# Response headers an app may see among LiteLLM's own; every other x-litellm-* and llm_provider-* is dropped
# (api base, deployment and provider model names, provider cost, key spend, LiteLLM's version, timings).
KEPT_LITELLM_HEADERS = frozenset(
    {"x-litellm-call-id", "x-litellm-model-group", "x-litellm-attempted-retries", "x-litellm-attempted-fallbacks"}
)


def find_route(method: str, path: str) -> Route | None:
    """The app route this request is for (None: not one). A path that matches with another method is 405."""
    for route in APP_ROUTES:
        if route.pattern.match(path):
            if route.method != method:
                raise GatewayError(405, f"{method} {path} is not supported.", "invalid_request_error",
                                   "method_not_allowed")
            return route
    return None


def is_open(path: str) -> bool:
    return any(pattern.match(path) for pattern in OPEN_ROUTES)


def check_headers(headers: list[tuple[str, str]]) -> None:
    """LiteLLM reads control headers from clients (call id, timeouts, retries, tags, …): none is accepted."""
    for name, _ in headers:
        if name.startswith("x-litellm-") or name.startswith("litellm"):
            if name == "x-litellm-call-id":
                raise GatewayError(
                    403,
                    "The x-litellm-call-id header is not accepted: Tollgate assigns call ids.",
                    "permission_error",
                    "call_id_not_allowed",
                    name,
                )
            raise GatewayError(
                403, f"The {name} header is not accepted by this gateway.", "permission_error", "header_not_allowed", name
            )


# The scope key under which the gate records the call id it assigned (auth.py accepts that header value only).
ASSIGNED_CALL_ID = "tollgate.call_id"


def assign_call_id(scope: Scope) -> Scope:
    """A billed call's id, chosen here (a client's x-litellm-call-id was refused above): a UUIDv7 (ids.py), handed to
    LiteLLM as the header it takes its call id from, and recorded in the scope so auth.py knows the header is ours."""
    call_id = new_call_id()
    return {**scope, "headers": [*(scope.get("headers") or []), (b"x-litellm-call-id", call_id.encode())],
            ASSIGNED_CALL_ID: call_id}


def _integer(body: dict, field: str, low: int, high: int) -> None:
    if field not in body or body[field] is None:
        return
    value = body[field]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_request(f"{field} must be an integer between {low} and {high}.", field, "invalid_value")


def _boolean(body: dict, field: str) -> None:
    if body.get(field) is not None and not isinstance(body[field], bool):
        raise bad_request(f"{field} must be true or false.", field, "invalid_value")


def check_body(route: Route, body: Any) -> None:
    """The body of a JSON app route: an object of documented fields, with well-typed money-relevant values."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    assert route.fields is not None
    for field in body:
        if field not in route.fields:
            raise bad_request(f"Unrecognized request argument supplied: {field}", str(field), "unknown_parameter")
    model = body.get("model")
    if not isinstance(model, str) or not 0 < len(model) <= 256:
        raise bad_request("model must be a model name (a non-empty string).", "model", "invalid_value")
    user = body.get("user")
    if user is not None and (not isinstance(user, str) or len(user) > 512):
        raise bad_request("user must be a string of at most 512 characters.", "user", "invalid_value")
    _BODY_CHECKS[route.kind](body)


def _check_chat(body: dict) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("messages must be a non-empty array.", "messages", "invalid_value")
    _integer(body, "max_tokens", 1, MAX_INT32)
    _integer(body, "max_completion_tokens", 1, MAX_INT32)
    _integer(body, "n", 1, 128)
    _boolean(body, "stream")
    _stream_options(body)


def _stream_options(body: dict) -> None:
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict) or any(k not in STREAM_OPTION_FIELDS for k in options):
            raise bad_request("stream_options may only hold include_usage.", "stream_options", "invalid_value")


def _check_messages(body: dict) -> None:
    """Anthropic's Messages: max_tokens is required there, so every call's output is bounded by the app."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("messages must be a non-empty array.", "messages", "invalid_value")
    if body.get("max_tokens") is None:
        raise bad_request("max_tokens is required.", "max_tokens", "invalid_value")
    _integer(body, "max_tokens", 1, MAX_INT32)
    _boolean(body, "stream")
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        raise bad_request("system must be a string or an array of text blocks.", "system", "invalid_value")


def _check_responses(body: dict) -> None:
    value = body.get("input")
    if not ((isinstance(value, str) and value != "") or (isinstance(value, list) and value)):
        raise bad_request("input must be a non-empty string or array of input items.", "input", "invalid_value")
    _integer(body, "max_output_tokens", 1, MAX_INT32)
    _boolean(body, "stream")
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise bad_request("instructions must be a string.", "instructions", "invalid_value")


def _check_completion(body: dict) -> None:
    """prompt: a string, an array of strings, a token array or an array of them; best_of at least n."""
    _texts_or_tokens(body, "prompt", MAX_COMPLETION_PROMPTS)
    _integer(body, "max_tokens", 1, MAX_INT32)
    _integer(body, "n", 1, 128)
    _integer(body, "best_of", 1, 128)
    _integer(body, "logprobs", 0, 5)
    _boolean(body, "stream")
    _boolean(body, "echo")
    if (body.get("best_of") or 1) < (body.get("n") or 1):
        raise bad_request("best_of must be at least n.", "best_of", "invalid_value")
    suffix = body.get("suffix")
    if suffix is not None and not isinstance(suffix, str):
        raise bad_request("suffix must be a string.", "suffix", "invalid_value")
    _stream_options(body)


def _check_image(body: dict) -> None:
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not 0 < len(prompt) <= 32_000:
        raise bad_request("prompt must be a non-empty string.", "prompt", "invalid_value")
    _integer(body, "n", 1, MAX_IMAGES)
    size = body.get("size")
    if size is not None and (not isinstance(size, str) or not IMAGE_SIZE.fullmatch(size)):
        raise bad_request("size must be auto or WIDTHxHEIGHT, like 1024x1024.", "size", "invalid_value")
    quality = body.get("quality")
    if quality is not None and quality not in IMAGE_QUALITIES:
        raise bad_request(f"quality must be one of {', '.join(sorted(IMAGE_QUALITIES))}.", "quality", "invalid_value")
    for field in ("style", "response_format", "background", "output_format", "moderation"):
        value = body.get(field)
        if value is not None and (not isinstance(value, str) or len(value) > 32):
            raise bad_request(f"{field} must be a short string.", field, "invalid_value")
    _integer(body, "output_compression", 0, 100)


def _check_speech(body: dict) -> None:
    text = body.get("input")
    if not isinstance(text, str) or not 0 < len(text) <= MAX_SPEECH_CHARACTERS:
        raise bad_request(f"input must be a string of 1 to {MAX_SPEECH_CHARACTERS} characters.", "input", "invalid_value")
    for field in ("voice", "response_format", "stream_format"):
        value = body.get(field)
        if value is not None and (not isinstance(value, str) or len(value) > 64):
            raise bad_request(f"{field} must be a short string.", field, "invalid_value")
    instructions = body.get("instructions")
    if instructions is not None and (not isinstance(instructions, str) or len(instructions) > MAX_SPEECH_CHARACTERS):
        raise bad_request("instructions must be a string.", "instructions", "invalid_value")
    speed = body.get("speed")
    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0.25 <= speed <= 4):
        raise bad_request("speed must be a number from 0.25 to 4.", "speed", "invalid_value")


async def check_form(route: Route, raw: bytes, content_type: str, max_file: int) -> None:
    """A multipart body (transcription): only the documented fields, one audio file no larger than max_file, a model.
    LiteLLM passes every other form field into the call as a parameter, as it would a JSON body's."""
    from starlette.datastructures import UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def chunks():
        yield raw

    headers = Headers({"content-type": content_type})
    try:
        form = await MultiPartParser(headers, chunks(), max_files=2, max_fields=16).parse()
    except MultiPartException as error:
        raise bad_request(f"The form could not be read: {error.message}", None, "invalid_form") from error
    try:
        assert route.fields is not None
        files = 0
        for name, value in form.multi_items():
            if name not in route.fields:
                raise bad_request(f"Unrecognized request argument supplied: {name}", name, "unknown_parameter")
            if isinstance(value, UploadFile):
                if name != "file":
                    raise bad_request(f"{name} must not be a file.", name, "invalid_value")
                files += 1
                if value.size is not None and value.size > max_file:
                    raise GatewayError(413, f"The audio file is larger than {max_file} bytes.", "invalid_request_error",
                                  "file_too_large", "file")
            elif name == "file" or len(value) > 4096:
                raise bad_request(f"{name} must be a short text field.", name, "invalid_value")
        if files != 1:
            raise bad_request("Send the audio as one file field named file.", "file", "invalid_value")
        model = form.get("model")
        if not isinstance(model, str) or not 0 < len(model) <= 256:
            raise bad_request("model must be a model name (a non-empty string).", "model", "invalid_value")
    finally:
        await form.close()


def _is_token_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(t, int) and not isinstance(t, bool) and 0 <= t <= MAX_INT32 for t in value
    )


def _texts_or_tokens(body: dict, field: str, most: int) -> None:
    """A non-empty string, a token-id array, or an array of at most `most` of either (embeddings' input, completions'
    prompt)."""
    value = body.get(field)
    ok = (isinstance(value, str) and value != "") or _is_token_list(value) or (
        isinstance(value, list)
        and 0 < len(value) <= most
        and (all(isinstance(v, str) and v != "" for v in value) or all(_is_token_list(v) for v in value))
    )
    if not ok:
        raise bad_request(
            f"{field} must be a non-empty string, token array, or an array of at most {most} of them.",
            field,
            "invalid_value",
        )


def _check_embedding(body: dict) -> None:
    """input: a non-empty string, an array of them, an array of token ids, or an array of such arrays."""
    _texts_or_tokens(body, "input", MAX_EMBEDDING_INPUTS)
    if body.get("encoding_format") not in (None, "float", "base64"):
        raise bad_request("encoding_format must be float or base64.", "encoding_format", "invalid_value")
    _integer(body, "dimensions", 1, 65_536)


# Each JSON route's own body checks, by call kind (transcription is a form, checked as one). The plugin fails at import
# if a JSON kind of the contract has none.
_BODY_CHECKS: dict[str, Any] = {
    "chat": _check_chat,
    "completion": _check_completion,
    "responses": _check_responses,
    "messages": _check_messages,
    "embedding": _check_embedding,
    "image": _check_image,
    "speech": _check_speech,
}
if set(_BODY_CHECKS) != {kind for kind in CALL_KINDS if kind != "transcription"}:
    raise RuntimeError(f"gate.py: body checks {sorted(_BODY_CHECKS)} differ from the contract's JSON kinds")


def parse_json(raw: bytes) -> Any:
    """Parsed with orjson, as LiteLLM parses it, so both see the same fields (duplicate keys: the last wins in both)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise bad_request(f"The request body is not valid JSON: {error}", None, "invalid_json") from error


def filter_response_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    kept = []
    for name, value in headers:
        lower = name.decode("latin-1").lower()
        if lower.startswith("llm_provider-"):
            continue
        if lower.startswith("x-litellm-") and lower not in KEPT_LITELLM_HEADERS:
            continue
        kept.append((name, value))
    return kept


class Gate:
    """ASGI middleware applying the rules above to every HTTP request but the master key's."""

    def __init__(
        self, app: ASGIApp, master_key: str | None, max_audio: int = 25 * 1024 * 1024, max_body: int = MAX_BODY_BYTES
    ) -> None:
        self.app = app
        self.master_key = master_key
        self.max_audio = max_audio
        self.max_body = max_body

    def _is_master(self, headers: list[tuple[str, str]]) -> bool:
        if not self.master_key:
            return False
        for name, value in headers:
            if name == "authorization":
                presented = value[7:].strip() if value[:7].lower() == "bearer " else ""
                return hmac.compare_digest(presented.encode(), self.master_key.encode())
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") not in ("http", "websocket"):
            return await self.app(scope, receive, send)  # lifespan
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers") or []]
        if self._is_master(headers):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            # LiteLLM's websocket routes (Realtime, Responses over a socket, Vertex live) authenticate app keys but
            # are not billed per call: closed before the handshake completes (the client sees HTTP 403).
            if (await receive())["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008, "reason": "not available with Tollgate keys"})
            return None
        tracked = _Tracked(send)
        call: dict[str, str] = {}
        token = _CALL.set(call)
        try:
            await self._serve(scope, receive, tracked, headers, call)
        except Exception:
            # Starlette's error middleware answers an unhandled exception with a 500, then raises it again for the
            # server to log; uvicorn then closes the connection, and the client's next call on its kept-alive
            # connection fails. An answer that was sent in full keeps its connection: the exception is only logged.
            # A response cut mid-way must drop the connection (re-raised); none sent yet: a 500 in OpenAI's shape.
            if tracked.complete:
                logger.exception("an exception escaped LiteLLM after its answer was sent (%s)", scope.get("path"))
                return None
            if tracked.started:
                raise
            logger.exception("an exception escaped LiteLLM before it answered (%s)", scope.get("path"))
            await _respond(
                tracked,
                GatewayError(500, "The gateway could not answer this request.", "server_error", "internal_error"),
                call.get("call_id"),
            )
        finally:
            _CALL.reset(token)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, headers: list[tuple[str, str]], call: dict[str, str]
    ) -> None:
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if is_open(path):
            return await self.app(scope, receive, send)
        # A browser's CORS preflight (answered by LiteLLM's CORS middleware, never routed); any other OPTIONS
        # would reach a route's own handler.
        preflight = method == "OPTIONS" and "access-control-request-method" in dict(headers)
        try:
            route = None if preflight else find_route(method, path)
            if route is None and not preflight:
                raise GatewayError(
                    403, f"{path} is not available with Tollgate API keys.", "permission_error", "route_not_allowed"
                )
            check_headers(headers)
            if route is not None and route.kind in ("models", "model"):
                # The list's query parameters are LiteLLM's (fallback metadata, wildcard routes, admin scope): dropped.
                listing = {**scope, "query_string": b""}
                if route.kind == "model":
                    return await self._retrieve_model(listing, receive, send, path)
                return await self.app(listing, receive, _filtering(send, call))
            if route is not None and route.fields is not None:
                if scope.get("query_string"):
                    raise bad_request("Query parameters are not accepted on this route.", None, "unknown_parameter")
                content_type = dict(headers).get("content-type", "")
                wanted = "multipart/form-data" if route.form else "application/json"
                if not content_type.lower().startswith(wanted):
                    raise GatewayError(415, f"Send the body as {wanted}.", "invalid_request_error",
                                       "unsupported_media_type")
                if dict(headers).get("content-encoding", "identity").lower() != "identity":
                    raise GatewayError(415, "Compressed request bodies are not accepted.", "invalid_request_error", "unsupported_media_type")
                # A form carries the audio file (up to max_audio) beside its few short fields.
                raw = await self._read_body(receive, self.max_audio + 64 * 1024 if route.form else self.max_body)
                if route.form:
                    await check_form(route, raw, content_type, self.max_audio)
                else:
                    check_body(route, parse_json(raw))
                receive = _replay(raw, receive)
        except GatewayError as refusal:
            return await _respond(send, refusal)
        if route is not None and route.fields is not None and route.kind not in HOOK_ASSIGNED_CALL_ID_KINDS:
            scope = assign_call_id(scope)
        await self.app(scope, receive, _filtering(send, call))

    async def _retrieve_model(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """GET /v1/models/{id}, as OpenAI answers it: the model object if the key may call it (it is in the list
        GET /v1/models gives this key), else 404 model_not_found. LiteLLM's own route for it refuses app keys as an
        admin route (a 500 in 1.102.4), so the list is asked instead and this path never reaches LiteLLM."""
        prefix, _, model = path.partition("/models/")
        listing = {**scope, "path": f"{prefix}/models", "raw_path": f"{prefix}/models".encode()}
        answer: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"], answer["headers"] = message.get("status", 200), list(message.get("headers") or [])
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")

        await self.app(listing, receive, capture)
        if answer["status"] != 200:
            # The key's refusal (401, 403, 503…) as LiteLLM answered it, through the usual filters.
            out = _filtering(send)
            await out({"type": "http.response.start", "status": answer["status"], "headers": answer["headers"]})
            return await out({"type": "http.response.body", "body": answer["body"]})
        try:
            entries = orjson.loads(answer["body"]).get("data") or []
        except (orjson.JSONDecodeError, AttributeError):
            entries = []
        for entry in entries:
            if isinstance(entry, dict) and entry.get("id") == model:
                body = orjson.dumps({"id": model, "object": "model", "created": entry.get("created") or 0,
                                     "owned_by": entry.get("owned_by") or "tollgate"})
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                return await send({"type": "http.response.body", "body": body})
        await _respond(send, GatewayError(404, f"The model `{model}` does not exist or you do not have access to it.",
                                     "invalid_request_error", "model_not_found"))

    async def _read_body(self, receive: Receive, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise GatewayError(400, "The client went away.", "invalid_request_error", "client_disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise GatewayError(413, f"The request body is larger than {limit} bytes.", "invalid_request_error", "payload_too_large")
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)


class _Tracked:
    """The server's send, remembering whether a response started and whether it was sent in full."""

    __slots__ = ("send", "started", "complete")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False
        self.complete = False

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.started = True
        elif kind == "http.response.body" and not message.get("more_body"):
            self.complete = True
        await self.send(message)


# The request being answered: the call id LiteLLM (or the plugin) assigned to it, noted by the billing callback's
# failure hook (TollgateBilling.async_post_call_failure_hook) when the call fails, for the error answers LiteLLM sends without it (completions, images, speech, transcription).
_CALL: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("tollgate_gate_call", default=None)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def note_call_id(request_data: Any, user_api_key_dict: Any) -> None:
    """Remembers a failed app-key call's id for its error answer (only a uuid: it becomes a header)."""
    slot = _CALL.get()
    if slot is None or not isinstance(request_data, dict):
        return
    metadata = getattr(user_api_key_dict, "metadata", None)
    if not isinstance(metadata, dict) or not metadata.get("tollgate_key_id"):
        return  # not an authenticated app key (an auth failure's request gets a throwaway id)
    call_id = request_data.get("litellm_call_id")
    if isinstance(call_id, str) and _UUID.match(call_id):
        slot["call_id"] = call_id


def _replay(raw: bytes, receive: Receive) -> Receive:
    """Hands the body already read to the app once, then defers to the client's stream (disconnects)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return replayed


# Where LiteLLM's error messages start telling the operator's routing: fallback groups, retries, model groups.
_ROUTING_DETAIL = re.compile(
    r"\s*(No fallback model group found|Received Model Group=|Available Model Group Fallbacks=|Fallbacks=\[|"
    r"LiteLLM Retried:|Error doing the fallback).*",
    re.DOTALL,
)
# LiteLLM's exception chain before the provider's own words ("litellm.InternalServerError: InternalServerError:
# OpenAIException - …").
_EXCEPTION_PREFIX = re.compile(r"^(litellm\.\w+:\s*)?(\w+Error:\s*)*(\w+Exception\s*-\s*)?")


def scrub_error_message(message: str) -> str:
    """An error message as an app may read it: the provider's words, without the gateway's routing (fallback groups,
    retries, deployments) that LiteLLM appends. Tollgate's own refusals pass unchanged."""
    scrubbed = _EXCEPTION_PREFIX.sub("", _ROUTING_DETAIL.sub("", message)).strip()
    return scrubbed or "The model's provider returned an error."


def _scrub_error_body(body: bytes) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        error["message"] = scrub_error_message(error["message"])
        return json.dumps(data).encode()
    if isinstance(data, dict) and isinstance(data.get("detail"), str):
        data["detail"] = scrub_error_message(data["detail"])
        return json.dumps(data).encode()
    return body


# LiteLLM's cost figure: a key naming a cost inside a `usage` object. LiteLLM 1.102.4 stamps `usage.cost` (its
# price from config.yaml or its cost map, for a real provider the list price) on streamed chat's usage chunk
# (main.py _stamp_streaming_usage_cost) and on the Responses API's response.completed/incomplete/failed events
# (responses/streaming_iterator.py _stamp_responses_usage_cost), with no switch to turn it off
# (`include_cost_in_streaming_usage` only governs a second injection, off by default); it keeps `"cost": null` in
# Responses bodies and passes a provider's own usage.cost (OpenRouter, xAI, Perplexity: `cost`, `cost_details`)
# into bodies and streams. An app pays Tollgate's charge (x-tollgate-* headers, the usage API), never this.
_COST_KEY = re.compile(rb'"[A-Za-z0-9_]*cost[A-Za-z0-9_]*"\s*:')
# JSON's strings (escapes included) and structural characters; numbers and literals lie between them.
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],:]', re.DOTALL)
_WHITESPACE = b" \t\r\n"


def strip_usage_cost(doc: bytes) -> bytes:
    """A JSON document without the cost members of its `usage` objects (at any depth), every other byte as it was.
    Anything that does not scan as JSON is returned unchanged."""
    if b"cost" not in doc or _COST_KEY.search(doc) is None:
        return doc
    cuts: list[tuple[int, int]] = []
    # One frame per open container: None for an array; for an object a _Members.
    stack: list[_Members | None] = []
    expect_key = False
    for match in _JSON_TOKEN.finditer(doc):
        at = match.start()
        char = doc[at]
        if char == 0x22:  # a string: a key where one is expected, else a value
            if expect_key:
                frame = stack[-1]
                assert frame is not None
                frame.key, frame.key_at, expect_key = match.group(), at, False
        elif char == 0x3A:  # :
            continue
        elif char == 0x7B:  # {
            parent = stack[-1] if stack else None
            stack.append(_Members(parent is not None and parent.key == b'"usage"'))
            expect_key = True
        elif char == 0x5B:  # [
            stack.append(None)
            expect_key = False
        elif not stack:
            return doc
        else:
            frame = stack[-1]
            if char == 0x2C:  # ,
                if frame is not None:
                    frame.end_member(at)
                    frame.comma, expect_key = at, True
                continue
            if (char == 0x7D) != (frame is not None):  # } closes an object, ] an array
                return doc
            if frame is not None:
                frame.end_member(at)
                frame.resolve(doc, at, cuts)
            stack.pop()
            expect_key = False
    if stack or not cuts:
        return doc
    cuts.sort()
    merged: list[list[int]] = []
    for begin, end in cuts:
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    parts, kept = [], 0
    for begin, end in merged:
        parts.append(doc[kept:begin])
        kept = end
    parts.append(doc[kept:])
    return b"".join(parts)


class _Members:
    """An object being scanned: its current member, and (in a usage object) the cost members to cut."""

    __slots__ = ("usage", "key", "key_at", "comma", "index", "last_kept", "costs")

    def __init__(self, usage: bool) -> None:
        self.usage = usage
        self.key: bytes | None = None
        self.key_at = -1
        self.comma = -1  # the comma before the current member
        self.index = 0
        self.last_kept = -1
        self.costs: list[tuple[int, int, int, int]] = []  # (index, key at, end, comma before)

    def end_member(self, end: int) -> None:
        if self.key is None:
            return
        if self.usage and b"cost" in self.key:
            self.costs.append((self.index, self.key_at, end, self.comma))
        else:
            self.last_kept = self.index
        self.index += 1
        self.key = None

    def resolve(self, doc: bytes, close: int, cuts: list[tuple[int, int]]) -> None:
        """A cut member goes with the comma after it when a kept member follows, else with the comma before it (or
        alone): the object stays valid JSON."""
        for index, key_at, end, comma in self.costs:
            if index < self.last_kept:
                stop = end + 1
                while stop < close and doc[stop] in _WHITESPACE:
                    stop += 1
                cuts.append((key_at, stop))
            else:
                cuts.append((comma if comma >= 0 else key_at, end))


def strip_sse_cost(block: bytes) -> bytes:
    """Whole lines of an event stream: each `data:` line's JSON without usage cost."""
    if _COST_KEY.search(block) is None:
        return block
    lines = block.split(b"\n")
    for i, line in enumerate(lines):
        if line.startswith(b"data:") and b"cost" in line:
            lines[i] = line[:5] + strip_usage_cost(line[5:])
    return b"\n".join(lines)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _filtering(send: Send, call: dict[str, str] | None = None) -> Send:
    """Responses to app keys:
    - headers lose what reveals upstreams (filter_response_headers); an error answer gets the call id LiteLLM
      assigned when LiteLLM did not set it (noted by the billing callback's failure hook);
    - an error's JSON body loses the routing LiteLLM writes into it (buffered: error bodies are small);
    - a JSON body loses usage cost (held until complete, as LiteLLM sends it in one piece, to fix its length);
    - an event stream loses usage cost line by line: a body message that ends a line and holds no "cost" passes as
      it is; otherwise only whole lines are sent and the unfinished rest waits for the next message;
    - anything else (audio) streams through untouched."""
    held: dict[str, Any] = {}
    mode = ""
    pending = b""

    async def filtered(message: Message) -> None:
        nonlocal mode, pending
        kind = message["type"]
        if kind == "http.response.start":
            headers = filter_response_headers(list(message.get("headers") or []))
            status = message.get("status", 200)
            content_type = (_header(headers, b"content-type") or b"").lower()
            if status >= 400 and call and call.get("call_id") and _header(headers, b"x-litellm-call-id") is None:
                headers.append((b"x-litellm-call-id", call["call_id"].encode()))
            message = {**message, "headers": headers}
            if content_type.startswith(b"application/json"):
                mode = "error" if status >= 400 else "json"
                held["start"], held["body"] = message, []
                return
            if content_type.startswith(b"text/event-stream") and status < 400:
                mode = "sse"
                if _header(headers, b"content-length") is not None:  # lines may get shorter
                    message["headers"] = [(k, v) for k, v in headers if k.lower() != b"content-length"]
            await send(message)
            return
        if kind != "http.response.body" or not mode:
            await send(message)
            return
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if mode == "sse":
            if not pending and body.endswith(b"\n") and b"cost" not in body:
                await send(message)  # the fast path: whole lines, nothing to take out
                return
            data = pending + body if pending else body
            if more:
                cut = data.rfind(b"\n") + 1
                data, pending = data[:cut], data[cut:]
            else:
                pending = b""
            if b"cost" in data:
                data = strip_sse_cost(data)
            if data or not more:
                await send({**message, "body": data})
            return
        held["body"].append(body)
        if more:
            return
        raw = b"".join(held["body"])
        out = _scrub_error_body(raw) if mode == "error" else strip_usage_cost(raw)
        start = held.pop("start")
        if out is not raw or mode == "error":
            start["headers"] = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"] + [
                (b"content-length", str(len(out)).encode())
            ]
        mode = ""
        await send(start)
        await send({"type": "http.response.body", "body": out, "more_body": False})

    return filtered


async def _respond(send: Send, refusal: GatewayError, call_id: str | None = None) -> None:
    body = refusal.body()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if call_id:
        headers.append((b"x-litellm-call-id", call_id.encode()))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install(app: Any, master_key: str | None, max_audio: int = 25 * 1024 * 1024) -> bool:
    """
    Puts the gate in front of LiteLLM's FastAPI app. The plugin is imported during the proxy's startup, when
    Starlette has already built its middleware stack (add_middleware is refused then), so the built stack is
    wrapped instead: every later request passes the gate first. Checked against the pinned LiteLLM/Starlette.
    """
    if isinstance(getattr(app, "middleware_stack", None), Gate):
        return False
    stack = app.middleware_stack if app.middleware_stack is not None else app.build_middleware_stack()
    app.middleware_stack = Gate(stack, master_key, max_audio)
    return True
