"""
What a call may cost at most, per call kind: the units its reservation (a lease draw or a per-call hold) is priced
for. A reservation is an UPPER BOUND of the call's charge, for every kind (billing contract, clauses 3 and 40): never
an estimate a crafted request can undercut. `reservation_units(kind, data, …)` is the one entry point (the
pre-call hook calls it); `ESTIMATORS` is the table of rules by kind.

## Prompt bound of the token-billed kinds (chat, responses, messages, completion, embedding)

    bound = UTF-8 bytes of the client's body (compact JSON, only the documented input-bearing fields: no routing or
            LiteLLM state), minus the payloads of image/file/audio parts
          + the bytes of every part LiteLLM re-serializes with json.dumps (tool_use inputs, function_call_output lists…)
          + PER_REQUEST_TOKENS + PER_ITEM_TOKENS per message / input item
          + TOOLS_TOKENS (+ PER_TOOL_TOKENS each) when tools are defined
          + IMAGE_INPUT_TOKENS per image part
    capped at the context window (max input tokens) of the largest deployment the call may reach, where LiteLLM's
    model info knows it for every one of them; a part whose size in tokens cannot be bounded from its bytes (files,
    PDFs, audio, video, stored-item references, hosted tools such as web search whose results are billed as input)
    counts as the whole context window (TOLLGATE_UNBOUNDED_INPUT_TOKENS when it is not known).

Why it is a bound:
  1. Text. Every tokenizer providers bill by (byte-level BPE: OpenAI's cl100k/o200k, Llama 3, Mistral's Tekken;
     SentencePiece with byte fallback: Gemini, Llama 2, Mistral; Anthropic's BPE) emits at most one token per byte of
     the text it encodes: each token stands for a non-empty byte string, and byte fallback encodes a byte the
     vocabulary lacks as one token. A text that sits in the body as a JSON string takes at least its UTF-8 bytes there
     (escapes only lengthen it), so the body's bytes bound the tokens of all the text in it.
  2. Framing. What a provider adds around each message or item is a few tokens (OpenAI: 3 per message + 1 per name
     + 3 to prime the reply; Anthropic and Gemini: role markers of a few tokens). Each message or item costs at least
     its own JSON framing in the body — `{"role":"user","content":""}` is 28 bytes — and PER_ITEM_TOKENS (4) is added
     per top-level item on top of it, so even a degenerate item (`{}`) is covered; PER_REQUEST_TOKENS covers the
     reply priming and a tokenizer's begin/end markers.
  3. LiteLLM's transformations (1.102.4), read in its source:
     - Responses → chat (responses/litellm_completion_transformation/transformation.py, for providers without a
       Responses API): each input item becomes one chat message (instructions become a system message); text is
       moved, not copied, with the framing of point 2 per message. function_call_output lists and custom tool inputs
       are re-serialized with json.dumps (ASCII escapes, ", " and ": " separators: up to 3× their compact size):
       their json.dumps length is added once more (RESERIALIZED_TYPES).
     - Anthropic Messages → Responses (llms/anthropic/experimental_pass_through/responses_adapters, what an
       OpenAI-type deployment takes): each tool_result block becomes its own function_call_output item, so the
       per-message framing is paid per block — each block is at least `{"type":"tool_result"}` (22 bytes) in the
       body; the system prompt (a string, or text blocks joined with "\n", never longer than the blocks' JSON) becomes
       `instructions`; tool_use inputs are re-serialized with json.dumps (added once more, as above); a tool_result
       holding images gains a fixed placeholder and boundary text (< 200 bytes), which IMAGE_FRAMING_TOKENS per image
       covers; Anthropic web_search tools become a hosted web_search_preview tool (counted at the context window).
     - Anthropic Messages → chat (llms/anthropic/experimental_pass_through/adapters, other providers): each
       tool_result becomes its own tool message (point 2), system blocks become one system message, tool_use inputs
       are json.dumps'ed into `arguments` (added once more).
  4. Tools. A provider renders tool definitions into its prompt in its own format, plus a fixed tool-use system
     prompt (Anthropic documents 346 tokens for `auto`/`none`, 313 for `any`/`tool`): TOOLS_TOKENS per request with
     tools and PER_TOOL_TOKENS per tool on top of the definitions' JSON bytes.
  5. Images. A per-image token bound (TOLLGATE_IMAGE_INPUT_TOKENS). Sources (each provider's vision guide): OpenAI
     counts a high-detail image as base + tiles × per-tile after scaling to fit 2048×2048 and a 768 px shortest side
     (at most 8 tiles of 512 px): gpt-4o 85 + 8 × 170 = 1,445; gpt-4o-mini 2,833 + 8 × 5,667 = 48,169 (its image tokens
     are inflated to keep the dollar price of gpt-4o); patch-based models (gpt-4.1-mini…) at most 1,536 patches × 2.46.
     Anthropic: width × height / 750 after resizing to ≤ 1.15 megapixels (≈ 1,600 tokens; ≈ 4,800 on the
     largest-image models). Gemini: 258 tokens per 768×768 tile (images of ≤ 384 px: 258). The default, 48,169, is
     the largest of these.
Token-id arrays (embeddings, legacy completions) count exactly, by length; each text of those kinds is bounded by its
bytes and by the context window on its own (each input or prompt is a separate call of the model).

## Output bound
What LiteLLM will actually send: chat — the larger of max_tokens and max_completion_tokens (LiteLLM may send
either), else the model's most, × n; Responses — max_output_tokens raised to LiteLLM's minimum of 16
(llms/openai/responses/transformation.py, _enforce_min_max_output_tokens, on every OpenAI-compatible Responses
config), else the model's most; Messages — max_tokens raised to 16 too (an OpenAI-type deployment serves /v1/messages
through the Responses API: handler.py, _should_route_to_responses_api); legacy completions — max_tokens (else the
model's most) × best_of (≥ n) × prompts; embeddings — none.

## Transcription
Measured on the server from the file: a WAV whose header is consistent PCM is as long as the data bytes actually
present ÷ its byte rate; a WAV whose header is not consistent is refused (400) before anything is reserved; anything
else is reserved at the longest audio accepted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from .pricing import IMAGE_UNIT, NO_UNITS, Units
from .settings import Settings

logger = logging.getLogger("tollgate.bounds")

PER_REQUEST_TOKENS = 16
PER_ITEM_TOKENS = 4
TOOLS_TOKENS = 512
PER_TOOL_TOKENS = 16
IMAGE_FRAMING_TOKENS = 64
# Responses' minimum max_output_tokens (LiteLLM 1.102.4: OPENAI_RESPONSES_API_MIN_MAX_OUTPUT_TOKENS).
RESPONSES_MIN_OUTPUT_TOKENS = 16

# The documented fields of each kind's body that carry input (what the gate admits, minus sampling knobs, which are
# counted too: they are short, and counting the whole documented body is the simplest rule that cannot miss a field).
BODY_FIELDS = {
    "chat": ("messages", "tools", "tool_choice", "functions", "function_call", "response_format", "prediction",
             "stop", "logit_bias", "parallel_tool_calls", "reasoning_effort", "thinking", "verbosity", "user"),
    "responses": ("input", "instructions", "tools", "tool_choice", "text", "reasoning", "parallel_tool_calls",
                  "truncation", "user"),
    "messages": ("messages", "system", "tools", "tool_choice", "thinking", "stop_sequences"),
}
# Parts whose size in tokens is bounded per image.
IMAGE_TYPES = frozenset({"image_url", "input_image", "image", "computer_screenshot"})
# Parts whose size in tokens cannot be bounded from their bytes: counted at the context window.
UNBOUNDED_TYPES = frozenset({
    "file", "input_file", "document", "input_audio", "audio", "video", "video_url", "input_video", "item_reference",
    "file_search_call", "web_search_call", "container_upload", "search_result", "mcp_list_tools", "mcp_call",
    "web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result",
})
# The base64 payload fields of those parts: not text, so not counted as bytes.
PAYLOAD_KEYS = ("data", "file_data", "url", "image_url")
# Items and blocks LiteLLM re-serializes with json.dumps on the way (ASCII escapes and spaced separators).
RESERIALIZED_TYPES = frozenset({
    "tool_use", "server_tool_use", "mcp_tool_use", "function_call", "function_call_output", "custom_tool_call",
    "custom_tool_call_output", "apply_patch_call", "apply_patch_call_output",
})
# Tool types that are the app's own functions; any other (web_search, file_search, code_interpreter, computer…) is a
# hosted tool whose results are billed as input.
FUNCTION_TOOL_TYPES = frozenset({"function", "custom", None})
# Bytes that can only occur in a body holding a part the walk must look at.
WALK_MARKERS = (b"image", b"file", b"audio", b"video", b"document", b"tool_use", b"_call", b"item_reference",
                b"screenshot", b"search", b"mcp", b"container")


@dataclass(frozen=True)
class Reservation:
    """The units a call's reservation is priced for. max_output None: the model's most."""

    prompt_tokens: int
    max_output: int | None
    choices: int
    units: Units = NO_UNITS


class BadAudio(ValueError):
    """A WAV whose header does not describe its data consistently: refused (400) before anything is reserved."""


class Unmeasurable(ValueError):
    """A body too deeply nested to serialize: its prompt is counted at the context window."""


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        # Integers past 64 bits, lone surrogates, objects, nesting past orjson's 254 levels: the ASCII dump is never
        # shorter than the UTF-8 one.
        try:
            return json.dumps(value, default=str).encode()
        except (RecursionError, ValueError, TypeError) as error:
            raise Unmeasurable(str(error)) from error


def _ascii_len(value: Any) -> int:
    try:
        return len(json.dumps(value, default=str))
    except (RecursionError, ValueError, TypeError) as error:
        raise Unmeasurable(str(error)) from error


@dataclass
class _Walk:
    payload: int = 0  # bytes of image/file payloads to take off the body's size
    images: int = 0
    unbounded: bool = False
    reserialized: int = 0

    def visit(self, node: Any, depth: int = 0) -> None:
        if depth > 256:  # the gate bounds nesting; a bound must not recurse forever either way
            self.unbounded = True
            return
        if isinstance(node, list):
            for item in node:
                if isinstance(item, (dict, list)):
                    self.visit(item, depth + 1)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if isinstance(kind, str):
            if kind in IMAGE_TYPES:
                # An inline image (a data: URL or base64 of an image/* type) is bounded per image. Anything else may
                # be a PDF (LiteLLM fetches URLs for some providers and turns a PDF into a document), a stored file,
                # or not an image at all: counted at the context window.
                if _inline_image(node):
                    self.images += 1
                else:
                    self.unbounded = True
                self._strip(node)
            elif kind in UNBOUNDED_TYPES:
                self.unbounded = True
                self._strip(node)
            elif kind in RESERIALIZED_TYPES:
                self.reserialized += _ascii_len(node)
        for value in node.values():
            if isinstance(value, (dict, list)):
                self.visit(value, depth + 1)

    def _strip(self, node: dict) -> None:
        """Takes a media part's payload strings off the count (nested one level: image_url.url, source.data…)."""
        for holder in (node, *(v for v in node.values() if isinstance(v, dict))):
            for key in PAYLOAD_KEYS:
                value = holder.get(key)
                if isinstance(value, str) and len(value) > 64:
                    self.payload += len(_dumps(value)) - 2


