"""Routing (routing.py): the choice per strategy on given health and prices, the circuit breaker (opening on N
failures in a row or on the error rate, resting, the half-open trial, closing), the definitions cache, and the
property that the chosen model is always an allowed, non-resting candidate when one exists."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from tollgate_litellm.errors import GatewayError
from tollgate_litellm.routing import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    Candidate,
    HealthBook,
    Routing,
    VirtualModel,
    balanced_score,
    choose,
    parse_definitions,
)
from tollgate_litellm.settings import RoutingSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


SETTINGS = RoutingSettings(window_seconds=60, error_rate=0.5, min_calls=10, consecutive_failures=3,
                           cooldown_seconds=30, explore_calls=2, ttl_seconds=30)

SMALL = Candidate("fake-small", 50, 500_000, 1_500_000)  # $2 per million in + out
LARGE = Candidate("fake-large", 90, 3_500_000, 15_000_000)  # $18.50
SLOW = Candidate("fake-slow", 40, 400_000, 1_200_000)  # $1.60: the cheapest
ERROR = Candidate("fake-error-500", 70, 100_000, 300_000)  # $0.40


def book(clock: Clock | None = None) -> HealthBook:
    return HealthBook(SETTINGS, clock or Clock())


def vm(strategy: str, *candidates: Candidate) -> VirtualModel:
    return VirtualModel(f"auto:{strategy}", strategy, candidates)


def measure(health: HealthBook, model: str, *latencies: float) -> None:
    for ms in latencies:
        health.sent(model)
        health.succeeded(model, ms)


def fail(health: HealthBook, model: str, times: int) -> None:
    for _ in range(times):
        health.sent(model)
        health.failed(model)


# -- the strategies ---------------------------------------------------------------------------------------------

def test_cheapest_picks_the_lowest_price_and_skips_a_resting_one():
    health = book()
    routed = vm("cheapest", LARGE, SMALL, SLOW, ERROR)
    assert choose(routed, None, health).model == "fake-error-500"
    fail(health, "fake-error-500", 3)
    assert health.resting("fake-error-500")
    assert choose(routed, None, health).model == "fake-slow"


def test_only_the_candidates_the_key_may_call_are_chosen():
    health = book()
    routed = vm("cheapest", LARGE, SMALL, SLOW)
    assert choose(routed, ["fake-large", "fake-small", "auto:cheapest"], health).model == "fake-small"
    assert choose(routed, ["fake-large"], health).model == "fake-large"
    assert choose(routed, ["tollgate:no-model-enabled"], health) is None


def test_quality_picks_the_best_score_and_the_cheaper_of_equals():
    health = book()
    assert choose(vm("quality", SMALL, LARGE, SLOW), None, health).model == "fake-large"
    twin = Candidate("fake-twin", 90, 100, 100)
    assert choose(vm("quality", LARGE, twin), None, health).model == "fake-twin"


def test_fastest_explores_unmeasured_models_then_picks_the_lowest_p50():
    health = book()
    routed = vm("fastest", SLOW, SMALL)
    # Neither measured: each gets explore_calls (2) calls first, in list order.
    picks = []
    for _ in range(4):
        chosen = choose(routed, None, health).model
        picks.append(chosen)
        health.sent(chosen)
        health.succeeded(chosen, 2000.0 if chosen == "fake-slow" else 100.0)
    assert picks == ["fake-slow", "fake-slow", "fake-small", "fake-small"]
    assert [choose(routed, None, health).model for _ in range(5)] == ["fake-small"] * 5
    assert health.p50_ms("fake-small") == 100.0


def test_fastest_picks_by_time_to_first_token_for_a_stream_and_by_latency_otherwise():
    # SMALL writes long answers (1 s in all) but starts at once (50 ms); SLOW answers in 300 ms but starts late
    # (200 ms): a stream's user waits for the first token, any other call for the whole answer.
    health = book()
    for _ in range(3):
        health.sent(SMALL.model)
        health.succeeded(SMALL.model, 1000, 50)
        health.sent(SLOW.model)
        health.succeeded(SLOW.model, 300, 200)
    fastest = vm("fastest", SMALL, SLOW)
    assert choose(fastest, None, health).model == SLOW.model
    assert choose(fastest, None, health, stream=True).model == SMALL.model
    # A model that has not streamed in the window is compared by its latency.
    other = book()
    measure(other, SMALL.model, 1000, 1000)
    measure(other, SLOW.model, 300, 300)
    assert choose(fastest, None, other, stream=True).model == SLOW.model


def test_routing_measures_first_tokens_from_iso_strings():
    routing = Routing(SETTINGS, fetch=lambda: None, clock=Clock())
    routing.succeeded("fake-small", 100.0, 101.5, first_token="1970-01-01T00:01:40.250000+00:00")
    assert routing.health.p50_ms("fake-small") == 1500.0
    assert routing.health.p50_ms("fake-small", first_token=True) == 250.0
    routing.succeeded("fake-large", 100.0, 101.0, cache_hit=True)
    assert routing.health.p50_ms("fake-large") is None


def test_fastest_counts_calls_in_flight_as_exploring():
    health = book()
    routed = vm("fastest", SLOW, SMALL)
    health.sent("fake-slow")
    health.sent("fake-slow")  # two calls out, none answered: explored enough for now
    assert choose(routed, None, health).model == "fake-small"


def test_p50_is_the_median_of_the_window():
    clock = Clock()
    health = book(clock)
    measure(health, "fake-small", 100, 300, 200, 400)
    assert health.p50_ms("fake-small") == 250.0
    clock.now += 61  # out of the window
    assert health.p50_ms("fake-small") is None


def test_balanced_scores_quality_speed_and_price_in_stated_units():
    # quality 50 → 5 × 2 = 10; speed 10 (the fastest); $2 → −log10(2) × 2 ≈ −0.602
    assert balanced_score(SMALL, 10.0) == pytest.approx(10 + 10 - 0.60206, abs=1e-4)
    health = book()
    measure(health, "fake-small", 100, 100)
    measure(health, "fake-large", 100, 100)
    # Same speed: fake-large's 4 more quality points (8) outweigh its price (−2 × log10(9.25) ≈ −1.93).
    assert choose(vm("balanced", SMALL, LARGE), None, health).model == "fake-large"
    slow = book()
    measure(slow, "fake-small", 100, 100)
    measure(slow, "fake-large", 5000, 5000)
    # fake-large 50× slower: speed 0.2 vs 10, which its quality does not make up.
    assert choose(vm("balanced", SMALL, LARGE), None, slow).model == "fake-small"


# -- the breaker ------------------------------------------------------------------------------------------------

def test_consecutive_failures_rest_a_model_for_its_cooldown_then_one_trial_closes_it():
    clock = Clock()
    health = book(clock)
    fail(health, "fake-small", 2)
    assert health.selectable("fake-small")
    fail(health, "fake-small", 1)
    assert health._models["fake-small"].state == OPEN
    assert health.resting("fake-small")
    clock.now += 29.9
    assert health.resting("fake-small")
    clock.now += 0.2
    assert health.selectable("fake-small")
    health.sent("fake-small")  # the trial
    assert health._models["fake-small"].state == HALF_OPEN
    assert health.resting("fake-small"), "one trial at a time"
    health.succeeded("fake-small", 50.0)
    assert health._models["fake-small"].state == CLOSED
    assert health.selectable("fake-small")
    # A fresh window: the old failures do not count against it.
    assert health.snapshot()[0]["failures"] == 0


def test_a_failed_trial_rests_the_model_again():
    clock = Clock()
    health = book(clock)
    fail(health, "fake-small", 3)
    clock.now += 30
    health.sent("fake-small")
    health.failed("fake-small")
    assert health._models["fake-small"].state == OPEN
    clock.now += 29
    assert health.resting("fake-small")
    clock.now += 1
    assert health.selectable("fake-small")


def test_a_lost_trial_frees_the_slot_after_another_cooldown():
    clock = Clock()
    health = book(clock)
    fail(health, "fake-small", 3)
    clock.now += 30
    health.sent("fake-small")  # never reported
    clock.now += 29
    assert health.resting("fake-small")
    clock.now += 1
    assert health.selectable("fake-small")


def test_the_error_rate_over_the_window_opens_the_breaker_with_a_minimum_of_calls():
    clock = Clock()
    health = book(clock)
    # Alternating: never 3 in a row. 5 failures of 9 calls: under the minimum of 10 calls.
    for i in range(9):
        health.sent("fake-large")
        (health.failed if i % 2 == 0 else lambda m: health.succeeded(m, 10.0))("fake-large")
    assert health._models["fake-large"].state == CLOSED
    health.sent("fake-large")
    health.succeeded("fake-large", 10.0)  # 5 of 10: not above 0.5
    assert health._models["fake-large"].state == CLOSED
    health.sent("fake-large")
    health.failed("fake-large")  # 6 of 11
    assert health._models["fake-large"].state == OPEN


def test_failures_age_out_of_the_window():
    clock = Clock()
    health = book(clock)
    fail(health, "fake-small", 2)
    clock.now += 61
    for _ in range(8):
        health.sent("fake-small")
        health.succeeded("fake-small", 10.0)
    assert health.snapshot()[0]["failures"] == 0


def test_snapshot_says_until_when_a_model_rests():
    clock = Clock()
    health = book(clock)
    fail(health, "fake-error-500", 3)
    [row] = health.snapshot(wall=lambda: 1_773_144_000.0)  # 2026-03-10T12:00:00Z
    assert row["state"] == "open"
    assert row["restingUntil"] == "2026-03-10T12:00:30Z"
    assert row["failures"] == 3


# -- the definitions cache and route() ---------------------------------------------------------------------------

ANSWER = {
    "virtualModels": [
        {"name": "auto:cheapest", "strategy": "cheapest", "candidates": [
            {"model": "fake-large", "quality": 90, "inputMicrosPerMillion": 3_500_000, "outputMicrosPerMillion": 15_000_000},
            {"model": "fake-small", "quality": 50, "inputMicrosPerMillion": 500_000, "outputMicrosPerMillion": 1_500_000},
        ]},
        {"name": "broken", "strategy": "random", "candidates": []},
        {"name": "half", "strategy": "quality", "candidates": [{"model": "x"}]},
    ]
}


def test_malformed_definitions_are_skipped():
    assert list(parse_definitions(ANSWER)) == ["auto:cheapest"]


async def test_definitions_are_fetched_once_per_ttl_and_real_models_pass_through():
    clock = Clock()
    fetched = []

    async def fetch():
        fetched.append(clock.now)
        return ANSWER

    routing = Routing(SETTINGS, fetch, clock)
    assert await routing.route("fake-small", None) is None
    routed = await routing.route("auto:cheapest", ["fake-small", "fake-large", "auto:cheapest"])
    assert (routed.model, routed.candidates) == ("fake-small", ("fake-large", "fake-small"))
    assert len(fetched) == 1
    clock.now += 31
    await routing.route("auto:cheapest", None)  # stale: served from the cache, refreshed in the background
    await asyncio.sleep(0)
    assert len(fetched) == 2


async def test_route_refuses_when_the_key_may_call_no_candidate_or_every_one_rests():
    async def fetch():
        return ANSWER

    routing = Routing(SETTINGS, fetch, Clock())
    with pytest.raises(GatewayError) as refused:
        await routing.route("auto:cheapest", ["fake-slow"])
    assert refused.value.status_code == 403
    fail(routing.health, "fake-small", 3)
    fail(routing.health, "fake-large", 3)
    with pytest.raises(GatewayError) as resting:
        await routing.route("auto:cheapest", None)
    assert resting.value.status_code == 503


async def test_an_unreachable_platform_routes_nothing_and_is_asked_again_later():
    clock = Clock()
    calls = []

    async def fetch():
        calls.append(clock.now)
        raise OSError("down")

    routing = Routing(SETTINGS, fetch, clock)
    assert await routing.route("auto:cheapest", None) is None
    assert await routing.route("auto:cheapest", None) is None
    assert len(calls) == 1
    clock.now += 5
    await routing.route("auto:cheapest", None)
    await asyncio.sleep(0)
    assert len(calls) == 2


def test_only_provider_side_failures_count():
    class Bad(Exception):
        status_code = 400

    class Down(Exception):
        status_code = 503

    routing = Routing(SETTINGS, lambda: None, Clock())
    for _ in range(5):
        routing.failed("fake-small", Bad())
    assert routing.health.selectable("fake-small")
    for _ in range(3):
        routing.failed("fake-small", Down())
    assert routing.health.resting("fake-small")


# -- the property -------------------------------------------------------------------------------------------------

NAMES = ["m0", "m1", "m2", "m3", "m4", "m5"]
candidate_st = st.builds(
    Candidate,
    st.sampled_from(NAMES),
    st.integers(0, 100),
    st.integers(0, 50_000_000),
    st.integers(0, 50_000_000),
)
event_st = st.tuples(st.sampled_from(NAMES), st.sampled_from(["ok", "fail", "sent", "tick"]),
                     st.floats(1, 5000, allow_nan=False))


@hsettings(max_examples=300, deadline=None)
@given(
    strategy=st.sampled_from(["cheapest", "fastest", "quality", "balanced"]),
    candidates=st.lists(candidate_st, min_size=1, max_size=6, unique_by=lambda c: c.model),
    allowed=st.one_of(st.none(), st.lists(st.sampled_from(NAMES + ["auto"]), max_size=6)),
    events=st.lists(event_st, max_size=60),
)
def test_the_choice_is_always_an_allowed_candidate_that_does_not_rest(strategy, candidates, allowed, events):
    clock = Clock()
    health = book(clock)
    for model, what, value in events:
        if what == "ok":
            health.succeeded(model, value)
        elif what == "fail":
            health.failed(model)
        elif what == "sent":
            health.sent(model)
        else:
            clock.now += value / 100
    routed = VirtualModel("auto", strategy, tuple(candidates))
    eligible = [c.model for c in candidates
                if (not allowed or c.model in allowed) and health.selectable(c.model)]
    chosen = choose(routed, allowed, health)
    if eligible:
        assert chosen is not None and chosen.model in eligible
    else:
        assert chosen is None


# -- through the billing hook ----------------------------------------------------------------------------------------

async def test_the_pre_call_hook_sends_the_choice_and_holds_for_every_candidate_the_key_may_call(tmp_path):
    import json

    import httpx
    from litellm.proxy._types import UserAPIKeyAuth

    from tollgate_litellm.billing import STATE
    from test_billing import CALL_ID, KEY_ID, make

    holds = []

    def handler(request):
        if request.url.path == "/api/internal/gateway/routing":
            return httpx.Response(200, json=ANSWER)
        holds.append(json.loads(request.content))
        return httpx.Response(200, json={"holdId": "h1", "amountMicros": 80, "availableMicros": 920})

    billing = make(tmp_path, handler)
    key = UserAPIKeyAuth(api_key="tg-x", metadata={"tollgate_key_id": KEY_ID},
                         models=["auto:cheapest", "fake-large", "fake-small"])
    data = {"model": "auto:cheapest", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20,
            "litellm_call_id": CALL_ID}
    out = await billing.async_pre_call_hook(key, None, data, "acompletion")
    assert out["model"] == "fake-small"
    assert holds[0]["model"] == "fake-small" and holds[0]["fallbackModels"] == ["fake-large"]
    assert out["metadata"][STATE]["model"] == "fake-small"
    # Its failure rests it after three in a row; the success of the other is recorded with its latency.
    for _ in range(3):
        billing.routing.failed("fake-small", RuntimeError("500"))
    assert billing.routing.health.resting("fake-small")
    again = dict(data, model="auto:cheapest", litellm_call_id="33333333-3333-4333-8333-333333333333")
    assert (await billing.async_pre_call_hook(key, None, again, "acompletion"))["model"] == "fake-large"
