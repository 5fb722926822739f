"""
The billing contract's shared names (lib/billing/contract.json, docs/adr/0014): the call kinds and the LiteLLM call
types of each, the price units (what a reservation counts of each, and at what scale), the image sizes and qualities.
Written once for SQL, TypeScript and Python; read here once, at import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _contract_path() -> Path:
    # lib/billing/contract.json above this package: the repository's root, or /app in the Docker image (Dockerfile).
    for folder in Path(__file__).resolve().parents:
        path = folder / "lib" / "billing" / "contract.json"
        if path.is_file():
            return path
    raise RuntimeError(f"lib/billing/contract.json not found above {Path(__file__).parent}")


CONTRACT: dict[str, Any] = json.loads(_contract_path().read_text(encoding="utf-8"))

# The call kinds the gateway bills (usage_events.kind), in the contract's order.
CALL_KINDS: tuple[str, ...] = tuple(k["kind"] for k in CONTRACT["callKinds"])
# The call types LiteLLM's proxy passes to the pre-call hook for each billed route, to their kind.
LITELLM_CALL_KINDS: dict[str, str] = {t: k["kind"] for k in CONTRACT["callKinds"] for t in k["litellmCallTypes"]}
# The kinds whose context window caps each input or prompt on its own, not the whole call (SQL counted_prompt).
WINDOW_PER_INPUT_KINDS: frozenset[str] = frozenset(k["kind"] for k in CONTRACT["callKinds"] if k["windowCaps"] == "input")
# Image sizes and qualities an app may ask for (image_rates_valid and zod accept the same); use fullmatch.
IMAGE_SIZE = re.compile(CONTRACT["imageSizes"]["pattern"])
IMAGE_QUALITIES = frozenset(CONTRACT["imageQualities"])
# What the guardrails detect (guard.py); an account's PII policy and a usage row's counts are keyed by these.
PII_CATEGORIES: tuple[str, ...] = tuple(CONTRACT["piiCategories"])
# The error classes of calls reported failed before they were sent to any model (clause 64): the hold got no answer,
# or the gateway failed after reserving. Model health leaves them out.
RESERVATION_UNAVAILABLE: str = CONTRACT["notSentErrors"]["reservationUnavailable"]
NOT_SERVED: str = CONTRACT["notSentErrors"]["notServed"]


@dataclass(frozen=True)
class PriceUnit:
    """A price unit as a reservation counts it (clause 42): count × rate × scale / 1,000,000 µ$, rounded up once over
    the whole call."""

    key: str
    field: str | None  # the count's name on the hold request and the usage event; None: one per call (the fee)
    scale: int  # 1 per million tokens or characters, 1000 per second counted in ms, 1,000,000 per image or request
    reserve: str  # prompt, output, asked (what the call asks for) or always (once per call)
    bills: frozenset[str]  # the call kinds it bills on its own (billed_kinds)


def price_units(entries: Iterable[dict[str, Any]]) -> tuple[PriceUnit, ...]:
    """The contract's priceUnits entries, in its order."""
    return tuple(PriceUnit(u["key"], (u["count"] or {}).get("field"), int(u["scale"]), u["reserve"],
                           frozenset(u["bills"])) for u in entries)


PRICE_UNITS = price_units(CONTRACT["priceUnits"])
# Reserved as the call asks for them (images, audio, characters), each at its own rate.
ASKED_UNITS: tuple[PriceUnit, ...] = tuple(u for u in PRICE_UNITS if u.reserve == "asked")
# Reserved once per call (the per-request fee).
ALWAYS_UNITS: tuple[PriceUnit, ...] = tuple(u for u in PRICE_UNITS if u.reserve == "always")