def _inline_image(node: dict) -> bool:
    source = node.get("source")
    if isinstance(source, dict):  # Anthropic: {"type": "base64", "media_type": "image/png", "data": …}
        media = source.get("media_type")
        return source.get("type") == "base64" and isinstance(media, str) and media.startswith("image/")
    url = node.get("image_url")
    if isinstance(url, dict):  # chat: {"url": …, "detail": …, "format"?: …}
        fmt = url.get("format")
        if isinstance(fmt, str) and not fmt.startswith("image/"):
            return False
        url = url.get("url")
    return isinstance(url, str) and url.startswith("data:image/")


def _hosted_tools(tools: Any) -> bool:
    return isinstance(tools, list) and any(
        isinstance(t, dict) and t.get("type") not in FUNCTION_TOOL_TYPES for t in tools
    )


@dataclass(frozen=True)
class PromptLimits:
    """What caps a prompt bound: the largest context window the call may reach (None: not known for all of them)."""

    context_window: int | None
    image_tokens: int
    unbounded_tokens: int


def body_prompt_bound(kind: str, data: dict, limits: PromptLimits) -> int:
    """The prompt bound of a chat, Responses or Messages call (module docstring)."""
    body = {k: data[k] for k in BODY_FIELDS[kind] if data.get(k) is not None}
    walk = _Walk()
    try:
        raw = _dumps(body)
        if any(marker in raw for marker in WALK_MARKERS):
            walk.visit(body)
    except (Unmeasurable, RecursionError):
        return limits.context_window or limits.unbounded_tokens
    items = body.get("messages") if kind != "responses" else body.get("input")
    count = len(items) if isinstance(items, list) else 1
    tools = body.get("tools") or body.get("functions")
    tool_count = len(tools) if isinstance(tools, list) else 0
    bound = (
        len(raw) - walk.payload + walk.reserialized
        + PER_REQUEST_TOKENS + PER_ITEM_TOKENS * count
        + (TOOLS_TOKENS + PER_TOOL_TOKENS * tool_count if tool_count else 0)
        + (limits.image_tokens + IMAGE_FRAMING_TOKENS) * walk.images
    )
    if walk.unbounded or _hosted_tools(tools):
        return limits.context_window or max(bound, limits.unbounded_tokens)
    return min(bound, limits.context_window) if limits.context_window else bound


