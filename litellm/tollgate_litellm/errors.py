"""Errors in OpenAI's shape, with messages a developer can act on."""

from __future__ import annotations

from litellm.proxy._types import ProxyException


def unauthorized(message: str, code: str = "invalid_api_key") -> ProxyException:
    return ProxyException(message=message, type="authentication_error", param=None, code=401, openai_code=code)


def forbidden(message: str, code: str = "permission_denied") -> ProxyException:
    return ProxyException(message=message, type="permission_error", param=None, code=403, openai_code=code)


def unavailable(message: str) -> ProxyException:
    return ProxyException(
        message=message,
        type="service_unavailable",
        param=None,
        code=503,
        openai_code="platform_unavailable",
        headers={"retry-after": "2"},
    )
