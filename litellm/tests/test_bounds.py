"""Reservation bounds (bounds.py): per kind on the numbers, and as properties — for random requests the prompt bound is
at least LiteLLM's own token count of the request as LiteLLM transforms it, and at least what the fake upstream bills
(its rule restated here), so a reservation can never be undercut by a crafted body."""

import io
import json
import re

import litellm
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from litellm.llms.anthropic.experimental_pass_through.adapters.transformation import LiteLLMAnthropicMessagesAdapter
from litellm.llms.anthropic.experimental_pass_through.responses_adapters.transformation import (
    LiteLLMAnthropicToResponsesAPIAdapter,
)
from litellm.responses.litellm_completion_transformation.transformation import LiteLLMCompletionResponsesConfig

from tollgate_litellm import bounds
from tollgate_litellm.bounds import PromptLimits, Reservation, reservation_units, wav_ms
from tollgate_litellm.pricing import Units
from tollgate_litellm.settings import Settings

# A 1×1 PNG, inline.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
IMAGE_TOKENS = 765  # the fake upstream's per-image count (scripts/fake-upstream.ts IMAGE_TOKENS)


def settings() -> Settings:
    return Settings("http://platform.test", "s" * 40, None, 5.0, 2.0, 1.0, 100)


def units(kind: str, body: dict, window: int | None = None) -> Reservation:
    return bounds.ESTIMATORS[kind](body, PromptLimits(window, 48_169, 2_097_152), settings())


# -- on the numbers ------------------------------------------------------------------------------------------------
def test_the_issue_s_empty_responses_items_are_bounded_by_their_bytes_and_capped_at_the_context_window():
    body = {"input": [{"role": "user", "content": ""}] * 2000, "max_output_tokens": 1}
    raw = len(json.dumps({"input": body["input"]}, separators=(",", ":")))
    assert raw == len('{"input":[') + 2000 * 28 + 1999 + len("]}") == 58_011
    assert units("responses", body) == Reservation(raw + 16 + 4 * 2000, 16, 1)
    # Capped at the context window (fake-small: 16,384), output raised to LiteLLM's minimum.
    assert units("responses", body, 16_384) == Reservation(16_384, 16, 1)


def test_messages_count_every_tool_result_the_system_prompt_and_tools():
    blocks = [{"type": "tool_result", "tool_use_id": f"t{i}", "content": ""} for i in range(500)]
    body = {"messages": [{"role": "user", "content": blocks}], "system": "Be brief.", "max_tokens": 1}
    raw = len(json.dumps({"messages": body["messages"], "system": "Be brief."}, separators=(",", ":")))
    assert units("messages", body) == Reservation(raw + 16 + 4, 16, 1)
    tool = {"name": "f", "input_schema": {"type": "object"}}
    with_tools = units("messages", {**body, "tools": [tool]})
    assert with_tools.prompt_tokens == units("messages", body).prompt_tokens + len(
        json.dumps({"tools": [tool]}, separators=(",", ":"))) - 1 + 512 + 16
    # A tool_use input is re-serialized by LiteLLM with json.dumps (ASCII escapes, spaced): counted once more so.
    use = {"type": "tool_use", "id": "t", "name": "f", "input": {"q": "日本語" * 10}}
    used = units("messages", {"messages": [{"role": "assistant", "content": [use]}], "max_tokens": 20})
    compact = len(json.dumps({"messages": [{"role": "assistant", "content": [use]}]}, separators=(",", ":"),
                             ensure_ascii=False).encode())
    assert used.prompt_tokens == compact + len(json.dumps(use)) + 16 + 4


def test_chat_output_is_the_larger_cap_times_n_and_hosted_tools_files_and_urls_count_the_window():
    larger = units("chat", {"messages": [], "max_tokens": 5, "max_completion_tokens": 50, "n": 3})
    assert (larger.max_output, larger.choices) == (50, 3)
    assert units("chat", {"messages": []}).max_output is None  # the model's most
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG * 100}"}}
    one = units("chat", {"messages": [{"role": "user", "content": [image]}]})
    bare = {"type": "image_url", "image_url": {"url": ""}}
    framing = len(json.dumps({"messages": [{"role": "user", "content": [bare]}]}, separators=(",", ":")))
    assert one.prompt_tokens == framing + 16 + 4 + 48_169 + 64  # the payload is not counted as text
    for part in (
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},  # may be fetched as a PDF
        {"type": "image_url", "image_url": {"url": f"data:application/pdf;base64,{PNG}"}},
        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PNG}"}},
        {"type": "input_audio", "input_audio": {"data": PNG, "format": "wav"}},
    ):
        body = {"messages": [{"role": "user", "content": [part]}]}
        assert units("chat", body, 16_384).prompt_tokens == 16_384
        assert units("chat", body).prompt_tokens == 2_097_152
    hosted = {"input": "hi", "tools": [{"type": "web_search_preview"}]}
    assert units("responses", hosted, 131_072).prompt_tokens == 131_072