def _text_bound(item: Any, limits: PromptLimits) -> int:
    """One input of an embeddings call or one prompt of a legacy completion: a token-id array by its length (exact),
    a text by its bytes, capped at the context window (each is its own pass of the model)."""
    if isinstance(item, list):
        return len(item)
    text = item if isinstance(item, str) else str(item)
    bound = len(text.encode("utf-8", "surrogatepass")) + PER_ITEM_TOKENS
    return min(bound, limits.context_window) if limits.context_window else bound


def separate_inputs(value: Any) -> list[Any]:
    """A string, a token array, or a list of either: the separate inputs."""
    if isinstance(value, list) and value and not isinstance(value[0], int):
        return value
    return [value]


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


# -- the rules, by kind -------------------------------------------------------------------------------------------
def _chat(data: dict, limits: PromptLimits, settings: Settings) -> Reservation:
    asked = [v for v in (_positive(data.get("max_tokens")), _positive(data.get("max_completion_tokens"))) if v]
    return Reservation(body_prompt_bound("chat", data, limits), max(asked) if asked else None,
                       _positive(data.get("n")) or 1)


def _responses(data: dict, limits: PromptLimits, settings: Settings) -> Reservation:
    asked = _positive(data.get("max_output_tokens"))
    return Reservation(body_prompt_bound("responses", data, limits),
                       max(asked, RESPONSES_MIN_OUTPUT_TOKENS) if asked else None, 1)


