"""
Every error the gateway answers with, in one shape — OpenAI's: an HTTP status and
`{"error": {"message", "type", "param", "code"}}`, with a message a developer can act on. Each place raises it as
LiteLLM needs it there:
- hooks raise a GatewayError as it is: an HTTPException whose `.type` and `.param` LiteLLM copies into its answer
  (LiteLLM writes the status as `code`);
- custom auth and the plugin's routes on LiteLLM's app raise `.as_proxy_exception()` (custom auth would turn any
  HTTPException into an `auth_error`);
- the gate, in front of LiteLLM, answers with `.body()` itself.
"""

from __future__ import annotations

import json

from fastapi import HTTPException
from litellm.proxy._types import ProxyException


class GatewayError(HTTPException):
    # LiteLLM's Prometheus logger labels failures by exception class: refusals stay labelled as before.
    prometheus_exception_class_name = "HTTPException"

    def __init__(
        self,
        status: int,
        message: str,
        type: str,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.message = message
        self.type = type
        self.param = param
        # Not `.code`: LiteLLM reads an exception's `code` as its HTTP status.
        self.openai_code = code

    @property
    def status(self) -> int:
        return self.status_code

    def body(self) -> bytes:
        error = {"message": self.message, "type": self.type, "param": self.param, "code": self.openai_code}
        return json.dumps({"error": error}).encode()

    def as_proxy_exception(self) -> ProxyException:
        return ProxyException(
            message=self.message,
            type=self.type,
            param=self.param,
            code=self.status_code,
            headers=dict(self.headers) if self.headers else None,
            openai_code=self.openai_code,
        )


def bad_request(message: str, param: str | None = None, code: str = "invalid_request") -> GatewayError:
    return GatewayError(400, message, "invalid_request_error", code, param)


# The platform's refusals as the app sees them: the status (a request the platform finds malformed is the client's
# 400; only an unreachable or failing platform is 503) and OpenAI's error type.
PLATFORM_REFUSALS = {
    401: (401, "authentication_error"),
    402: (402, "insufficient_quota"),
    429: (429, "budget_exceeded"),
    403: (403, "permission_error"),
    409: (409, "invalid_request_error"),
    400: (400, "invalid_request_error"),
    422: (400, "invalid_request_error"),
}


def platform_refusal(status: int, message: str) -> GatewayError:
    """A hold or lease grant the platform refused, in the platform's own words."""
    mapped, error_type = PLATFORM_REFUSALS.get(status, (503, "service_unavailable"))
    return GatewayError(mapped, message, error_type)


def reservation_unavailable() -> GatewayError:
    return GatewayError(
        503,
        "Tollgate could not reserve funds for this call right now, so it was not served. Retry shortly.",
        "service_unavailable",
    )


# Custom auth's refusals (LiteLLM's custom-auth path keeps a ProxyException's type and code).
def unauthorized(message: str, code: str = "invalid_api_key") -> ProxyException:
    return GatewayError(401, message, "authentication_error", code).as_proxy_exception()


def forbidden(message: str, code: str = "permission_denied") -> ProxyException:
    return GatewayError(403, message, "permission_error", code).as_proxy_exception()


def unavailable(message: str) -> ProxyException:
    return GatewayError(503, message, "service_unavailable", "platform_unavailable",
                        headers={"retry-after": "2"}).as_proxy_exception()
