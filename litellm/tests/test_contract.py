"""The gate and the plugin read the billing contract's names (lib/billing/contract.json, docs/adr/0014): the call
kinds, the LiteLLM call types of each, the image sizes and qualities. The JSON is read here on its own."""

import json
import re
from pathlib import Path

import pytest

from tollgate_litellm import billing, gate

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