def _messages(data: dict, limits: PromptLimits, settings: Settings) -> Reservation:
    asked = _positive(data.get("max_tokens"))
    return Reservation(body_prompt_bound("messages", data, limits),
                       max(asked, RESPONSES_MIN_OUTPUT_TOKENS) if asked else None, 1)


def _embedding(data: dict, limits: PromptLimits, settings: Settings) -> Reservation:
    return Reservation(sum(_text_bound(i, limits) for i in separate_inputs(data.get("input"))), 0, 1)


def _completion(data: dict, limits: PromptLimits, settings: Settings) -> Reservation:
    prompts = separate_inputs(data.get("prompt"))
    suffix = data.get("suffix")
    extra = len(str(suffix).encode("utf-8", "surrogatepass")) if suffix else 0
    prompt = sum(_text_bound(p, limits) + extra for p in prompts) + PER_REQUEST_TOKENS
    n = _positive(data.get("n")) or 1
    return Reservation(prompt, _positive(data.get("max_tokens")),
                       len(prompts) * max(n, _positive(data.get("best_of")) or 1))


def _image(data: dict, limits: PromptLimits, settings: Settings) -> Reservation:
    prompt = str(data.get("prompt") or "")
    size, quality = data.get("size"), data.get("quality")
    return Reservation(len(prompt.encode("utf-8", "surrogatepass")) + PER_REQUEST_TOKENS, 0, 1, Units(
        {IMAGE_UNIT: _positive(data.get("n")) or 1}, size if isinstance(size, str) else None,
        quality if isinstance(quality, str) else None))


