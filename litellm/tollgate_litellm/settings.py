"""Environment settings of the plugin, read once at import (each uvicorn worker imports it)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

# The durable outbox of usage events, next to the plugin package unless TOLLGATE_OUTBOX_PATH says otherwise.
DEFAULT_OUTBOX_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".outbox", "outbox.db")


def _float(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise RuntimeError(f"{name} must be a number, got {raw!r}") from error
    if not low <= value <= high:
        raise RuntimeError(f"{name} must be between {low} and {high}, got {value}")
    return value


ON = frozenset({"on", "1", "true", "yes"})
OFF = frozenset({"off", "0", "false", "no"})


def _flag(name: str, default: bool) -> bool:
    """Every on/off setting: on, 1, true, yes or off, 0, false, no (any case); unset or empty is the default."""
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ON:
        return True
    if raw in OFF:
        return False
    raise RuntimeError(f"{name} must be on or off (on/1/true/yes, off/0/false/no), got {raw!r}")


def _text(name: str) -> str | None:
    return os.environ.get(name) or None


def _mode(raw: str) -> str:
    if raw not in ("lease", "hold"):
        raise RuntimeError(f"TOLLGATE_BILLING_MODE must be lease or hold, got {raw!r}")
    return raw


@dataclass(frozen=True)
class LeaseSettings:
    """How a gateway process sizes, keeps and gives back its leases (docs/adr/0011)."""

    want_seconds: float = 10.0  # a refill covers about this much of the recent spend
    initial_micros: int = 1_000_000  # a key's first lease asks for this much ($1; the platform grants a fair share)
    min_calls: int = 8  # …and at least this many worst-case calls
    max_micros: int = 50_000_000  # no lease larger than this ($50)
    idle_seconds: float = 15.0  # returned after this long without a draw
    margin_fraction: float = 0.2  # stop drawing this early before the platform's expiry…
    margin_max: float = 5.0  # …at most this many seconds early
    maintain_interval: float = 1.0
    # After a call reported usage worth more than its draw, the key's draws wait for the platform to settle it (the
    # outbox delivers at once), at most this long (clause 46).
    pause_seconds: float = 5.0
    # A call waits at most this long for its key's lease to fit it (grants in flight for a burst on a cold key) before
    # its 503.
    draw_wait_seconds: float = 20.0
    # After a grant whose connects timed out, the waiting calls ask once more this much later (within draw_wait_seconds).
    grant_retry_pause: float = 0.25


@dataclass(frozen=True)
class RoutingSettings:
    """Routing's health window and circuit breaker, and how long the gateway keeps the routing definitions (routing.py)."""

    window_seconds: float = 300.0  # health (latency, errors) over the calls that ended this recently
    error_rate: float = 0.5  # a model rests when more than this share of its calls in the window failed…
    min_calls: int = 10  # …out of at least this many
    consecutive_failures: int = 3  # …or after this many failures in a row
    cooldown_seconds: float = 30.0  # then gets one trial call after this long (a success closes the breaker)
    explore_calls: int = 2  # fastest/balanced: calls a model with no measured latency gets before it is compared
    ttl_seconds: float = 30.0  # the definitions are read from the platform at most this often

    @classmethod
    def from_env(cls) -> "RoutingSettings":
        return cls(
            window_seconds=_float("TOLLGATE_ROUTING_WINDOW_SECONDS", 300.0, 1.0, 86_400.0),
            error_rate=_float("TOLLGATE_ROUTING_ERROR_RATE", 0.5, 0.0, 1.0),
            min_calls=int(_float("TOLLGATE_ROUTING_MIN_CALLS", 10, 1, 100_000)),
            consecutive_failures=int(_float("TOLLGATE_ROUTING_FAILURES", 3, 1, 1000)),
            cooldown_seconds=_float("TOLLGATE_ROUTING_COOLDOWN_SECONDS", 30.0, 0.1, 86_400.0),
            explore_calls=int(_float("TOLLGATE_ROUTING_EXPLORE_CALLS", 2, 0, 100)),
            ttl_seconds=_float("TOLLGATE_ROUTING_TTL_SECONDS", 30.0, 0.1, 3600.0),
        )


