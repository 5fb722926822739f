"""
One retry policy: the router's (config.yaml router_settings.num_retries), for every call kind. Under each router
attempt LiteLLM 1.102.4 builds an OpenAI SDK client that retries on its own (max_retries 2) where the router's 0 does
not reach it: embeddings replace a 0 with litellm.DEFAULT_MAX_RETRIES (llms/openai/openai.py, `max_retries or …`),
images always pass 2 (`data.pop("max_retries", 2)`; images/main.py strips max_retries from the provider's params).
A failing embedding or image thus reached the provider 3 × 3 times. Every OpenAI-provider client is made here, so
its SDK makes one attempt and the router decides the rest (docs/litellm-notes.md).
"""

from __future__ import annotations

import functools

from litellm.llms.openai.openai import OpenAIChatCompletion


def install() -> None:
    """Makes every OpenAI SDK client LiteLLM builds or reuses try once (idempotent)."""
    original = OpenAIChatCompletion._get_openai_client
    if getattr(original, "tollgate_single_attempt", False):
        return

    @functools.wraps(original)
    def single_attempt(self, *args, **kwargs):
        # LiteLLM passes max_retries by keyword; passed by position, this call would fail loudly (two values).
        kwargs["max_retries"] = 0
        return original(self, *args, **kwargs)

    single_attempt.tollgate_single_attempt = True  # type: ignore[attr-defined]
    OpenAIChatCompletion._get_openai_client = single_attempt  # type: ignore[method-assign]
