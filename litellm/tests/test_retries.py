import inspect

from litellm.llms.openai.openai import OpenAIChatCompletion
from openai import AsyncOpenAI

from tollgate_litellm.retries import install


def test_every_openai_client_litellm_uses_makes_one_attempt():
    install()
    install()  # idempotent: the wrapper is not wrapped again
    handler = OpenAIChatCompletion()
    built = handler._get_openai_client(is_async=True, api_key="k", api_base="http://127.0.0.1:9/v1", max_retries=2)
    assert built.max_retries == 0
    # A client the router passes in is set to one attempt too (LiteLLM sets its max_retries on every call).
    given = AsyncOpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=5)
    assert handler._get_openai_client(is_async=True, client=given, max_retries=2) is given
    assert given.max_retries == 0


def test_the_pinned_litellm_still_has_the_patched_signature():
    # The wrapper sets max_retries by keyword: the parameter must still exist under that name.
    original = inspect.unwrap(OpenAIChatCompletion._get_openai_client)
    assert "max_retries" in inspect.signature(original).parameters
