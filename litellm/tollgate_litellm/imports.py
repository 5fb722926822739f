"""
Optional modules LiteLLM imports inside functions that run on every request, looked for once.

Python remembers a module it imported, but not one it failed to import: a failing `from x import y` inside a function
searches the import path again on every call. At the pinned LiteLLM (docs/litellm-notes.md, "Imports retried on every
request"):

- `user_api_key_auth._seed_request_destinations` imports `litellm.integrations.otel.logger` on every authenticated
  request; it needs `opentelemetry.sdk`, which the gateway does not install, so the import fails each time and LiteLLM
  catches it (trace routing is best-effort). That is ~0.4 ms of CPU per call on one core (bench/gateway-profile.ts),
  bare LiteLLM included.
- `log_db_metrics._is_exception_related_to_db` imports `prisma.errors` each time a database helper fails, which
  without LiteLLM's database is every key lookup it tries.

`install()` imports each once at start. One that is there stays as it is; one that fails is recorded as absent
(`sys.modules[name] = None`), which Python answers at once with the same ModuleNotFoundError the callers already
expect.
"""

from __future__ import annotations

import importlib
import sys

OPTIONAL_MODULES = ("litellm.integrations.otel.logger", "prisma.errors")


def install(modules: tuple[str, ...] = OPTIONAL_MODULES) -> list[str]:
    """Marks each of `modules` that cannot be imported as absent; returns the names marked."""
    marked: list[str] = []
    for name in modules:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception:  # absent, or present but broken (LiteLLM's callers catch any exception per request)
            sys.modules[name] = None  # type: ignore[assignment]
            marked.append(name)
    return marked