def test_embeddings_and_completions_count_token_arrays_exactly_and_each_text_by_its_bytes():
    assert units("embedding", {"input": [[1, 2, 3], [4, 5]]}) == Reservation(5, 0, 1)
    assert units("embedding", {"input": ["héllo", "x" * 10_000]}, 8192) == Reservation(6 + 4 + 8192, 0, 1)
    assert units("completion", {"prompt": ["one two", [1, 2, 3]], "n": 2, "best_of": 3, "max_tokens": 20}) == \
        Reservation(7 + 4 + 3 + 16, 20, 6)


def test_images_speech_and_transcriptions_reserve_their_units():
    assert units("image", {"prompt": "a cat", "n": 3, "size": "1024x1024"}).units == Units({"image": 3}, "1024x1024")
    assert units("speech", {"input": "Hello, world."}).units == Units({"characters": 13})
    # Voice instructions are read (and billed) by the provider too.
    assert units("speech", {"input": "Hello, world.", "instructions": "Speak slowly."}).units == Units({"characters": 26})
    assert units("transcription", {"file": io.BytesIO(b"ID3 not a wav")}).units == Units({"audio": 1_500_000})


def test_reservation_units_caps_at_the_largest_window_a_call_may_reach():
    class Router:
        def get_model_list(self, model_name):
            windows = {"a": [1000], "b": [4000, 2000], "c": [None]}[model_name]
            return [{"model_info": {"max_input_tokens": w}} for w in windows]

        def get_router_model_info(self, deployment, received_model_name):
            raise ValueError("not mapped")

    router = Router()
    body = {"input": [{"role": "user", "content": ""}] * 2000}
    assert reservation_units("responses", body, settings(), ["a"], router).prompt_tokens == 1000
    assert reservation_units("responses", body, settings(), ["a", "b"], router).prompt_tokens == 4000
    # A fallback whose window is not known: nothing caps the bound.
    assert reservation_units("responses", body, settings(), ["a", "c"], router).prompt_tokens > 60_000


def test_a_configured_window_below_litellm_s_own_does_not_cap_the_bound():
    """The provider bills up to its own window: an operator's smaller max_input_tokens must not lower the bound."""
    class Router:
        def get_model_list(self, model_name):
            return [{"model_info": {"max_input_tokens": 1000}}]

        def get_router_model_info(self, deployment, received_model_name):
            return {"max_input_tokens": 8191}

    bounds._WINDOWS.clear()
    body = {"input": ["a " * 20_000]}
    assert reservation_units("embedding", body, settings(), ["e"], Router()).prompt_tokens == 8191
    bounds._WINDOWS.clear()


def _wav(data: bytes, rate=16000, channels=1, bits=16, byte_rate=None, declared=None) -> io.BytesIO:
    align = channels * bits // 8
    fmt = b"".join(v.to_bytes(n, "little") for v, n in (
        (1, 2), (channels, 2), (rate, 4), (rate * align if byte_rate is None else byte_rate, 4), (align, 2), (bits, 2)))
    size = len(data) if declared is None else declared
    body = b"WAVE" + b"fmt " + (16).to_bytes(4, "little") + fmt + b"data" + size.to_bytes(4, "little") + data
    return io.BytesIO(b"RIFF" + len(body).to_bytes(4, "little") + body)


def test_a_wav_is_as_long_as_the_data_it_holds_and_an_inconsistent_header_is_refused():
    assert wav_ms(_wav(b"\0" * 32000)) == 1000
    assert wav_ms(_wav(b"\0" * 32000, declared=2**32 - 1)) == 1000
    assert wav_ms(_wav(b"\0" * 3)) == 1  # rounded up
    with pytest.raises(bounds.BadAudio):
        wav_ms(_wav(b"\0" * 32000, byte_rate=1))
    with pytest.raises(bounds.BadAudio):
        wav_ms(_wav(b"\0" * 32000, rate=10))
    assert wav_ms(io.BytesIO(b"not a wav")) is None