def _speech(data: dict, limits: PromptLimits, settings: Settings) -> Reservation:
    """The characters the provider reads: the input, and the voice instructions it is billed for too."""
    characters = len(str(data.get("input") or "")) + len(str(data.get("instructions") or ""))
    return Reservation(0, 0, 1, Units({"characters": characters}))


def _transcription(data: dict, limits: PromptLimits, settings: Settings) -> Reservation:
    measured = wav_ms(data.get("file"), settings.max_audio_bytes)
    return Reservation(0, 0, 1, Units({"audio": settings.max_audio_seconds * 1000 if measured is None else measured}))


ESTIMATORS: dict[str, Callable[[dict, PromptLimits, Settings], Reservation]] = {
    "chat": _chat,
    "responses": _responses,
    "messages": _messages,
    "embedding": _embedding,
    "completion": _completion,
    "image": _image,
    "speech": _speech,
    "transcription": _transcription,
}
TOKEN_KINDS = frozenset({"chat", "responses", "messages", "embedding", "completion"})


def reservation_units(kind: str, data: dict, settings: Settings, models: list[str], router: Any = None) -> Reservation:
    """The units the call's reservation is priced for (an upper bound of what it can be charged)."""
    window = context_window(models, router) if kind in TOKEN_KINDS else None
    limits = PromptLimits(window, settings.image_input_tokens, settings.unbounded_input_tokens)
    return ESTIMATORS[kind](data, limits, settings)


# -- context windows ----------------------------------------------------------------------------------------------
_WINDOWS: dict[tuple[int, str], tuple[float, int | None]] = {}
WINDOW_TTL = 60.0


def _group_window(router: Any, group: str) -> int | None:
    """The largest max input tokens of a model group's deployments; None if one of them has none known."""
    deployments = router.get_model_list(model_name=group) or []
    best = 0
    for deployment in deployments:
        info = deployment.get("model_info") or {}
        # The larger of the operator's figure and LiteLLM's model map: a provider bills up to its own window, so a
        # configured window below it must not cap the bound.
        known = [w for w in (info.get("max_input_tokens"), _mapped_window(router, deployment, group))
                 if isinstance(w, int) and not isinstance(w, bool) and w > 0]
        if not known:
            return None
        best = max(best, *known)
    return best or None


def _mapped_window(router: Any, deployment: dict, group: str) -> int | None:
    """The deployment's max input tokens in LiteLLM's model map (None when the map does not know the model)."""
    try:
        return router.get_router_model_info(deployment=deployment, received_model_name=group).get("max_input_tokens")
    except Exception:
        return None


def context_window(models: list[str], router: Any) -> int | None:
    """The largest context window among the model groups a call may reach (the requested one and its fallbacks), from
    LiteLLM's model info for their deployments; None when any of them is not known (then nothing caps the bound)."""
    if router is None:
        return None
    now = time.monotonic()
    best = 0
    for group in models:
        key = (id(router), group)
        cached = _WINDOWS.get(key)
        if cached is None or cached[0] < now:
            try:
                cached = (now + WINDOW_TTL, _group_window(router, group))
            except Exception:
                logger.exception("could not read the context window of %s", group)
                cached = (now + WINDOW_TTL, None)
            if len(_WINDOWS) > 10_000:
                _WINDOWS.clear()
            _WINDOWS[key] = cached
        if cached[1] is None:
            return None
        best = max(best, cached[1])
    return best or None


