"""The gate and the plugin read the billing contract's names (lib/billing/contract.json, docs/adr/0014): the call
kinds, the LiteLLM call types of each, the price units, the image sizes and qualities. The JSON is read here on its
own."""

import json
import re
from pathlib import Path

import httpx
import pytest

from tollgate_litellm import billing, bounds, contract, gate, pricing
from tollgate_litellm.bounds import Reservation
from tollgate_litellm.outbox import Outbox
from tollgate_litellm.platform import PlatformClient
from tollgate_litellm.pricing import Price, Units, price_worst_case
from tollgate_litellm.settings import Settings

CONTRACT = json.loads((Path(__file__).resolve().parents[2] / "lib" / "billing" / "contract.json").read_text("utf-8"))
KINDS = [k["kind"] for k in CONTRACT["callKinds"]]
# What the gate raises for a bad body (its 400 in OpenAI's error shape).
REFUSED = type(gate.bad_request("refused"))


def test_the_gate_serves_one_billed_route_per_call_kind_of_the_contract():
    posted = [r.kind for r in gate.APP_ROUTES if r.method == "POST"]
    assert posted == KINDS
    for spec in CONTRACT["callKinds"]:
        method, path = spec["route"].split(" ")
        assert gate.find_route(method, path).kind == spec["kind"], spec["route"]


def test_the_plugin_bills_exactly_the_contracts_litellm_call_types_as_their_kinds():
    assert billing.CALL_KINDS == {t: k["kind"] for k in CONTRACT["callKinds"] for t in k["litellmCallTypes"]}
    assert set(billing.CALL_KINDS.values()) == set(KINDS)


def test_every_price_unit_bills_only_call_kinds_the_contract_names():
    for unit in CONTRACT["priceUnits"]:
        assert set(unit["bills"]) <= set(KINDS), unit["key"]


def test_the_plugin_reads_each_price_units_count_field_scale_and_reservation_from_the_contract():
    assert [(u.key, u.field, u.scale, u.reserve) for u in contract.PRICE_UNITS] == [
        (u["key"], (u["count"] or {}).get("field"), u["scale"], u["reserve"]) for u in CONTRACT["priceUnits"]]
    asked = {u["key"] for u in CONTRACT["priceUnits"] if u["reserve"] == "asked"}
    assert {u.key for u in contract.ASKED_UNITS} == asked
    # The units the plugin names for their own code (the image table, what the upstream's answer measures) are the
    # contract's asked units.
    assert {pricing.IMAGE_UNIT, *billing.MEASURED_UNITS} <= asked


# A made-up unit, stated as the contract would state it: seconds of video counted in ms, reserved as asked.
VIDEO = {"key": "video", "label": "Video", "per": "second", "perMillion": False,
         "price": {"field": "videoSecondPriceMicros", "column": "video_second_price_micros"},
         "cost": {"field": "videoSecondCostMicros", "column": "video_second_cost_micros"}, "blank": "not billed",
         "count": {"field": "videoMs", "column": "video_ms", "max": 3_600_000}, "scale": 1000, "reserve": "asked",
         "bills": []}


def test_a_new_asked_unit_in_the_contract_is_priced_held_and_reported_with_no_other_change(monkeypatch, tmp_path):
    units = contract.price_units([*CONTRACT["priceUnits"], VIDEO])
    monkeypatch.setattr(contract, "ASKED_UNITS", tuple(u for u in units if u.reserve == "asked"))
    rates = {u.key: 0 for u in contract.PRICE_UNITS if u.reserve in ("asked", "always")}
    grant = {"model": "m", "maxOutputTokens": 16,
             "worstCase": {"promptMicros": 0, "outputMicros": 0, "images": [], "units": {**rates, "video": 250}}}
    price = Price.from_platform(grant)
    asked = Units({"video": 2345})
    # 2.345 s at 250 µ$ a second: 586.25 µ$, rounded up once.
    assert price_worst_case(price, 0, 0, asked) == 587
    # A grant without the unit's rate is refused rather than reserving nothing for it.
    with pytest.raises(KeyError):
        Price.from_platform({**grant, "worstCase": {**grant["worstCase"], "units": rates}})
    bound = Reservation(0, 0, 1, asked)
    state = billing._new_state("k", "c", "m", "chat", bound)
    assert billing._hold_request(state, ["m"], bound)["videoMs"] == 2345
    s = Settings("http://platform.test", "s" * 40, None, 5.0, 2.0, 1.0, 100)
    outbox = Outbox(str(tmp_path / "o.db"), s.platform_url, "w" * 40,
                    transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    reported = billing.TollgateBilling(s, outbox, PlatformClient(s))._reported_units(state, object())
    assert reported["videoMs"] == 2345 and billing._event_units(reported) == asked


def test_the_estimators_reserve_only_the_contracts_asked_units():
    s = Settings("http://platform.test", "s" * 40, None, 5.0, 2.0, 1.0, 100)
    asked = {u.key for u in contract.ASKED_UNITS}
    for kind, body in [("image", {"prompt": "a cat", "n": 2}), ("speech", {"input": "hi"}), ("transcription", {})]:
        counts = bounds.reservation_units(kind, {"model": "m", **body}, s, ["m"], None).units.counts
        assert counts and set(counts) <= asked, kind


IMAGE = {"model": "fake-image", "prompt": "a lighthouse"}
SIZES = ["auto", "1024x1024", "10x10", "99999x99999", "1x1", "1024X1024", "AUTO", "1024x1024\n", "100000x1", ""]


@pytest.mark.parametrize("size", SIZES)
def test_the_gate_accepts_exactly_the_contracts_image_sizes(size):
    expected = re.fullmatch(CONTRACT["imageSizes"]["pattern"], size) is not None
    assert expected == (size in SIZES[:4])
    route = gate.find_route("POST", "/v1/images/generations")
    if expected:
        gate.check_body(route, {**IMAGE, "size": size})
    else:
        with pytest.raises(REFUSED):
            gate.check_body(route, {**IMAGE, "size": size})


@pytest.mark.parametrize("quality", [*CONTRACT["imageQualities"], "ultra", "HD", ""])
def test_the_gate_accepts_exactly_the_contracts_image_qualities(quality):
    route = gate.find_route("POST", "/v1/images/generations")
    if quality in CONTRACT["imageQualities"]:
        gate.check_body(route, {**IMAGE, "quality": quality})
    else:
        with pytest.raises(REFUSED):
            gate.check_body(route, {**IMAGE, "quality": quality})
