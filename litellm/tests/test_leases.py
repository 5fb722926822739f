"""The lease book against a scripted platform that reserves like grant_lease: draws, refills, refusals, epochs, upkeep."""

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from fastapi import HTTPException
from litellm.proxy._types import UserAPIKeyAuth

from tollgate_litellm.auth import Authenticator
from tollgate_litellm.billing import STATE, TollgateBilling
from tollgate_litellm.contract import ALWAYS_UNITS, ASKED_UNITS
from tollgate_litellm.leases import LeaseBook, LeaseRefused
from tollgate_litellm.outbox import Outbox
from tollgate_litellm.platform import PlatformClient, PlatformUnavailable
from tollgate_litellm.pricing import (
    NO_UNITS,
    ModelNotBilledHere,
    ModelNotPriced,
    Price,
    Units,
    price_worst_case,
    worst_case,
)
from tollgate_litellm.settings import LeaseSettings, Settings

KEY_ID = "11111111-1111-4111-8111-111111111111"


def rates(prompt: int, output: int, **more) -> dict:
    """A model's worst-case rates as the platform's grant answer carries them (worst_case_rates)."""
    return {"promptMicros": prompt, "outputMicros": output, "images": [],
            "units": {u.key: 0 for u in (*ASKED_UNITS, *ALWAYS_UNITS)}, **more}


SMALL = {"model": "fake-small", "priceVersionId": "v1", "inputPriceMicros": 500_000, "outputPriceMicros": 1_500_000,
         "maxOutputTokens": 4096, "worstCase": rates(500_000, 1_500_000)}
LARGE = {"model": "fake-large", "priceVersionId": "v2", "inputPriceMicros": 5_000_000, "outputPriceMicros": 15_000_000,
         "maxOutputTokens": 8192, "worstCase": rates(5_000_000, 15_000_000)}


def price_tokens(prompt: int, output: int, price: Price) -> int:
    """Tokens only, rounded up once: price_tokens in SQL (clause 1) restated for the expected values here."""
    return (prompt * price.prompt_micros + output * price.output_micros + 999_999) // 1_000_000
CALL = 125  # 100 prompt + 50 output tokens of fake-small


