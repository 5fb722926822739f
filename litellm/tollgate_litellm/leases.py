"""
Balance leases, gateway side (docs/adr/0011-balance-leases.md): the platform grants this process a slice of a
key's available money; each call draws its worst-case price from it in memory, so a warm key costs no platform
round trip per call. The slice is refilled ahead of exhaustion in the background (one refill in flight per key),
extended while calls are in flight, and returned when idle, when the key's lease epoch changes (budgets, prices,
models, status: the auth answer carries it, cached ≤ 5 s) and at shutdown.

Money safety does not depend on this process behaving: the platform reserved every micro-USD it granted, a
lease expires on the platform if this process vanishes, and charges still come from usage events by call id.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .platform import PlatformClient, PlatformUnavailable, PlatformUnreachable, connect_timed_out
from .pricing import NO_UNITS, ModelNotPriced, Price, Units, price_worst_case, worst_case
from .settings import LeaseSettings

logger = logging.getLogger("tollgate.leases")



# How long a lease's return waits for a top-up of it in flight before it goes out anyway.
TOP_UP_WAIT_SECONDS = 2.0


class LeaseRefused(Exception):
    """The platform refused a grant (402 balance, 429 budget, 401 key, 403 …): the call gets its answer."""

    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body or {}


@dataclass
class Lease:
    id: str
    key_id: str
    epoch: str
    deadline: float  # on this process's monotonic clock; no draw at or after it
    ttl: float
    prices: dict[str, Price]
    allowed: frozenset[str]
    granted: int = 0
    drawn: int = 0
    available: int = 0  # what the platform said was left beside the lease, at the last grant
    inflight: dict[str, int] = field(default_factory=dict)
    last_draw: float = 0.0
    last_grant: int = 0
    last_grant_at: float = 0.0
    retired: bool = False
    returning: bool = False  # an idle return is in flight: draws wait for its outcome
    next_return_at: float = 0.0  # an idle return the platform could not be reached for is tried again then
    topping: asyncio.Future[None] | None = None  # a grant in flight that tops this lease up (its key's single flight)

    @property
    def used_at(self) -> float:
        """When it was last drawn from or granted money: a lease granted for calls that have not drawn yet is not idle."""
        return max(self.last_draw, self.last_grant_at)

    @property
    def remaining(self) -> int:
        return self.granted - self.drawn


@dataclass(frozen=True)
class Draw:
    lease_id: str
    micros: int
    remaining: int
    available: int


class LeaseBook:
    def __init__(
        self,
        client: PlatformClient,
        settings: LeaseSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        process_id: str | None = None,
    ) -> None:
        self.client = client
        self.settings = settings or LeaseSettings()
        self.clock = clock
        self.process_id = process_id or f"gw-{uuid.uuid4()}"
        self.leases: dict[str, Lease] = {}
        self._refills: dict[str, asyncio.Future[None]] = {}
        self._waiting: dict[str, int] = {}
        self._by_id: dict[str, Lease] = {}
        self._rates: dict[str, tuple[float, int]] = {}  # key → (window start, drawn in window)
        self._rate: dict[str, float] = {}  # key → micros per second, last full window
        self._task: asyncio.Task[None] | None = None
        self._returns: set[asyncio.Task[Any]] = set()
        # Keys whose draws wait until the platform has seen a charge above a draw (clause 46): key → that moment.
        self._paused: dict[str, asyncio.Future[Any]] = {}
        # Counted for the benchmark's "platform round trips per call" and the stats route.
        self.round_trips = 0
        self.draws = 0
        self.refused = 0

    # -- per call ------------------------------------------------------------------------------------------
    async def draw(
        self,
        key_id: str,
        epoch: str,
        call_id: str,
        models: list[str],
        prompt: int,
        max_output: int | None,
        choices: int,
        units: Units = NO_UNITS,
        kind: str | None = None,
    ) -> Draw:
        """Reserves the call's worst case from the key's lease, refilling it (single-flight) when it does not fit."""
        self.start()
        # Each round waits for a grant (or a return) in flight for the key. A burst on a cold key on a loaded host may
        # need many: the wait is bounded by time (the call's own client waits longer), and by a round count far above
        # any real burst's, so a process that could never fit the call does not spin.
        given_up = self.clock() + self.settings.draw_wait_seconds
        asked_again = False
        for _ in range(1024):
            # A pause set while this call waited (a call reported more than it drew) holds it too: the next grant
            # must see that charge first (clause 46).
            await self._unpaused(key_id)
            if self.clock() > given_up:
                break
            lease = self._live(key_id, epoch)
            if lease is not None and lease.returning:
                await self._after_pending(key_id)  # kept (platform unreachable) or gone: look again
                continue
            if lease is not None:
                if models[0] not in lease.allowed:
                    raise ModelNotPriced(models[0])
                cost = worst_case(lease.prices, models, prompt, max_output, choices, units, kind)
                if lease.remaining >= cost:
                    return self._take(lease, call_id, cost)
                need = cost - lease.remaining
            else:
                cost, need = 0, 0
            try:
                await self._refill(key_id, epoch, need, cost)
            except PlatformUnreachable as error:
                # A grant whose two connects both timed out was never sent: on a loaded host it is this process's own
                # event loop, busy taking a burst's connections, that was late. Each waiting call asks once more (one
                # more round: a platform that drops connections, down or frozen, fails a call in about twice its two
                # connect timeouts, not in its whole wait). A refused connection is the platform down, and no free
                # connection in the pool is this process overloaded: the call fails closed at once.
                if asked_again or not connect_timed_out(error) or self.clock() + self.settings.grant_retry_pause > given_up:
                    raise
                asked_again = True
                logger.warning("a lease grant for key %s could not connect in time; the waiting calls ask again", key_id)
                await asyncio.sleep(self.settings.grant_retry_pause)
        raise PlatformUnavailable("lease refills did not keep up")

    def settled(self, answer: dict[str, Any]) -> None:
        """The platform's answer to a usage delivery (clause 46). A lease whose reservation paid charges above their
        draws holds that much less on the platform: this process may draw that much less from it. A key whose account
        the batch left in deficit stops drawing now: its lease goes back, and a new one is granted nothing while the
        available balance is below zero."""
        for item in answer.get("leaseOverruns") or []:
            if not isinstance(item, dict):
                continue
            lease = self._by_id.get(str(item.get("leaseId")))
            overrun = item.get("overrunMicros")
            if lease is not None and isinstance(overrun, int) and overrun > 0:
                lease.granted -= overrun
                logger.warning("lease %s paid %s µ$ above its calls' draws: drawn from it that much less", lease.id, overrun)
        for key_id in answer.get("deficitKeyIds") or []:
            lease = self.leases.get(str(key_id))
            if lease is not None:
                self._retire(lease, "account in deficit")

    def reported(self, lease_id: str | None, model: str, prompt: int, completion: int, units: Units, drawn: int) -> bool:
        """A served call's usage, priced at the lease's worst-case rates (never below its charge): above what it drew,
        the upstream billed more than the call's bound (clause 45), so this lease may be spent past its reservation on
        the platform. It goes back at once and is not drawn from again; the caller delivers the event now, so the next
        grant sees the charge (clause 46). True when that happened."""
        lease = self._by_id.get(lease_id or "")
        price = lease.prices.get(model) if lease is not None else None
        if lease is None or price is None:
            return False
        bound = price_worst_case(price, max(0, prompt), max(0, completion), units)
        if bound <= drawn:
            return False
        logger.warning("lease %s: a call drew %s µ$ and reported usage worth up to %s µ$; the lease goes back",
                       lease.id, drawn, bound)
        if not lease.retired:
            self._retire(lease, "a call reported more than it drew")
        return True

    def pause(self, key_id: str, until: Awaitable[Any]) -> None:
        """Draws for the key wait until `until` (the platform has settled a charge above a draw), at most
        pause_seconds: the next grant then sees that charge, and an account in deficit is refused (clause 46)."""
        self._paused[key_id] = asyncio.ensure_future(until)

    async def _unpaused(self, key_id: str) -> None:
        paused = self._paused.get(key_id)
        if paused is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(paused), self.settings.pause_seconds)
        except (asyncio.TimeoutError, Exception):
            pass
        if self._paused.get(key_id) is paused:
            del self._paused[key_id]

    def output_cap(self, lease_id: str, model: str, asked: int | None) -> int | None:
        """The output a call drawn from this lease was reserved for, per choice: what it asked, at most the model's
        output limit (None: the lease or its price is gone)."""
        lease = self._by_id.get(lease_id)
        price = lease.prices.get(model) if lease is not None else None
        if price is None:
            return None
        return price.max_output_tokens if asked is None or asked < 0 else min(asked, price.max_output_tokens)

    def finish(self, lease_id: str | None, call_id: str) -> None:
        """The call's usage event is in the outbox: its draw is now the platform's to settle."""
        lease = self._by_id.get(lease_id or "")
        if lease is not None:
            lease.inflight.pop(call_id, None)

    def has_live_lease(self, key_id: str) -> bool:
        lease = self.leases.get(key_id)
        return lease is not None and not lease.retired and self.clock() < lease.deadline and lease.remaining > 0

    def stats(self) -> dict[str, Any]:
        return {
            "processId": self.process_id,
            "leases": len(self.leases),
            "draws": self.draws,
            "roundTrips": self.round_trips,
            "refused": self.refused,
            "reservedMicros": sum(lease.remaining for lease in self.leases.values()),
        }

    def _live(self, key_id: str, epoch: str) -> Lease | None:
        lease = self.leases.get(key_id)
        if lease is None:
            return None
        if lease.epoch != epoch or self.clock() >= lease.deadline:
            self._retire(lease, "epoch changed" if lease.epoch != epoch else "expired locally")
            return None
        return lease

    def _take(self, lease: Lease, call_id: str, cost: int) -> Draw:
        now = self.clock()
        lease.drawn += cost
        lease.inflight[call_id] = cost
        lease.last_draw = now
        self.draws += 1
        start, total = self._rates.get(lease.key_id, (now, 0))
        if now - start >= 1.0:
            self._rate[lease.key_id] = total / (now - start)
            start, total = now, 0
        self._rates[lease.key_id] = (start, total + cost)
        # Refill ahead: when what is left would not last ~2 s at the recent rate (or two more calls).
        low_water = max(2 * cost, int(self._rate.get(lease.key_id, 0.0) * 2))
        if lease.remaining < low_water and lease.key_id not in self._refills:
            self._background(self._refill_ahead(lease, cost))
        return Draw(lease.id, cost, lease.remaining, lease.available)

    async def _refill_ahead(self, lease: Lease, cost: int) -> None:
        """Tops this lease up before a call needs it; nothing if a grant is already on its way for the key, and
        nothing if by then the lease was given back or the key's draws are paused (clause 46): the next call starts
        a new lease itself, after the pause."""
        if lease.key_id in self._refills:
            return

        async def top_up() -> None:
            paused = self._paused.get(lease.key_id)
            if lease.retired or self.leases.get(lease.key_id) is not lease or (paused is not None and not paused.done()):
                return
            try:
                await self._grant(lease.key_id, lease.epoch, 0, cost, renew=False)
            except LeaseRefused as error:
                # No call needed this grant: a call waiting on it that does not fit asks for itself and is answered
                # on its own amounts (this refusal's named what the lease held when it was sent, maybe above the
                # waiting call's worst case).
                logger.info("top-up ahead of need for lease %s refused: %s", lease.id, error.message)

        await self._single_flight(lease.key_id, top_up)

    # -- grants --------------------------------------------------------------------------------------------
    def _want(self, lease: Lease | None, cost: int, need: int) -> int:
        """How much to ask for: ~want_seconds of the recent spend, at least min_calls worst cases and what waiting
        calls need, doubling while grants are used up quickly (a burst), never more than max_micros."""
        settings = self.settings
        if lease is None:
            return max(1, min(settings.max_micros, settings.initial_micros))
        rate = self._rate.get(lease.key_id, 0.0)
        quick = self.clock() - lease.last_grant_at < settings.want_seconds
        want = max(int(rate * settings.want_seconds), cost * settings.min_calls, need,
                   2 * lease.last_grant if quick else 0, self._waiting.get(lease.key_id, 0))
        return max(need, min(want, settings.max_micros))

    async def _refill(self, key_id: str, epoch: str, need: int, cost: int) -> None:
        """One grant in flight per key; callers wait for it, then try to draw again."""
        pending = self._refills.get(key_id)
        if pending is not None:
            self._waiting[key_id] = self._waiting.get(key_id, 0) + cost
            try:
                await asyncio.shield(pending)
            finally:
                self._waiting[key_id] = self._waiting.get(key_id, 0) - cost
            return
        await self._single_flight(key_id, lambda: self._grant(key_id, epoch, need, cost))

    async def _after_pending(self, key_id: str) -> None:
        pending = self._refills.get(key_id)
        if pending is not None:
            await asyncio.gather(asyncio.shield(pending), return_exceptions=True)

    async def _single_flight(self, key_id: str, work: Callable[[], Awaitable[None]]) -> None:
        """Runs work as the one platform request in flight for this key (concurrent callers wait on _refills). A
        request already in flight for the key (a grant started after the upkeep scheduled a return or an extension)
        is waited for first: a return sent beside a grant would give back only what the process knew was unused,
        and the grant's money would stay reserved on a returned lease until it expired."""
        while key_id in self._refills:
            await self._after_pending(key_id)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._refills[key_id] = future
        try:
            await work()
            future.set_result(None)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        finally:
            if self._refills.get(key_id) is future:
                del self._refills[key_id]

    async def _grant(self, key_id: str, epoch: str, need: int, cost: int, renew: bool = True) -> None:
        """A grant for the key's lease (a new one if it has none). A top-up the platform answers as closed starts a new
        lease for the calls waiting, unless `renew` is off (a top-up ahead of need) or this process gave the lease back
        meanwhile: then the next call starts one itself, after any pause."""
        lease = self.leases.get(key_id)
        if lease is not None and (lease.retired or lease.epoch != epoch):
            lease = None
        # A new lease learns the prices with its first grant (no minimum: the call's cost is not known yet);
        # a top-up must cover at least what the waiting call lacks.
        minimum = 0 if lease is None else max(1, need)
        body = {
            "leaseId": lease.id if lease is not None else str(uuid.uuid4()),
            "keyId": key_id,
            "processId": self.process_id,
            "nonce": uuid.uuid4().hex,
            "wantMicros": max(minimum, self._want(lease, cost, need)),
            "minMicros": minimum,
            # What the platform's refusal names: the waiting call's worst case and what this lease still holds.
            "callMicros": cost,
            "unusedMicros": max(0, lease.remaining) if lease is not None else 0,
        }
        sent = self.clock()
        topped = lease
        if topped is not None:
            topped.topping = self._refills.get(key_id)
        try:
            answer = await self._post_grant(body)
        finally:
            if topped is not None:
                topped.topping = None
        if answer is None:  # the lease closed under us (expired on the platform): start a new one
            given_back = lease is not None and lease.retired
            if lease is not None:
                self._forget(lease)
            if given_back or not renew:
                return
            lease = None
            body.update(leaseId=str(uuid.uuid4()), nonce=uuid.uuid4().hex, minMicros=0, unusedMicros=0,
                        wantMicros=self._want(None, cost, need))
            answer = await self._post_grant(body)
            if answer is None:
                raise PlatformUnavailable("a new lease was refused as closed")
        ttl = float(answer.get("ttlSeconds") or 0)
        granted = int(answer.get("grantedMicros") or 0)
        if lease is None:
            lease = Lease(
                id=answer["leaseId"],
                key_id=key_id,
                epoch=epoch,
                deadline=0.0,
                ttl=ttl,
                prices={
                    p["model"]: Price.from_platform(p)
                    for p in answer.get("prices") or []
                },
                allowed=frozenset(answer.get("allowedModels") or []),
            )
            old = self.leases.get(key_id)
            if old is not None:
                self._retire(old, "replaced")
            self.leases[key_id] = lease
            self._by_id[lease.id] = lease
        self._valid_until(lease, sent, ttl)
        lease.granted += granted
        lease.last_grant = granted
        lease.last_grant_at = self.clock()
        lease.available = int(answer.get("availableMicros") or 0)

    def _valid_until(self, lease: Lease, sent: float, ttl: float) -> None:
        """Counted from when the request was sent, less a margin: never past the platform's own expiry."""
        lease.ttl = ttl
        lease.deadline = sent + ttl - min(self.settings.margin_max, ttl * self.settings.margin_fraction)

    async def _post_grant(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The platform's answer, None if the lease is closed (409), LeaseRefused for a refusal."""
        maybe_sent = False  # a first try that may have reached the platform: the grant may have been made
        for attempt in (1, 2):  # one retry with the same nonce: a repeated grant is answered, not doubled
            self.round_trips += 1
            try:
                response = await self.client.request("/api/internal/gateway/leases", body)
            except PlatformUnavailable as error:
                if attempt == 2:
                    if maybe_sent and isinstance(error, PlatformUnreachable):
                        # Not "never sent": the first try may have been granted. Its caller must not ask again with a
                        # new nonce (a second reservation beside one this process never learned of).
                        raise PlatformUnavailable("a lease grant may have reached the platform") from error
                    raise
                maybe_sent = not isinstance(error, PlatformUnreachable)
                continue
            if response.status_code == 200:
                return response.json()
            if response.status_code >= 500 or response.status_code == 404:
                if attempt == 2:
                    raise PlatformUnavailable(f"lease grant answered HTTP {response.status_code}")
                maybe_sent = True
                continue
            try:
                data = response.json()
            except ValueError:
                data = {}
            error = data.get("error") or {}
            if response.status_code == 409 and error.get("code") == "lease_closed":
                return None
            self.refused += 1
            raise LeaseRefused(response.status_code, error.get("message") or f"HTTP {response.status_code}", error)
        raise AssertionError("unreachable")

    # -- upkeep --------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None or self._task.done():
            try:
                self._task = asyncio.get_running_loop().create_task(self._maintain())
            except RuntimeError:
                pass

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(self.settings.maintain_interval)
            try:
                await self.tick()
            except Exception:
                logger.exception("lease upkeep failed")

    async def tick(self) -> None:
        """Extends leases still in use before they lapse; returns idle ones."""
        now = self.clock()
        for lease in list(self.leases.values()):
            if lease.retired:
                continue
            idle = now - lease.used_at >= self.settings.idle_seconds
            if idle and not lease.inflight:
                if now >= lease.next_return_at and lease.key_id not in self._refills:
                    self._background(self._return_idle(lease, now))
                continue
            if lease.deadline - now < lease.ttl / 2 and lease.key_id not in self._refills:
                self._background(self._extend(lease))  # still in use, or calls in flight: keep it valid

    async def _extend(self, lease: Lease) -> None:
        async def extend() -> None:
            body = {
                "leaseId": lease.id,
                "keyId": lease.key_id,
                "processId": self.process_id,
                "nonce": uuid.uuid4().hex,
                "wantMicros": 0,
                "minMicros": 0,
            }
            sent = self.clock()
            answer = await self._post_grant(body)
            if answer is None:
                self._forget(lease)
            else:
                self._valid_until(lease, sent, float(answer.get("ttlSeconds") or 0))

        try:
            await self._single_flight(lease.key_id, extend)
        except (PlatformUnavailable, LeaseRefused) as error:
            logger.warning("could not extend lease %s: %s", lease.id, error)

    async def _return_idle(self, lease: Lease, looked_at: float) -> None:
        """An idle lease goes back to the platform, unless the platform cannot be reached: then the key keeps it,
        so a quiet key is still served from its lease through a platform outage (the platform expires it anyway).
        Only a refused connection keeps it: an answer that was lost may mean the platform already took it back."""

        async def give_back() -> None:
            if (lease.retired or lease.inflight or lease.last_grant_at > looked_at
                    or self.clock() - lease.used_at < self.settings.idle_seconds):
                return  # drawn from or topped up since the upkeep looked: in use again
            lease.returning = True
            try:
                response = await self._post_return(lease, "idle")
            except PlatformUnreachable:
                lease.next_return_at = self.clock() + self.settings.idle_seconds
                logger.info("kept idle lease %s: the platform cannot be reached", lease.id)
                return
            except PlatformUnavailable:
                response = None
            finally:
                lease.returning = False
            self._forget(lease)
            if response is None or response.status_code >= 500:
                logger.warning("could not return lease %s: it expires on the platform instead", lease.id)
            if not lease.inflight:
                self._by_id.pop(lease.id, None)

        await self._single_flight(lease.key_id, give_back)

    async def _post_return(self, lease: Lease, reason: str) -> Any:
        self.round_trips += 1
        body = {"leaseId": lease.id, "keyId": lease.key_id, "unusedMicros": max(0, lease.remaining)}
        response = await self.client.request("/api/internal/gateway/leases/return", body)
        if response.status_code < 500:
            logger.info("returned lease %s (%s): %s unused", lease.id, reason, body["unusedMicros"])
        return response

    def retire_key(self, key_id: str, reason: str) -> None:
        """The key was revoked or its owner suspended (its auth answer said so): give its lease back now."""
        lease = self.leases.get(key_id)
        if lease is not None:
            self._retire(lease, reason)

    def _retire(self, lease: Lease, reason: str, wait: bool = True) -> None:
        if lease.retired:
            return
        lease.retired = True
        if self.leases.get(lease.key_id) is lease:
            del self.leases[lease.key_id]
        self._background(self._return(lease, reason, wait))

    def _forget(self, lease: Lease) -> None:
        lease.retired = True
        if self.leases.get(lease.key_id) is lease:
            del self.leases[lease.key_id]

    async def _return(self, lease: Lease, reason: str, wait: bool = True) -> None:
        # A top-up of this lease in flight is answered first (for at most TOP_UP_WAIT_SECONDS): the platform may have
        # granted it before this return arrives, and what it granted must be counted unused here or it stays reserved on
        # the returned lease until that expires. Only a top-up of this lease: the key's next lease, whose grant a
        # retiring draw starts at once, must be sized with this one's money already back. Not at shutdown, whose
        # returns have a few seconds in all.
        topping = lease.topping if wait else None
        if topping is not None:
            try:
                await asyncio.wait_for(asyncio.shield(topping), TOP_UP_WAIT_SECONDS)
            except BaseException as error:  # its outcome is the grant's caller's; a timeout sends the return anyway
                if isinstance(error, asyncio.CancelledError) and not topping.cancelled():
                    raise
        for attempt in range(3):
            try:
                if (await self._post_return(lease, reason)).status_code < 500:
                    break
            except PlatformUnavailable:
                pass
            await asyncio.sleep(0.5 * (attempt + 1))
        else:
            logger.warning("could not return lease %s: it expires on the platform instead", lease.id)
        # Calls still in flight keep naming it in their events; it stays findable until they finish.
        if not lease.inflight:
            self._by_id.pop(lease.id, None)

    async def return_all(self) -> None:
        """At shutdown: every lease back to the platform (their in-flight share stays reserved there)."""
        for lease in list(self.leases.values()):
            self._retire(lease, "shutdown", wait=False)
        if self._returns:
            await asyncio.gather(*self._returns, return_exceptions=True)

    def _background(self, awaitable: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(awaitable)
        self._returns.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._returns.discard(t)
            if not t.cancelled() and t.exception() is not None:
                error = t.exception()
                if not isinstance(error, (PlatformUnavailable, LeaseRefused)):
                    logger.error("lease task failed: %r", error)

        task.add_done_callback(done)


_shared: LeaseBook | None = None


def shared_book(factory: Callable[[], LeaseBook] | None = None) -> LeaseBook | None:
    """This process's lease book (billing creates it; auth reads it to serve warm keys while the platform is away)."""
    global _shared
    if _shared is None and factory is not None:
        _shared = factory()
    return _shared