@dataclass(frozen=True)
class Settings:
    platform_url: str
    gateway_secret: str
    master_key: str | None
    auth_cache_ttl: float
    auth_negative_ttl: float
    platform_timeout: float
    cache_max_entries: int
    # lease: warm keys spend a lease in memory (docs/adr/0011); hold: one platform hold per call (the fallback).
    billing_mode: str = "lease"
    lease: LeaseSettings = field(default_factory=LeaseSettings)
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    # LiteLLM's own Prometheus logger (requests, tokens, latency, deployment health and cooldowns per model group),
    # served with Tollgate's gauges on /tollgate/metrics. Off by default: it costs CPU on every call (measured in
    # docs/benchmarks.md); operators who scrape it switch it on.
    litellm_prometheus: bool = False
    # Transcriptions: a larger audio file is refused before the call (OpenAI's own limit is 25 MiB); a file whose
    # length cannot be read from its header (not WAV) is reserved for this many seconds (OpenAI: ≤ 25 min for 25 MiB).
    max_audio_bytes: int = 25 * 1024 * 1024
    max_audio_seconds: int = 1500
    # Prompt bounds (bounds.py): an inline image part counts this many input tokens at most — the largest per-image
    # count the providers document (gpt-4o-mini high detail: 2,833 + 8 tiles × 5,667 = 48,169; gpt-4o 1,445;
    # Claude ≈ 1,600; Gemini 258 per 768 px tile) —, and a part whose tokens cannot be bounded from its bytes (files,
    # PDFs, audio, hosted tools) counts as the model's context window, or this many tokens where LiteLLM does not know
    # it (the largest context windows sold: 2,097,152).
    image_input_tokens: int = 48_169
    unbounded_input_tokens: int = 2_097_152
    # Usage events are signed with this (the platform's WEBHOOK_SECRET) and kept in this SQLite file until delivered.
    webhook_secret: str = ""
    outbox_path: str = DEFAULT_OUTBOX_PATH
    # Redis, when there is one (REDIS_HOST, as for LiteLLM's shared rate limits): replicas share auth answers through
    # it unless TOLLGATE_AUTH_SHARED is off.
    redis_host: str | None = None
    redis_port: int = 6379
    redis_password: str | None = None
    auth_shared: bool = True
    # BYOK (credentials.py): an owner's own base URL (openai_compatible, azure) serves calls only when an admin allowed
    # its host (the platform's rule for base URLs in production); off only on local stacks and tests.
    byok_strict_hosts: bool = True
    # Tests only: base URLs that count as the official one of every provider (the fake upstream); empty in production.
    byok_official_bases: tuple[str, ...] = ()

    def usage_webhook_secret(self) -> str:
        """The secret the billing hooks sign usage events with (key auth alone does not need it)."""
        if len(self.webhook_secret) < 32:
            raise RuntimeError("TOLLGATE_WEBHOOK_SECRET is required (32+ characters, the platform's WEBHOOK_SECRET)")
        return self.webhook_secret

    @classmethod
    def from_env(cls) -> "Settings":
        url = os.environ.get("TOLLGATE_URL", "").rstrip("/")
        secret = os.environ.get("TOLLGATE_GATEWAY_SECRET", "")
        if not url:
            raise RuntimeError("TOLLGATE_URL is required (the control plane's base URL)")
        if len(secret) < 32:
            raise RuntimeError("TOLLGATE_GATEWAY_SECRET is required (32+ characters, same as the platform's GATEWAY_SECRET)")
        return cls(
            platform_url=url,
            gateway_secret=secret,
            master_key=os.environ.get("LITELLM_MASTER_KEY") or None,
            # A revoked key keeps working at most this long: the bound is 5 s.
            auth_cache_ttl=_float("TOLLGATE_AUTH_CACHE_TTL", 5.0, 0.0, 5.0),
            auth_negative_ttl=_float("TOLLGATE_AUTH_NEGATIVE_TTL", 2.0, 0.0, 5.0),
            platform_timeout=_float("TOLLGATE_PLATFORM_TIMEOUT", 3.0, 0.1, 30.0),
            cache_max_entries=int(_float("TOLLGATE_AUTH_CACHE_MAX", 10_000, 1, 10_000_000)),
            billing_mode=_mode(os.environ.get("TOLLGATE_BILLING_MODE", "lease")),
            litellm_prometheus=_flag("TOLLGATE_LITELLM_PROMETHEUS", False),
            max_audio_bytes=int(_float("TOLLGATE_MAX_AUDIO_BYTES", 25 * 1024 * 1024, 1024, 512 * 1024 * 1024)),
            max_audio_seconds=int(_float("TOLLGATE_MAX_AUDIO_SECONDS", 1500, 1, 86_400)),
            image_input_tokens=int(_float("TOLLGATE_IMAGE_INPUT_TOKENS", 48_169, 1, 10_000_000)),
            unbounded_input_tokens=int(_float("TOLLGATE_UNBOUNDED_INPUT_TOKENS", 2_097_152, 1, 100_000_000)),
            webhook_secret=os.environ.get("TOLLGATE_WEBHOOK_SECRET", ""),
            outbox_path=_text("TOLLGATE_OUTBOX_PATH") or DEFAULT_OUTBOX_PATH,
            redis_host=_text("REDIS_HOST"),
            redis_port=int(_float("REDIS_PORT", 6379, 1, 65_535)),
            redis_password=_text("REDIS_PASSWORD"),
            auth_shared=_flag("TOLLGATE_AUTH_SHARED", True),
            byok_strict_hosts=_flag("TOLLGATE_BYOK_STRICT_HOSTS", True),
            byok_official_bases=tuple(
                b.strip().rstrip("/") for b in os.environ.get("TOLLGATE_BYOK_TEST_OFFICIAL_BASES", "").split(",") if b.strip()),
            routing=RoutingSettings.from_env(),
            lease=LeaseSettings(
                want_seconds=_float("TOLLGATE_LEASE_WANT_SECONDS", 10.0, 0.5, 300.0),
                initial_micros=int(_float("TOLLGATE_LEASE_INITIAL_MICROS", 1_000_000, 1, 2**53 - 1)),
                max_micros=int(_float("TOLLGATE_LEASE_MAX_MICROS", 50_000_000, 1, 2**53 - 1)),
                idle_seconds=_float("TOLLGATE_LEASE_IDLE_SECONDS", 15.0, 0.5, 3600.0),
                draw_wait_seconds=_float("TOLLGATE_LEASE_DRAW_WAIT_SECONDS", 20.0, 1.0, 300.0),
            ),
        )