def _riff(*chunks: bytes) -> io.BytesIO:
    body = b"WAVE" + b"".join(chunks)
    return io.BytesIO(b"RIFF" + len(body).to_bytes(4, "little") + body)


def _chunk(name: bytes, data: bytes) -> bytes:
    return name + len(data).to_bytes(4, "little") + data + (b"\0" if len(data) % 2 else b"")


def _fmt(encoding=1, rate=8000, channels=1, bits=8, sub: bytes = b"") -> bytes:
    align = channels * bits // 8
    return b"".join(v.to_bytes(n, "little") for v, n in (
        (encoding, 2), (channels, 2), (rate, 4), (rate * align, 4), (align, 2), (bits, 2))) + sub


def test_a_wav_whose_length_a_decoder_would_read_differently_is_not_measured_by_its_bytes():
    data = _chunk(b"data", b"\0" * 8000)  # 1 s at 8 kHz, 8-bit mono
    assert wav_ms(_riff(_chunk(b"fmt ", _fmt()), data)) == 1000
    # Two fmt chunks: decoders read the first, so a second (here claiming 64 channels at 768 kHz) is refused.
    with pytest.raises(bounds.BadAudio, match="more than one fmt"):
        wav_ms(_riff(_chunk(b"fmt ", _fmt()), _chunk(b"fmt ", _fmt(rate=768_000, channels=64, bits=64)), data))
    # WAVE_FORMAT_EXTENSIBLE is its sub-format: PCM is measured, anything else (here MP3's code 0x55) is not.
    tail = bytes.fromhex("000000001000800000aa00389b71")
    extension = (22).to_bytes(2, "little") + (8).to_bytes(2, "little") + (4).to_bytes(4, "little")
    pcm = extension + (1).to_bytes(2, "little") + tail
    mp3 = extension + (0x55).to_bytes(2, "little") + tail
    assert wav_ms(_riff(_chunk(b"fmt ", _fmt(0xFFFE, sub=pcm)), data)) == 1000
    assert wav_ms(_riff(_chunk(b"fmt ", _fmt(0xFFFE, sub=mp3)), data)) is None
    assert wav_ms(_riff(_chunk(b"fmt ", _fmt(0xFFFE)), data)) is None  # no sub-format at all


# -- properties ----------------------------------------------------------------------------------------------------
# Text the fake upstream and Python split into the same words (JS \s and str.split() differ on exotic spaces).
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")) | st.sampled_from(" \n"),
               max_size=30)
IMAGE_PART = st.just({"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}})
CHAT_PART = st.one_of(st.builds(lambda t: {"type": "text", "text": t}, TEXT), IMAGE_PART)
CHAT_MESSAGE = st.builds(lambda role, content: {"role": role, "content": content},
                         st.sampled_from(["user", "assistant", "system"]),
                         st.one_of(TEXT, st.lists(CHAT_PART, max_size=4)))
FUNCTION_TOOL = st.builds(lambda name, desc: {"type": "function", "function": {
    "name": name or "f", "description": desc, "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}},
    st.from_regex(r"[a-z_]{0,12}", fullmatch=True), TEXT)
RESPONSES_ITEM = st.one_of(
    st.builds(lambda role, text: {"role": role, "content": text}, st.sampled_from(["user", "assistant", "system"]), TEXT),
    st.builds(lambda texts: {"role": "user", "content": [{"type": "input_text", "text": t} for t in texts]},
              st.lists(TEXT, max_size=3)),
    st.just({"role": "user", "content": [{"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"}]}),
    st.builds(lambda i, out: {"type": "function_call_output", "call_id": f"c{i}", "output": out}, st.integers(0, 99), TEXT),
    st.builds(lambda i, args: {"type": "function_call", "call_id": f"c{i}", "name": "f", "arguments": json.dumps({"q": args})},
              st.integers(0, 99), TEXT),
)
ANTHROPIC_BLOCK = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, TEXT),
    st.builds(lambda i, t: {"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": t}, st.integers(0, 99), TEXT),
    st.just({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}),
)
ANTHROPIC_ASSISTANT_BLOCK = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, TEXT),
    st.builds(lambda i, t: {"type": "tool_use", "id": f"toolu_{i}", "name": "f", "input": {"q": t}}, st.integers(0, 99), TEXT),
)
ANTHROPIC_MESSAGE = st.one_of(
    st.builds(lambda c: {"role": "user", "content": c}, st.one_of(TEXT, st.lists(ANTHROPIC_BLOCK, min_size=1, max_size=6))),
    st.builds(lambda c: {"role": "assistant", "content": c}, st.lists(ANTHROPIC_ASSISTANT_BLOCK, min_size=1, max_size=3)),
)
SYSTEM = st.one_of(st.none(), TEXT, st.lists(st.builds(lambda t: {"type": "text", "text": t}, TEXT), max_size=3))

