"""
Routing (issue 29): a virtual model an admin defined (`auto`, `auto:cheapest`, …) is served by one of its candidate
models, picked per call in the gateway by the virtual model's strategy, among the candidates the key may call that are
not resting. No platform round trip per call: the definitions (candidates, their price in force and quality score) are
cached ~30 s from GET /api/internal/gateway/routing, and each model group's health is what this process saw of its own
calls (latency, first token, errors) over a sliding window. A failing model rests like a circuit breaker and gets one
trial call after its cool-down; a success closes it.

The reservation covers the dearest of every candidate the key may call (so the bound never depends on the choice) and
the call is charged at the model group that served it (billing contract, routing clause).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .errors import GatewayError
from .settings import RoutingSettings

logger = logging.getLogger("tollgate.routing")

STRATEGIES = ("cheapest", "fastest", "quality", "balanced")


@dataclass(frozen=True)
class Candidate:
    model: str
    quality: int  # 0–100, the admin's score
    input_micros: int  # the price in force, micro-USD per million input tokens
    output_micros: int  # … per million output tokens

    @property
    def cost_micros(self) -> int:
        """What the strategies compare as a model's price: a million input and a million output tokens."""
        return self.input_micros + self.output_micros


@dataclass(frozen=True)
class VirtualModel:
    name: str
    strategy: str
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True)
class Routed:
    """A routed call: the model it is sent to, and every candidate the key may call (what the reservation covers)."""

    virtual: str
    model: str
    candidates: tuple[str, ...]


def parse_definitions(answer: Any) -> dict[str, VirtualModel]:
    """The platform's routing answer, by virtual model name (a malformed entry is skipped, never half-read)."""
    found: dict[str, VirtualModel] = {}
    for entry in (answer or {}).get("virtualModels") or []:
        try:
            strategy = str(entry["strategy"])
            if strategy not in STRATEGIES:
                continue
            candidates = tuple(
                Candidate(str(c["model"]), int(c["quality"]), int(c["inputMicrosPerMillion"]),
                          int(c["outputMicrosPerMillion"]))
                for c in entry["candidates"]
            )
            if candidates:
                found[str(entry["name"])] = VirtualModel(str(entry["name"]), strategy, candidates)
        except (KeyError, TypeError, ValueError):
            logger.warning("skipped a malformed routing definition")
    return found


# -- health: a sliding window per model group, and a circuit breaker ----------------------------------------------

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass
class ModelHealth:
    # (when, ok, latency ms or None, first token ms or None) of the calls that ended within the window, oldest first.
    samples: deque = field(default_factory=deque)
    consecutive_failures: int = 0
    state: str = CLOSED
    open_until: float = 0.0
    trial_since: float | None = None  # a half-open trial call in flight since then
    pending: deque = field(default_factory=deque)  # when calls were sent that have not ended yet (exploration)