class Platform:
    """Grants like grant_lease: least(want, available, max(min, available // 2)); refuses below min with 402."""

    def __init__(self, balance: int, ttl: float = 60.0):
        self.available = balance
        self.ttl = ttl
        self.grants: list[dict] = []
        self.returns: list[dict] = []
        self.reserved: dict[str, int] = {}
        self.closed: set[str] = set()
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("platform down")
        body = json.loads(request.content)
        if request.url.path.endswith("/leases/return"):
            self.returns.append(body)
            back = min(body["unusedMicros"], self.reserved.get(body["leaseId"], 0))
            self.reserved[body["leaseId"]] = self.reserved.get(body["leaseId"], 0) - back
            self.available += back
            self.closed.add(body["leaseId"])
            return httpx.Response(200, json={"releasedMicros": back, "status": "closing"})
        self.grants.append(body)
        if body["leaseId"] in self.closed:
            return httpx.Response(409, json={"error": {"code": "lease_closed", "message": "closed"}})
        amount = max(0, min(body["wantMicros"], self.available, max(body["minMicros"], self.available // 2)))
        if amount < body["minMicros"]:
            return httpx.Response(402, json={"error": {
                "code": "insufficient_balance", "message": f"the platform's sentence for a call of {body.get('callMicros')}",
                "neededMicros": body["minMicros"], "availableMicros": self.available, "balanceMicros": 10, "heldMicros": 0}})
        self.available -= amount
        self.reserved[body["leaseId"]] = self.reserved.get(body["leaseId"], 0) + amount
        return httpx.Response(200, json={
            "leaseId": body["leaseId"], "outcome": "granted", "grantedMicros": amount,
            "reservedMicros": self.reserved[body["leaseId"]], "ttlSeconds": self.ttl, "availableMicros": self.available,
            "allowedModels": ["fake-small", "fake-large"], "prices": [SMALL, LARGE]})


def settings(**lease):
    return Settings("http://platform.test", "s" * 40, None, 5.0, 2.0, 1.0, 100, "lease", LeaseSettings(**lease))


def book(platform, clock=None, **lease):
    s = settings(**lease)
    return LeaseBook(PlatformClient(s, transport=httpx.MockTransport(platform.handler)), s.lease,
                     **({"clock": clock} if clock else {}))


# What a call may be charged at most, on the numbers: the cases and rates tests/integration/price-units.test.ts asserts
# of price_worst_case and worst_case_rates in SQL.
WORST_CASE = json.loads((Path(__file__).parents[2] / "tests" / "fixtures" / "worst-case.json").read_text())


def test_the_worst_case_is_the_sql_rule_for_the_dearest_reachable_model():
    price = Price.from_platform({**SMALL, "worstCase": WORST_CASE["worstCaseRates"]})
    for case in WORST_CASE["cases"]:  # each unit times its rate, rounded up once, as price_worst_case in SQL
        units = Units(case["units"])
        assert price_worst_case(price, case["prompt"], case["output"], units) == case["micros"], case["_"]
    small = Price(500_000, 1_500_000, 4096)
    prices = {"fake-small": small, "fake-large": Price(5_000_000, 15_000_000, 8192)}
    # n = 3 choices of 50 tokens, and a fallback to the dearer group
    assert worst_case(prices, ["fake-small", "fake-large"], 100, 50, 3) == (100 * 5_000_000 + 150 * 15_000_000 + 999_999) // 1_000_000
    # no output cap named: the model's most
    assert worst_case(prices, ["fake-small"], 10, None, 1) == price_worst_case(small, 10, 4096)
    with pytest.raises(ModelNotPriced):
        worst_case(prices, ["fake-small", "unpriced"], 10, 10, 1)


async def test_a_warm_key_draws_without_asking_the_platform():
    platform = Platform(1_000_000_000)
    leases = book(platform)
    for i in range(500):
        await leases.draw(KEY_ID, "e1", f"c{i}", ["fake-small"], 100, 50, 1)
    assert leases.draws == 500
    # A handful of grants (the first learns the prices, refills grow with the spend), not one per call.
    assert len(platform.grants) <= 5
    lease = leases.leases[KEY_ID]
    assert lease.drawn == 500 * CALL and lease.remaining >= 0
    assert platform.reserved[lease.id] == lease.granted


async def test_a_burst_shares_one_refill_in_flight():
    platform = Platform(1_000_000_000)
    leases = book(platform)
    draws = await asyncio.gather(*(leases.draw(KEY_ID, "e1", f"c{i}", ["fake-small"], 100, 50, 1) for i in range(1000)))
    assert len(draws) == 1000 and len({d.lease_id for d in draws}) == 1
    assert len(platform.grants) <= 12


async def test_a_small_balance_serves_exactly_what_it_covers_then_402_with_the_amounts():
    platform = Platform(10 * CALL)
    leases = book(platform)
    results = await asyncio.gather(
        *(leases.draw(KEY_ID, "e1", f"c{i}", ["fake-small"], 100, 50, 1) for i in range(50)), return_exceptions=True
    )
    served = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(served) == 10
    assert all(isinstance(r, LeaseRefused) and r.status == 402 for r in refused)
    assert platform.available == 0


async def test_a_changed_epoch_returns_the_lease_with_what_no_call_drew_and_takes_a_new_one():
    platform = Platform(1_000_000)
    leases = book(platform)
    first = await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    old = leases.leases[KEY_ID]
    second = await leases.draw(KEY_ID, "e2", "c2", ["fake-small"], 100, 50, 1)
    assert second.lease_id != first.lease_id
    await asyncio.sleep(0)
    await asyncio.gather(*leases._returns)
    assert platform.returns == [{"leaseId": old.id, "keyId": KEY_ID, "unusedMicros": old.granted - CALL}]


async def test_a_model_the_key_may_not_call_or_an_unpriced_fallback_is_refused():
    leases = book(Platform(1_000_000))
    with pytest.raises(ModelNotPriced):
        await leases.draw(KEY_ID, "e1", "c1", ["fake-secret"], 100, 50, 1)
    with pytest.raises(ModelNotPriced):
        await leases.draw(KEY_ID, "e1", "c2", ["fake-small", "unpriced"], 100, 50, 1)


async def test_no_draw_after_the_local_deadline_and_a_closed_lease_is_replaced():
    now = [0.0]
    platform = Platform(1_000_000, ttl=10.0)
    leases = book(platform, clock=lambda: now[0])
    first = await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    now[0] = 8.0  # past ttl − margin (10 − 2): the lease is not drawn from, a new one is taken
    second = await leases.draw(KEY_ID, "e1", "c2", ["fake-small"], 100, 50, 1)
    assert second.lease_id != first.lease_id
    # The platform closed the current lease (it expired there): the next top-up starts a new one.
    platform.closed.add(second.lease_id)
    leases.leases[KEY_ID].drawn = leases.leases[KEY_ID].granted  # spent
    third = await leases.draw(KEY_ID, "e1", "c3", ["fake-small"], 100, 50, 1)
    assert third.lease_id not in (first.lease_id, second.lease_id)


async def test_upkeep_extends_a_lease_in_use_and_returns_an_idle_one():
    now = [0.0]
    platform = Platform(1_000_000, ttl=10.0)
    leases = book(platform, clock=lambda: now[0], idle_seconds=5.0)
    await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    lease = leases.leases[KEY_ID]
    now[0] = 6.0  # over half its validity gone, a call still in flight: extended (want 0)
    await leases.tick()
    await asyncio.gather(*leases._returns)
    assert platform.grants[-1]["wantMicros"] == 0 and platform.grants[-1]["leaseId"] == lease.id
    assert lease.deadline > 6.0 + 7.0
    leases.finish(lease.id, "c1")
    now[0] = 12.0  # idle and nothing in flight: returned
    await leases.tick()
    await asyncio.gather(*leases._returns)
    assert platform.returns[-1]["unusedMicros"] == lease.granted - CALL
    assert KEY_ID not in leases.leases


async def test_a_lease_just_granted_is_not_idle_before_its_calls_draw():
    """A burst's grant completes and the upkeep runs before the waiting calls draw (a loaded event loop): the lease
    was granted just now, so it is kept for them, not given back as idle (each give-back made them wait for a new
    grant from scratch)."""
    now = [1000.0]
    platform = Platform(1_000_000, ttl=60.0)
    leases = book(platform, clock=lambda: now[0], idle_seconds=1.0)
    await leases._refill(KEY_ID, "e1", 0, 0)  # the grant a cold key's first call starts; no call has drawn yet
    lease = leases.leases[KEY_ID]
    now[0] = 1000.5
    await leases.tick()
    await asyncio.gather(*leases._returns)
    assert platform.returns == [] and leases.leases[KEY_ID] is lease
    now[0] = 1001.5  # a second without a draw since the grant: idle now
    await leases.tick()
    await asyncio.gather(*leases._returns)
    assert [r["leaseId"] for r in platform.returns] == [lease.id]


async def test_calls_waiting_for_a_grant_when_a_pause_is_set_wait_for_the_charge_it_waits_for():
    """A burst waits on a top-up; meanwhile a call reports more than it drew: its lease goes back and the key's draws
    pause until the platform has that charge. The waiting calls, woken by the top-up, pause too: no new grant goes out
    before the charge is in (clause 46), however long they have been waiting."""
    platform = Platform(1_000_000_000)
    gate = asyncio.Event()

    async def held(request: httpx.Request) -> httpx.Response:
        if len(platform.grants) >= 1:  # the first grant is answered; the top-up waits for the gate
            await gate.wait()
        return platform.handler(request)

    s = settings(max_micros=CALL, min_calls=1)  # each grant fits one call: every call after the first waits
    leases = LeaseBook(PlatformClient(s, transport=httpx.MockTransport(held)), s.lease)
    first = await leases.draw(KEY_ID, "e1", "c0", ["fake-small"], 100, 50, 1)
    waiting = [asyncio.ensure_future(leases.draw(KEY_ID, "e1", f"c{i}", ["fake-small"], 100, 50, 1))
               for i in range(1, 6)]
    await asyncio.sleep(0.05)  # they wait on the top-up
    assert leases.reported(first.lease_id, "fake-small", 100_000, 50, NO_UNITS, first.micros)
    charged = asyncio.get_running_loop().create_future()
    leases.pause(KEY_ID, charged)
    gate.set()  # the top-up the first call started is answered; the calls wake up
    await asyncio.sleep(0.2)
    assert len(platform.grants) == 2 and not any(w.done() for w in waiting)
    charged.set_result(None)  # the platform has the charge: the calls go on
    assert len(await asyncio.gather(*waiting)) == 5


async def test_a_call_waiting_on_a_refused_top_up_ahead_of_need_is_answered_on_its_own_amounts():
    """The lease holds one call's worth after a draw, so a top-up goes out ahead of need; the balance has nothing more
    and it is refused. A call that then does not fit, waiting on that top-up, is refused on its own request: what it
    needs and what the lease holds now (nothing), not the top-up's figures, sent while the lease still held a call."""
    asked: list[dict] = []
    gate = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        asked.append(body)
        if len(asked) == 1:
            return httpx.Response(200, json={"leaseId": body["leaseId"], "grantedMicros": 3 * CALL, "ttlSeconds": 60,
                                             "availableMicros": 0, "allowedModels": ["fake-small"], "prices": [SMALL]})
        await gate.wait()
        return httpx.Response(402, json={"error": {"code": "insufficient_balance", "message": "no money",
                                                   "neededMicros": body["callMicros"], "unusedMicros": body["unusedMicros"]}})

    s = settings()
    leases = LeaseBook(PlatformClient(s, transport=httpx.MockTransport(handler)), s.lease)
    for i in range(3):  # the second leaves one call's worth: the top-up ahead of need goes out (held at the gate)
        await leases.draw(KEY_ID, "e1", f"c{i}", ["fake-small"], 100, 50, 1)
        await asyncio.sleep(0.01)
    waiting = asyncio.ensure_future(leases.draw(KEY_ID, "e1", "c3", ["fake-small"], 100, 50, 1))
    await asyncio.sleep(0.05)
    assert [a["minMicros"] for a in asked] == [0, 1] and asked[1]["unusedMicros"] == CALL
    gate.set()
    with pytest.raises(LeaseRefused) as refused:
        await waiting
    assert refused.value.body["unusedMicros"] == 0 and refused.value.body["neededMicros"] == CALL
    assert asked[-1]["minMicros"] == CALL


async def test_a_call_that_never_fits_gets_its_503_after_the_wait():
    """A platform that answers every grant with nothing (grant_lease never does; a broken proxy might): the call
    gives up after draw_wait_seconds on the book's clock, not after a fixed count of rounds."""
    now = [0.0]

    def tick() -> float:
        now[0] += 1.0
        return now[0]

    def nothing(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(200, json={"leaseId": body["leaseId"], "grantedMicros": 0, "ttlSeconds": 60,
                                         "availableMicros": 0, "allowedModels": ["fake-small"], "prices": [SMALL]})

    s = settings(draw_wait_seconds=10.0)
    leases = LeaseBook(PlatformClient(s, transport=httpx.MockTransport(nothing)), s.lease, clock=tick)
    with pytest.raises(PlatformUnavailable, match="did not keep up"):
        await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    assert leases.round_trips < 20


def test_the_worst_case_of_every_unit_is_the_sql_rule_price_worst_case():
    # A lease draw's bound (worst_case) on the fixture's cases, at the rates worst_case_rates resolves in SQL.
    price = Price.from_platform({**SMALL, "worstCase": WORST_CASE["worstCaseRates"]})
    for case in WORST_CASE["cases"]:
        units = Units(case["units"])
        assert worst_case({"m": price}, ["m"], case["prompt"], case["output"], 1, units) == case["micros"], case["_"]


# The image rate rule's cases, shared with tests/integration/price-units.test.ts (image_rate in SQL), looked up in
# the table worst_case_rates resolves for them (asserted there too).
IMAGE_RATES = json.loads((Path(__file__).parents[2] / "tests" / "fixtures" / "image-rates.json").read_text())
SIZED = Price.from_platform({**SMALL, "worstCase": rates(500_000, 1_500_000, images=IMAGE_RATES["leaseImages"])})


@pytest.mark.parametrize("case", IMAGE_RATES["cases"], ids=lambda c: c["why"])
def test_an_image_is_priced_at_the_sql_rule_image_rate(case):
    assert SIZED.image_micros(case["size"], case["quality"]) == case["priceMicros"]


def test_a_draw_reserves_images_at_their_size_and_quality():
    wide_hd = Units({"image": 3}, "1792x1024", "hd")
    # 3 wide HD images at $0.12, no tokens, no fee: the same as place_hold reserves for them.
    assert worst_case({"m": SIZED}, ["m"], 0, 0, 1, wide_hd) == 3 * 120_000
    assert worst_case({"m": SIZED}, ["m"], 0, 0, 1, Units({"image": 3})) == 3 * 40_000


async def test_an_idle_return_never_goes_out_beside_a_grant_for_the_same_key():
    """The upkeep schedules an idle return; before it runs, a call needs a top-up and its grant goes out. The return
    waits for the grant (one platform request per key at a time), then sees the lease in use and keeps it, so no
    grant's money is left on a returned lease."""
    now = [0.0]
    platform = Platform(300)
    in_flight = [0, 0]  # now, most at once

    async def slow(request: httpx.Request) -> httpx.Response:
        in_flight[0] += 1
        in_flight[1] = max(in_flight[1], in_flight[0])
        try:
            await asyncio.sleep(0.01)
            return platform.handler(request)
        finally:
            in_flight[0] -= 1

    s = settings(idle_seconds=5.0)
    leases = LeaseBook(PlatformClient(s, transport=httpx.MockTransport(slow)), s.lease, clock=lambda: now[0])
    await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)  # a first grant, most of it left after the call
    lease = leases.leases[KEY_ID]
    leases.finish(lease.id, "c1")
    now[0] = 6.0
    await leases.tick()  # idle: a return is scheduled, not yet running
    await leases.draw(KEY_ID, "e1", "c2", ["fake-small"], 100, 50, 1)  # needs a top-up: its grant goes out first
    await asyncio.gather(*leases._returns)
    assert in_flight[1] == 1
    assert platform.returns == [] and leases.leases[KEY_ID] is lease
    assert platform.reserved[lease.id] == lease.granted  # the platform holds what the process believes it has


async def test_a_lease_retired_while_its_top_up_is_in_flight_gives_the_top_up_back_too():
    """A call needs a top-up; while its grant is in flight the key is revoked and its lease goes back. The platform
    answers the grant first (the lease was still open when it arrived), so the return must count the top-up as unused:
    it waits for the grant in flight, and nothing of the retired lease stays reserved until it expires."""
    platform = Platform(10**12)
    in_flight = [0]

    async def slow(request: httpx.Request) -> httpx.Response:
        in_flight[0] += 1
        try:
            await asyncio.sleep(0.01)
            return platform.handler(request)
        finally:
            in_flight[0] -= 1

    s = settings()
    leases = LeaseBook(PlatformClient(s, transport=httpx.MockTransport(slow)), s.lease)
    await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    old = leases.leases[KEY_ID]
    leases.finish(old.id, "c1")
    drawn = old.drawn  # the first call's draw: the platform's to settle from its usage event
    # A call far larger than what the lease has left: its draw asks for a top-up of this lease.
    big = asyncio.ensure_future(leases.draw(KEY_ID, "e1", "c2", ["fake-small"], old.remaining * 1000, 50, 1))
    while in_flight[0] == 0:
        await asyncio.sleep(0)
    assert platform.grants[-1]["leaseId"] == old.id  # the top-up is on its way
    leases.retire_key(KEY_ID, "revoked")
    await big
    await asyncio.gather(*leases._returns)
    assert platform.returns[0]["leaseId"] == old.id
    assert len([g for g in platform.grants if g["leaseId"] == old.id]) == 2  # the first grant and the top-up
    # The first grant's rest and the top-up went back; only the first call's draw stays, for its charge.
    assert platform.reserved[old.id] == drawn


async def test_a_burst_whose_grant_connect_timed_out_asks_again_and_is_served():
    """A burst on a cold key waits on one grant; its connect times out twice (the process's own event loop was busy
    taking the burst's connections). The waiting calls ask again while their wait lasts and are served, each drawn once;
    a refused connection still fails them at once (the platform is down)."""
    platform = Platform(10**12)
    timeouts = [2]

    async def flaky(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        if request.url.path.endswith("/leases") and timeouts[0] > 0:
            timeouts[0] -= 1
            raise httpx.ConnectTimeout("connect timed out")
        return platform.handler(request)

    s = settings()
    leases = LeaseBook(PlatformClient(s, transport=httpx.MockTransport(flaky)), s.lease)
    draws = await asyncio.gather(*(leases.draw(KEY_ID, "e1", f"c{i}", ["fake-small"], 100, 50, 1) for i in range(20)))
    assert len({d.lease_id for d in draws}) == 1 and timeouts == [0]
    assert leases.leases[KEY_ID].drawn == sum(d.micros for d in draws)

    refused = LeaseBook(PlatformClient(s, transport=httpx.MockTransport(
        lambda request: (_ for _ in ()).throw(httpx.ConnectError("refused")))), s.lease)
    started = asyncio.get_running_loop().time()
    with pytest.raises(PlatformUnavailable):
        await refused.draw(KEY_ID, "e1", "c0", ["fake-small"], 100, 50, 1)
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_a_changed_epoch_returns_the_old_lease_before_the_new_one_is_sized():
    """From an outside review: a return that waited for any grant in flight for its key held the old lease's money
    while the retiring draw's new lease was sized, and that lease's top-up was refused with 402 though the key's
    balance covered the call. A return waits only for a top-up of its own lease."""
    platform = Platform(1_000_000)

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return platform.handler(request)

    s = settings()
    leases = LeaseBook(PlatformClient(s, transport=httpx.MockTransport(slow)), s.lease)
    first = await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 800_000, 0, 1)  # most of a half-balance lease
    leases.finish(first.lease_id, "c1")
    await asyncio.gather(*leases._returns)
    second = await leases.draw(KEY_ID, "e2", "c2", ["fake-small"], 600_000, 0, 1)  # fits what the key has unspent
    assert second.lease_id != first.lease_id
    await asyncio.gather(*leases._returns)
    assert platform.returns[0]["leaseId"] == first.lease_id


async def test_at_shutdown_a_return_does_not_wait_for_a_slow_top_up():
    """From an outside review: at shutdown (a few seconds for every return) a return waiting behind a slow top-up was
    cancelled before it was sent, and the whole lease stayed reserved until it expired. Shutdown returns go at once."""
    platform = Platform(10**9)
    slow_grants = [False]

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/leases") and slow_grants[0]:
            await asyncio.sleep(0.6)
        return platform.handler(request)

    s = settings()
    leases = LeaseBook(PlatformClient(s, transport=httpx.MockTransport(handler)), s.lease)
    first = await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    leases.finish(first.lease_id, "c1")
    slow_grants[0] = True
    big = asyncio.ensure_future(
        leases.draw(KEY_ID, "e1", "c2", ["fake-small"], leases.leases[KEY_ID].remaining * 1000, 50, 1))
    await asyncio.sleep(0.05)  # its top-up is in flight
    await asyncio.wait_for(leases.return_all(), timeout=0.5)
    assert [r["leaseId"] for r in platform.returns] == [first.lease_id]
    big.cancel()
    await asyncio.gather(big, return_exceptions=True)


async def test_a_platform_that_drops_connections_fails_a_waiting_call_after_one_more_round():
    """From an outside review: a platform that drops connections (down behind a firewall, or frozen with its accept
    queue full) gives connect timeouts, not refusals; the waiting calls ask once more, not for their whole wait."""
    posts: list[str] = []

    async def blackhole(request: httpx.Request) -> httpx.Response:
        posts.append(request.url.path)
        await asyncio.sleep(0)
        raise httpx.ConnectTimeout("SYN dropped")

    s = settings()
    leases = LeaseBook(PlatformClient(s, transport=httpx.MockTransport(blackhole)), s.lease)
    with pytest.raises(PlatformUnavailable):
        await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    assert len(posts) == 4  # two rounds of a grant's two tries


async def test_a_grant_that_may_have_reached_the_platform_is_not_asked_again_with_a_new_nonce():
    """From an outside review: the first try reached the platform (granted, its answer lost), the second's connect
    timed out. That grant was maybe made: asking again would reserve a second lease beside one this process never
    learned of, so the call fails closed instead."""
    platform = Platform(10_000_000)
    script = ["applied-then-lost", "connect-timeout"]

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        if request.url.path.endswith("/leases") and script:
            if script.pop(0) == "applied-then-lost":
                platform.handler(request)
                raise httpx.ReadTimeout("answer lost")
            raise httpx.ConnectTimeout("connect timed out")
        return platform.handler(request)

    s = settings()
    leases = LeaseBook(PlatformClient(s, transport=httpx.MockTransport(handler)), s.lease)
    with pytest.raises(PlatformUnavailable):
        await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    assert len({g["leaseId"] for g in platform.grants}) == 1


async def test_an_idle_lease_is_kept_while_the_platform_refuses_connections_and_returned_once_it_is_back():
    now = [0.0]
    platform = Platform(1_000_000, ttl=60.0)
    leases = book(platform, clock=lambda: now[0], idle_seconds=5.0)
    first = await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    leases.finish(first.lease_id, "c1")
    platform.down = True
    now[0] = 6.0  # idle, but the return cannot reach the platform: the key keeps its lease
    await leases.tick()
    await asyncio.gather(*leases._returns)
    assert platform.returns == [] and leases.leases[KEY_ID].id == first.lease_id
    now[0] = 7.0  # a call while the platform is still away is served from it, with no round trip
    trips = leases.round_trips
    second = await leases.draw(KEY_ID, "e1", "c2", ["fake-small"], 100, 50, 1)
    assert second.lease_id == first.lease_id and leases.round_trips == trips
    leases.finish(first.lease_id, "c2")
    platform.down = False
    now[0] = 13.0  # idle again and the platform is back: returned, what is left goes back to the balance
    await leases.tick()
    await asyncio.gather(*leases._returns)
    assert [r["leaseId"] for r in platform.returns] == [first.lease_id]
    assert platform.returns[0]["unusedMicros"] == first.remaining - CALL  # the grant less the two calls
    assert KEY_ID not in leases.leases


async def test_an_idle_return_whose_answer_is_lost_is_not_kept():
    now = [0.0]
    platform = Platform(1_000_000, ttl=60.0)
    leases = book(platform, clock=lambda: now[0], idle_seconds=5.0)
    first = await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    leases.finish(first.lease_id, "c1")
    handler = platform.handler

    def timeout(request):
        handler(request)  # the platform took it back, but the answer never arrived
        raise httpx.ReadTimeout("lost")

    leases.client._client._transport = httpx.MockTransport(timeout)
    now[0] = 6.0
    await leases.tick()
    await asyncio.gather(*leases._returns)
    assert KEY_ID not in leases.leases  # a call now starts a new lease instead of drawing on a returned one


def lease_auth(epoch="e1"):
    return UserAPIKeyAuth(api_key="tg-x", metadata={"tollgate_key_id": KEY_ID, "tollgate_billing": "lease", "tollgate_lease_epoch": epoch})


async def test_the_pre_call_hook_draws_and_the_event_names_the_lease_and_the_draw(tmp_path):
    platform = Platform(1_000_000)
    s = settings()
    outbox = Outbox(str(tmp_path / "o.db"), s.platform_url, "w" * 40, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    client = PlatformClient(s, transport=httpx.MockTransport(platform.handler))
    billing = TollgateBilling(s, outbox, client, LeaseBook(client, s.lease))
    call_id = "22222222-2222-4222-8222-222222222222"
    data = {"model": "fake-small", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 50, "litellm_call_id": call_id}
    out = await billing.async_pre_call_hook(lease_auth(), None, data, "acompletion")
    state = out["metadata"][STATE]
    assert state["leaseId"] and state["drawMicros"] > 0 and state["holdId"] == ""
    await billing.async_post_call_failure_hook(out, RuntimeError("upstream 500"), lease_auth())
    [event] = outbox.find(KEY_ID, call_id)
    assert event["leaseId"] == state["leaseId"] and event["drawMicros"] == state["drawMicros"]
    assert call_id in billing.leases.leases[KEY_ID].inflight  # finished once its event is committed, on the loop:
    await asyncio.sleep(0)  # the commit has happened (find ran after it); its callback runs on the next turn
    assert billing.leases.leases[KEY_ID].inflight == {}
    # Out of money: 402 in the platform's words, unchanged; the grant told it the call's worst case and the lease's rest.
    broke = Platform(3)
    poor = TollgateBilling(s, outbox, client, LeaseBook(PlatformClient(s, transport=httpx.MockTransport(broke.handler)), s.lease))
    with pytest.raises(HTTPException) as raised:
        await poor.async_pre_call_hook(lease_auth(), None, {**data, "litellm_call_id": "33333333-3333-4333-8333-333333333333"}, "acompletion")
    assert raised.value.status_code == 402
    refused = broke.grants[-1]
    assert refused["callMicros"] > refused["minMicros"] > 0 and refused["unusedMicros"] == 1  # the first grant's 1 µ$
    assert refused["callMicros"] == refused["minMicros"] + refused["unusedMicros"]
    assert raised.value.detail == f"the platform's sentence for a call of {refused['callMicros']}"


VALID = {"valid": True, "key": {"id": KEY_ID, "prefix": "tg_x", "name": "k", "userId": "u", "userEmail": "d@x",
                                "allowedModels": ["fake-small"], "rpmLimit": None, "tpmLimit": None, "expiresAt": None,
                                "billing": "lease", "leaseEpoch": "e1"}}


async def test_with_the_platform_down_a_key_with_a_live_lease_is_served_and_others_fail_closed(monkeypatch):
    import tollgate_litellm.auth as auth_module

    platform = Platform(1_000_000)
    answers = {"verdict": VALID}

    def handler(request):
        if platform.down:
            raise httpx.ConnectError("down")
        if request.url.path.endswith("/auth"):
            return httpx.Response(200, json=answers["verdict"])
        return platform.handler(request)

    s = settings()
    client = PlatformClient(s, transport=httpx.MockTransport(handler))
    leases = LeaseBook(client, s.lease)
    monkeypatch.setattr(auth_module, "shared_book", lambda: leases)
    authenticator = Authenticator(Settings("http://platform.test", "s" * 40, None, 0.0001, 0.0001, 1.0, 100), client)
    key = "tg_validKeyValidKeyValidKeyValidKey0001"
    await authenticator.authenticate("/v1/chat/completions", key)
    await asyncio.sleep(0.001)
    platform.down = True
    with pytest.raises(Exception) as no_lease:
        await authenticator.authenticate("/v1/chat/completions", key)
    assert getattr(no_lease.value, "code", None) == "503"
    platform.down = False
    await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    await asyncio.sleep(0.001)
    platform.down = True
    served = await authenticator.authenticate("/v1/chat/completions", key)
    assert served.metadata["tollgate_key_id"] == KEY_ID
    # Back up, the key revoked: 401, and its lease goes back at once.
    platform.down = False
    answers["verdict"] = {"valid": False, "reason": "revoked", "message": "API key tg_x… has been revoked."}
    await asyncio.sleep(0.001)
    with pytest.raises(Exception):
        await authenticator.authenticate("/v1/chat/completions", key)
    assert KEY_ID not in leases.leases
    await asyncio.gather(*leases._returns)
    assert platform.returns and platform.returns[-1]["keyId"] == KEY_ID


async def test_an_unreachable_platform_on_a_cold_key_is_unavailable():
    platform = Platform(1_000_000)
    platform.down = True
    with pytest.raises(PlatformUnavailable):
        await book(platform).draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)


def test_a_model_is_drawn_for_only_on_the_routes_its_price_bills_and_prompts_stop_at_its_context_window():
    image = Price.from_platform({**SMALL, "model": "fake-image", "maxOutputTokens": 16, "contextWindow": 1000,
                                 "kinds": ["image"], "worstCase": rates(0, 0, images=[{"size": None, "quality": None,
                                                                                        "micros": 40_000}])})
    small = Price.from_platform({**SMALL, "contextWindow": 1000, "kinds": ["chat", "responses", "messages"]})
    prices = {"fake-image": image, "fake-small": small}
    assert worst_case(prices, ["fake-image"], 0, 0, 1, Units({"image": 2}), "image") == 80_000
    # An image model through chat would be served for nothing: refused (clause 44), as is a fallback that is.
    with pytest.raises(ModelNotBilledHere):
        worst_case(prices, ["fake-image"], 10, 10, 1, NO_UNITS, "chat")
    with pytest.raises(ModelNotBilledHere):
        worst_case(prices, ["fake-small", "fake-image"], 10, 10, 1, NO_UNITS, "chat")
    with pytest.raises(ModelNotBilledHere):
        worst_case(prices, ["fake-small"], 10, 10, 1, NO_UNITS, "embedding")
    # A prompt bound past the context window is counted at the window (the provider refuses a longer prompt).
    assert worst_case(prices, ["fake-small"], 50_000, 10, 1, NO_UNITS, "chat") == price_tokens(1000, 10, small)
    # A negative output cap never lowers the bound: it counts as the model's most.
    assert worst_case(prices, ["fake-small"], 10, -5, 1, NO_UNITS, "chat") == price_tokens(10, 4096, small)


async def test_a_charge_above_its_draw_shrinks_the_lease_and_a_deficit_stops_it_within_one_delivery():
    platform = Platform(1_000_000)
    leases = book(platform)
    first = await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    lease = leases.leases[KEY_ID]
    before = lease.remaining
    # The platform charged c1 400 µ$ above its draw and took it off the lease's reservation (settle_usage).
    leases.settled({"leaseOverruns": [{"leaseId": first.lease_id, "overrunMicros": 400}], "deficitKeyIds": []})
    assert lease.remaining == before - 400
    # The next batch left the account in deficit: the lease goes back with what is left, no further draw from it.
    leases.settled({"leaseOverruns": [], "deficitKeyIds": [KEY_ID]})
    assert KEY_ID not in leases.leases and lease.retired
    await asyncio.sleep(0)
    await asyncio.gather(*leases._returns)
    assert platform.returns[-1] == {"leaseId": lease.id, "keyId": KEY_ID, "unusedMicros": max(0, before - 400)}
    # With nothing available, a new lease is granted nothing and the call is refused (402): no overdraft grows.
    platform.available = 0
    with pytest.raises(LeaseRefused) as refused:
        await leases.draw(KEY_ID, "e1", "c2", ["fake-small"], 100, 50, 1)
    assert refused.value.status == 402


async def test_the_outbox_hands_the_platforms_answer_to_the_lease_book(tmp_path):
    answers = []

    def platform(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"inserted": 1, "leaseOverruns": [{"leaseId": "l1", "overrunMicros": 7}],
                                         "deficitKeyIds": [KEY_ID]})

    outbox = Outbox(str(tmp_path / "o.db"), "http://platform.test", "w" * 40, transport=httpx.MockTransport(platform))
    outbox.on_answer = answers.append
    outbox.append({"callId": "c1", "keyId": KEY_ID, "status": "success"})
    assert await outbox.deliver_once() == 1
    assert answers == [{"inserted": 1, "leaseOverruns": [{"leaseId": "l1", "overrunMicros": 7}], "deficitKeyIds": [KEY_ID]}]
    await outbox.aclose()


async def test_the_pre_call_hook_refuses_a_model_on_a_route_its_price_does_not_bill(tmp_path):
    platform = Platform(1_000_000)
    image = {**SMALL, "model": "fake-image", "kinds": ["image"], "worstCase": rates(0, 0)}
    original = platform.handler

    def handler(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if request.url.path.endswith("/leases") and response.status_code == 200:
            body = json.loads(response.content)
            body["prices"] = [{**SMALL, "kinds": ["chat"]}, image]
            body["allowedModels"] = ["fake-small", "fake-image"]
            return httpx.Response(200, json=body)
        return response

    s = settings()
    outbox = Outbox(str(tmp_path / "o.db"), s.platform_url, "w" * 40, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    client = PlatformClient(s, transport=httpx.MockTransport(handler))
    billing = TollgateBilling(s, outbox, client, LeaseBook(client, s.lease))
    data = {"model": "fake-image", "messages": [{"role": "user", "content": "draw a cat"}],
            "litellm_call_id": "44444444-4444-4444-8444-444444444444"}
    with pytest.raises(HTTPException) as raised:
        await billing.async_pre_call_hook(lease_auth(), None, data, "acompletion")
    assert raised.value.status_code == 403
    assert raised.value.detail == (
        "Model fake-image is not sold for chat calls: its price charges nothing for what this route reports."
    )
    assert outbox.find(KEY_ID, data["litellm_call_id"]) == []


async def test_usage_worth_more_than_its_draw_retires_the_lease_at_once():
    platform = Platform(1_000_000)
    leases = book(platform)
    draw = await leases.draw(KEY_ID, "e1", "c1", ["fake-small"], 100, 50, 1)
    lease = leases.leases[KEY_ID]
    # What the upstream reported fits the draw: nothing happens.
    assert not leases.reported(draw.lease_id, "fake-small", 100, 50, NO_UNITS, draw.micros)
    assert KEY_ID in leases.leases
    # It reported a prompt far past the call's bound: the lease goes back before another call draws from it.
    assert leases.reported(draw.lease_id, "fake-small", 100_000, 50, NO_UNITS, draw.micros)
    assert KEY_ID not in leases.leases and lease.retired
    await asyncio.sleep(0)
    await asyncio.gather(*leases._returns)
    assert platform.returns[-1]["leaseId"] == lease.id
    # An unknown lease or model is left alone.
    assert not leases.reported("no-such-lease", "fake-small", 100_000, 50, NO_UNITS, 1)


async def test_a_paused_key_draws_only_once_the_platform_has_seen_the_charge(tmp_path):
    platform = Platform(1_000_000)
    leases = book(platform, pause_seconds=5.0)
    delivered = []

    def webhook(request: httpx.Request) -> httpx.Response:
        delivered.append(json.loads(request.content))
        return httpx.Response(200, json={"inserted": 1})

    outbox = Outbox(str(tmp_path / "o.db"), "http://platform.test", "w" * 40, transport=httpx.MockTransport(webhook))
    outbox.append({"callId": "c1", "keyId": KEY_ID, "status": "success"})
    leases.pause(KEY_ID, outbox.flushed())
    waiting = asyncio.ensure_future(leases.draw(KEY_ID, "e1", "c2", ["fake-small"], 100, 50, 1))
    await asyncio.sleep(0.05)
    assert not waiting.done() and platform.grants == []  # nothing drawn before the charge is delivered
    assert await outbox.deliver_once() == 1
    draw = await asyncio.wait_for(waiting, 2)
    assert draw.micros == CALL and len(delivered) == 1
    await outbox.aclose()