PROPERTY = hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _words(text: str) -> int:
    return len(re.split(r"\s+", text.strip())) if text.strip() else 0


def _content_tokens(content) -> int:
    """scripts/fake-upstream.ts contentTokens, restated."""
    if isinstance(content, str):
        return _words(content)
    if not isinstance(content, list):
        return 0
    tokens = 0
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") in ("image_url", "input_image", "image"):
            tokens += IMAGE_TOKENS
        if isinstance(part.get("text"), str):
            tokens += _words(part["text"])
        if "output" in part:
            tokens += _content_tokens(part["output"])
        if "content" in part:
            tokens += _content_tokens(part["content"])
    return tokens


def _fake_prompt(messages: list, tools=None) -> int:
    """scripts/fake-upstream.ts countPromptTokens, restated."""
    tokens = 3
    for m in messages:
        tokens += 4 + _content_tokens(m.get("content"))
        if isinstance(m.get("tool_calls"), list):
            tokens += _words(json.dumps(m["tool_calls"], separators=(",", ":"), ensure_ascii=False))
    if isinstance(tools, list) and tools:
        tokens += _words(json.dumps(tools, separators=(",", ":"), ensure_ascii=False))
    return tokens


def _fake_responses_prompt(body: dict) -> int:
    """scripts/fake-upstream.ts responsesMessages + countPromptTokens, restated."""
    items = [{"role": "user", "content": body["input"]}] if isinstance(body["input"], str) else body["input"]
    messages = [{"role": "system", "content": body["instructions"]}] if body.get("instructions") else []
    for item in items:
        if "content" in item:
            messages.append({"role": item.get("role", "user"), "content": item["content"]})
        else:
            parts = []
            for value in (item.get("name"), item.get("arguments"), item.get("output")):
                if isinstance(value, str):
                    parts.append({"type": "text", "text": value})
                elif isinstance(value, list):
                    parts.extend(value)
            messages.append({"role": item.get("type", "user"), "content": parts})
    return _fake_prompt(messages, body.get("tools"))


@PROPERTY
@given(st.lists(CHAT_MESSAGE, max_size=12), st.lists(FUNCTION_TOOL, max_size=3))
def test_a_chat_bound_is_at_least_litellm_s_count_and_the_fake_upstream_s(messages, tools):
    body = {"messages": messages, **({"tools": tools} if tools else {})}
    bound = units("chat", body).prompt_tokens
    assert bound >= _fake_prompt(messages, tools or None)
    assert bound >= litellm.token_counter(model="gpt-4o", messages=messages, tools=tools or None)


@PROPERTY
@given(st.one_of(TEXT, st.lists(RESPONSES_ITEM, max_size=40)), st.one_of(st.none(), TEXT))
def test_a_responses_bound_is_at_least_litellm_s_count_of_its_chat_form_and_the_fake_upstream_s(items, instructions):
    body = {"input": items, **({"instructions": instructions} if instructions else {})}
    bound = units("responses", body).prompt_tokens
    assert bound >= _fake_responses_prompt(body)
    chat = LiteLLMCompletionResponsesConfig.transform_responses_api_request_to_chat_completion_request(
        model="gpt-4o", input=items, responses_api_request={"instructions": instructions} if instructions else {},
        custom_llm_provider="openai")
    assert bound >= litellm.token_counter(model="gpt-4o", messages=chat["messages"])