class HealthBook:
    """What this gateway process saw of each model group's calls. `clock` is injected (tests move it)."""

    def __init__(self, settings: RoutingSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self._models: dict[str, ModelHealth] = {}

    def _get(self, model: str) -> ModelHealth:
        health = self._models.get(model)
        if health is None:
            health = self._models[model] = ModelHealth()
        return health

    def _trim(self, health: ModelHealth, now: float) -> None:
        edge = now - self.settings.window_seconds
        while health.samples and health.samples[0][0] < edge:
            health.samples.popleft()
        # A call never reported (a lost event) stops counting as in flight after a window.
        while health.pending and health.pending[0] < edge:
            health.pending.popleft()

    # -- what the choice asks -------------------------------------------------------------------------------
    def selectable(self, model: str) -> bool:
        """Closed, or resting past its cool-down with no trial call in flight (the next call is the trial)."""
        health = self._models.get(model)
        if health is None or health.state == CLOSED:
            return True
        now = self.clock()
        if health.state == OPEN:
            return now >= health.open_until
        # Half-open: one trial at a time; a trial never reported frees the slot after another cool-down.
        return health.trial_since is None or now - health.trial_since >= self.settings.cooldown_seconds

    def resting(self, model: str) -> bool:
        return not self.selectable(model)

    def p50_ms(self, model: str, first_token: bool = False) -> float | None:
        """The median latency (or, with first_token, time to first token, which only streams measure) of the model's
        successful calls in the window; None when none was measured."""
        health = self._models.get(model)
        if health is None:
            return None
        self._trim(health, self.clock())
        column = 3 if first_token else 2
        latencies = sorted(s[column] for s in health.samples if s[1] and s[column] is not None)
        if not latencies:
            return None
        middle = len(latencies) // 2
        return float(latencies[middle]) if len(latencies) % 2 else (latencies[middle - 1] + latencies[middle]) / 2

    def exploring(self, model: str) -> bool:
        """Fewer than explore_calls measured or in flight: the fastest and balanced strategies try it first."""
        health = self._models.get(model)
        if health is None:
            return True
        self._trim(health, self.clock())
        measured = sum(1 for s in health.samples if s[1] and s[2] is not None)
        return measured + len(health.pending) < self.settings.explore_calls

    # -- what the calls tell --------------------------------------------------------------------------------
    def sent(self, model: str) -> None:
        """A call was sent to the model: in flight (exploration), and the trial call if it rests past its cool-down."""
        health = self._get(model)
        now = self.clock()
        health.pending.append(now)
        if health.state == OPEN and now >= health.open_until:
            health.state = HALF_OPEN
        if health.state == HALF_OPEN and (health.trial_since is None
                                          or now - health.trial_since >= self.settings.cooldown_seconds):
            health.trial_since = now

    def succeeded(self, model: str, latency_ms: float | None, first_token_ms: float | None = None) -> None:
        health = self._get(model)
        now = self.clock()
        self._ended(health)
        if health.state != CLOSED:
            # The trial (or a call sent before the model rested) answered: it serves again, with a fresh window.
            health.samples.clear()
            health.state, health.trial_since, health.open_until = CLOSED, None, 0.0
        health.consecutive_failures = 0
        health.samples.append((now, True, latency_ms, first_token_ms))
        self._trim(health, now)

    def failed(self, model: str) -> None:
        health = self._get(model)
        now = self.clock()
        self._ended(health)
        health.consecutive_failures += 1
        health.samples.append((now, False, None, None))
        self._trim(health, now)
        if health.state == HALF_OPEN:
            self._open(health, now)  # the trial failed: rest again
            return
        if health.state == OPEN:
            return
        calls = len(health.samples)
        failures = sum(1 for s in health.samples if not s[1])
        s = self.settings
        if health.consecutive_failures >= s.consecutive_failures or (
            calls >= s.min_calls and failures / calls > s.error_rate
        ):
            self._open(health, now)

    def _ended(self, health: ModelHealth) -> None:
        if health.pending:
            health.pending.popleft()

    def _open(self, health: ModelHealth, now: float) -> None:
        health.state, health.open_until, health.trial_since = OPEN, now + self.settings.cooldown_seconds, None
        logger.warning("a model group rests for %.0f s after failing", self.settings.cooldown_seconds)

    def snapshot(self, wall: Callable[[], float] = time.time) -> list[dict[str, Any]]:
        """Per model group: breaker state, calls and failures in the window, p50, and until when it rests (UTC)."""
        now, wall_now = self.clock(), wall()
        rows = []
        for model in sorted(self._models):
            health = self._models[model]
            self._trim(health, now)
            resting_until = None
            if health.state == OPEN:
                moment = datetime.fromtimestamp(wall_now + max(0.0, health.open_until - now), tz=timezone.utc)
                resting_until = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
            rows.append({
                "model": model,
                "state": health.state,
                "calls": len(health.samples),
                "failures": sum(1 for s in health.samples if not s[1]),
                "consecutiveFailures": health.consecutive_failures,
                "latencyP50Ms": self.p50_ms(model),
                "restingUntil": resting_until,
            })
        return rows


# -- the choice ----------------------------------------------------------------------------------------------------

def callable_candidates(virtual: VirtualModel, allowed: Iterable[str] | None) -> list[Candidate]:
    """The candidates the key may call: all when the key has no list (LiteLLM's empty list: every model)."""
    names = None if allowed is None else set(allowed)
    if names is not None and not names:
        names = None
    return [c for c in virtual.candidates if names is None or c.model in names]


def _speed_p50(health: HealthBook, model: str, stream: bool) -> float | None:
    """What "fast" means for this call: for a stream, the time to its first token (what its user waits for), while
    this model has streamed in the window; else the whole call's latency."""
    if stream:
        first_token = health.p50_ms(model, first_token=True)
        if first_token is not None:
            return first_token
    return health.p50_ms(model)


def _speeds(candidates: list[Candidate], health: HealthBook, stream: bool = False) -> dict[str, float]:
    """Speed 0–10: 10 × the fastest measured p50 ÷ the model's own p50 (10 for the fastest); 5 when unmeasured."""
    p50s = {c.model: _speed_p50(health, c.model, stream) for c in candidates}
    measured = [v for v in p50s.values() if v is not None and v > 0]
    best = min(measured) if measured else None
    return {m: (10.0 * best / v if best is not None and v is not None and v > 0 else 5.0) for m, v in p50s.items()}


def balanced_score(candidate: Candidate, speed: float) -> float:
    """Seed 003's score, quality×2 + speed − log₁₀(cost)×2, in these units: quality 0–10 (the admin's 0–100 score ÷ 10),
    speed 0–10 (above), cost in USD per million input plus million output tokens (at least $0.01): a model ten times
    dearer gives up two points, as much as one point of quality or two of speed."""
    cost_usd = max(candidate.cost_micros / 1_000_000, 0.01)
    return (candidate.quality / 10) * 2 + speed - math.log10(cost_usd) * 2


def choose(virtual: VirtualModel, allowed: Iterable[str] | None, health: HealthBook,
           stream: bool = False) -> Candidate | None:
    """The candidate a call is sent to: among those the key may call that are not resting, by the strategy. None when
    the key may call none of them or every one rests. Speed is time to first token for a stream, latency otherwise."""
    ready = [c for c in callable_candidates(virtual, allowed) if health.selectable(c.model)]
    if not ready:
        return None
    strategy = virtual.strategy
    if strategy == "cheapest":
        return min(ready, key=lambda c: (c.cost_micros, -c.quality, c.model))
    if strategy == "quality":
        return max(ready, key=lambda c: (c.quality, -c.cost_micros, c.model))
    # fastest, balanced: a model not measured yet gets a few exploratory calls first (in list order).
    unmeasured = [c for c in ready if health.exploring(c.model)]
    if unmeasured:
        return unmeasured[0]
    if strategy == "fastest":
        def latency(c: Candidate) -> float:
            p50 = _speed_p50(health, c.model, stream)
            return math.inf if p50 is None else p50
        return min(ready, key=lambda c: (latency(c), c.cost_micros, c.model))
    speeds = _speeds(ready, health, stream)
    return max(ready, key=lambda c: (balanced_score(c, speeds[c.model]), -c.cost_micros, c.model))


# -- the definitions cache and the call's routing ------------------------------------------------------------------

class Routing:
    """The definitions (cached ttl_seconds from the platform) and this process's health book."""

    def __init__(self, settings: RoutingSettings, fetch: Callable[[], Awaitable[Any]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.fetch = fetch
        self.clock = clock
        self.health = HealthBook(settings, clock)
        self._definitions: dict[str, VirtualModel] | None = None
        self._fetched_at = 0.0
        self._refreshing: asyncio.Task | None = None

    async def _refresh(self) -> None:
        try:
            self._definitions = parse_definitions(await self.fetch())
            self._fetched_at = self.clock()
        except Exception as error:
            logger.warning("could not read the routing definitions: %s", type(error).__name__)
            if self._definitions is None:
                self._definitions = {}
            # Asked again after a few seconds, not on every call.
            self._fetched_at = self.clock() - self.settings.ttl_seconds + min(5.0, self.settings.ttl_seconds)

    async def definitions(self) -> dict[str, VirtualModel]:
        """The cached definitions: the first call waits for them; later ones use them and refresh them when stale."""
        stale = self.clock() - self._fetched_at >= self.settings.ttl_seconds
        if self._definitions is None or stale:
            if self._refreshing is None or self._refreshing.done():
                self._refreshing = asyncio.ensure_future(self._refresh())
            if self._definitions is None:
                await asyncio.shield(self._refreshing)
        return self._definitions or {}

    async def route(self, model: str, allowed: Iterable[str] | None, stream: bool = False) -> Routed | None:
        """None for a real model; for a virtual one, the choice (noted as sent) and the candidates the key may call.
        Refuses (503) when every candidate the key may call rests."""
        virtual = (await self.definitions()).get(model)
        if virtual is None:
            return None
        allowed_list = None if allowed is None else list(allowed)  # auth.py's sentinel matches no candidate
        candidates = callable_candidates(virtual, allowed_list)
        if not candidates:
            raise GatewayError(403, f"This key may call none of the models {model} routes to.", "permission_error")
        chosen = choose(virtual, allowed_list, self.health, stream)
        if chosen is None:
            raise GatewayError(503, f"Every model {model} routes to is resting after errors; try again shortly.",
                               "service_unavailable")
        self.health.sent(chosen.model)
        return Routed(model, chosen.model, tuple(c.model for c in candidates))

    # -- what the billing hooks report ----------------------------------------------------------------------
    def succeeded(self, model: str, start: Any, end: Any, cache_hit: bool = False, first_token: Any = None) -> None:
        """A served call: its latency, and for a stream the time to its first token (`first_token`: a datetime or an
        ISO string), both from its start. An answer from the response cache measures no model."""
        if not model:
            return
        if cache_hit:
            self.health.succeeded(model, None)
            return
        if isinstance(first_token, str):
            try:
                first_token = datetime.fromisoformat(first_token.replace("Z", "+00:00"))
            except ValueError:
                first_token = None
        self.health.succeeded(model, _ms_between(start, end), _ms_between(start, first_token) if first_token else None)

    def failed(self, model: str, error: BaseException) -> None:
        """A provider-side failure (5xx, 429, timeouts, connection errors) counts against the model; a request the
        provider refused as bad (other 4xx) does not."""
        status = getattr(error, "status_code", None)
        try:
            status = int(status) if status is not None else 500
        except (TypeError, ValueError):
            status = 500
        if model and (status >= 500 or status in (408, 429)):
            self.health.failed(model)
        elif model:
            self.health._ended(self.health._get(model))


def _ms_between(start: Any, end: Any) -> float | None:
    def seconds(value: Any) -> float | None:
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        return None
    a, b = seconds(start), seconds(end)
    return None if a is None or b is None else max(0.0, (b - a) * 1000)