# -- transcription ------------------------------------------------------------------------------------------------
PCM_FORMATS = frozenset({1, 3})  # PCM, IEEE float (WAVE_FORMAT_EXTENSIBLE counts as its sub-format)
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT are {0000000X-0000-0010-8000-00aa00389b71}: the format code, then this.
KSDATAFORMAT_TAIL = bytes.fromhex("000000001000800000aa00389b71")


def _read_all(file: Any, limit: int) -> bytes | None:
    if isinstance(file, (bytes, bytearray)):
        return bytes(file[: limit + 1])
    if isinstance(file, tuple) and len(file) >= 2 and isinstance(file[1], (bytes, bytearray)):
        return bytes(file[1][: limit + 1])
    if not hasattr(file, "read") or not hasattr(file, "seek"):
        return None
    try:
        file.seek(0)
        raw = file.read(limit + 1)
        return raw if isinstance(raw, bytes) else None
    except (ValueError, OSError):
        return None
    finally:
        try:
            file.seek(0)
        except (ValueError, OSError):
            pass


def wav_ms(file: Any, limit: int = 512 * 1024 * 1024) -> int | None:
    """A WAV's length measured from what the file holds: data bytes present ÷ byte rate, in ms rounded up. None for
    anything that is not a RIFF/WAVE file, or a WAVE whose encoding is not PCM (its length is not its bytes ÷ a rate):
    those are reserved at the longest audio accepted. A RIFF/WAVE PCM file whose header is inconsistent (byte rate ≠
    sample rate × block align, block align ≠ channels × bytes per sample, an odd sample rate, no fmt before data)
    raises BadAudio: a decoder would disagree with its header, so it is refused before anything is reserved."""
    raw = _read_all(file, limit)
    if raw is None or len(raw) < 12 or raw[0:4] != b"RIFF" or raw[8:12] != b"WAVE":
        return None
    fmt: tuple[int, int, int, int, int, int] | None = None
    at = 12
    while at + 8 <= len(raw):
        chunk, size = raw[at:at + 4], int.from_bytes(raw[at + 4:at + 8], "little")
        body = at + 8
        if chunk == b"fmt ":
            if fmt is not None:  # decoders read the first; a second must not make the file look shorter
                raise BadAudio("it has more than one fmt chunk")
            if size < 16 or body + 16 > len(raw):
                raise BadAudio("its fmt chunk is truncated")
            f = raw[body:body + 16]
            fmt = (int.from_bytes(f[0:2], "little"), int.from_bytes(f[2:4], "little"),
                   int.from_bytes(f[4:8], "little"), int.from_bytes(f[8:12], "little"),
                   int.from_bytes(f[12:14], "little"), int.from_bytes(f[14:16], "little"))
            if fmt[0] == WAVE_FORMAT_EXTENSIBLE:
                # The real encoding is the sub-format GUID's: PCM or float, else not measurable by its bytes.
                guid = raw[body + 24:body + 40] if size >= 40 and body + 40 <= len(raw) else b""
                sub = int.from_bytes(guid[0:2], "little") if guid[2:] == KSDATAFORMAT_TAIL else None
                fmt = (sub if sub in (1, 3) else -1, *fmt[1:])
        elif chunk == b"data":
            if fmt is None:
                raise BadAudio("its data comes before its fmt chunk")
            encoding, channels, rate, byte_rate, block_align, bits = fmt
            if encoding not in PCM_FORMATS:
                return None
            if not 1 <= channels <= 64 or bits not in (8, 16, 24, 32, 64) or not 1000 <= rate <= 768_000:
                raise BadAudio(f"its header describes {channels} channels of {bits}-bit samples at {rate} Hz")
            if block_align != channels * bits // 8 or byte_rate != rate * block_align:
                raise BadAudio(
                    f"its header is inconsistent (byte rate {byte_rate}, block align {block_align}; "
                    f"{rate} Hz × {channels} channels × {bits} bits makes {rate * channels * bits // 8} bytes/s)")
            present = min(size, len(raw) - body)
            return (present * 1000 + byte_rate - 1) // byte_rate
        at = body + size + (size % 2)
    raise BadAudio("it has no data chunk")