@PROPERTY
@given(st.lists(ANTHROPIC_MESSAGE, min_size=1, max_size=8), SYSTEM, st.booleans())
def test_a_messages_bound_is_at_least_what_litellm_sends_on_both_paths(messages, system, with_tools):
    tools = [{"name": "f", "description": "look it up", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}]
    body = {"messages": messages, "max_tokens": 1, **({"system": system} if system else {}),
            **({"tools": tools} if with_tools else {})}
    bound = units("messages", body).prompt_tokens
    # An OpenAI-type deployment: LiteLLM sends it to the Responses API; the fake upstream bills that.
    responses = LiteLLMAnthropicToResponsesAPIAdapter().translate_request({"model": "gpt-4o", **body})
    assert bound >= _fake_responses_prompt(responses)
    assert units("messages", body).max_output >= responses["max_output_tokens"]
    # Other providers: LiteLLM's chat form (each tool_result its own tool message), counted by LiteLLM.
    chat, _ = LiteLLMAnthropicMessagesAdapter().translate_anthropic_to_openai({"model": "gpt-4o", **body})
    assert bound >= litellm.token_counter(model="gpt-4o", messages=chat["messages"], tools=chat.get("tools"))


@PROPERTY
@given(st.lists(st.one_of(TEXT.filter(bool), st.lists(st.integers(0, 50_000), min_size=1, max_size=20)), min_size=1, max_size=10))
def test_an_embeddings_bound_is_at_least_litellm_s_count(inputs):
    if any(isinstance(i, list) for i in inputs) and not all(isinstance(i, list) for i in inputs):
        inputs = [i if isinstance(i, list) else [1] for i in inputs]
    bound = units("embedding", {"input": inputs}).prompt_tokens
    counted = sum(len(i) if isinstance(i, list) else litellm.token_counter(model="text-embedding-3-small", text=i)
                  for i in inputs)
    assert bound >= counted


def test_a_body_too_deep_to_serialize_counts_the_context_window():
    deep: list = []
    for _ in range(3000):
        deep = [deep]
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "x", "extra": deep}]}]}
    assert units("chat", body, 16_384).prompt_tokens == 16_384
    assert units("chat", body).prompt_tokens == 2_097_152


def test_the_output_sent_is_never_more_than_the_output_reserved():
    from tollgate_litellm.billing import _cap_output

    # No cap named: the provider's own limit may be above the catalog's, so the reserved cap is sent.
    chat = {"messages": []}
    _cap_output("chat", chat, 4096)
    assert chat["max_tokens"] == 4096
    # A larger cap than reserved is lowered; a smaller one is kept (LiteLLM raises Responses' to 16, reserved too).
    responses = {"max_output_tokens": 100_000}
    _cap_output("responses", responses, 8192)
    assert responses == {"max_output_tokens": 8192}
    small = {"max_output_tokens": 1}
    _cap_output("responses", small, 16)
    assert small == {"max_output_tokens": 1}
    # Both chat caps: the one the provider reads wins and is capped; the other goes.
    both = {"max_tokens": 10, "max_completion_tokens": 50_000}
    _cap_output("chat", both, 4096)
    assert both == {"max_completion_tokens": 4096}
    # Kinds that bill no output are left alone, as is a reservation that named no cap.
    image = {"n": 2}
    _cap_output("image", image, 4096)
    _cap_output("chat", chat := {"messages": []}, None)
    assert image == {"n": 2} and chat == {"messages": []}


def test_an_estimated_stream_is_charged_at_most_what_it_could_have_been_billed():
    """A stream without usage is charged LiteLLM's count of the streamed text, which can exceed the output the call
    was sent with (all choices joined, another tokenizer): held to the reserved cap × choices; its prompt counted by
    our tokenizer, token-id prompts by their length (LiteLLM's count leaves them out), never above the bound."""
    from tollgate_litellm.billing import _estimated_tokens, _note_estimated_usage

    bound = Reservation(prompt_tokens=70, max_output=1, choices=128)
    body = {"prompt": [[1, 2, 3]] * 4, "max_tokens": 1, "n": 32, "stream": True}
    state = {"model": "fake-instruct", "promptTokens": 70}
    _note_estimated_usage(state, "completion", body, 1, bound)
    assert state["outputTokens"] == 128 and state["estimatedPrompt"] == 12
    assert _estimated_tokens(state, 0, 167) == (12, 128)
    # Asked for usage: the provider reports it, and a report is charged as it is (clause 45 alarms a breach).
    reported = {"model": "fake-instruct", "promptTokens": 70}
    _note_estimated_usage(reported, "completion", {**body, "stream_options": {"include_usage": True}}, 1, bound)
    assert "estimatedPrompt" not in reported
    # Not streamed: no estimate either.
    plain = {"model": "fake-small", "promptTokens": 70}
    _note_estimated_usage(plain, "chat", {"messages": [], "max_tokens": 5}, 5, Reservation(70, 5, 1))
    assert "estimatedPrompt" not in plain and plain["outputTokens"] == 5
