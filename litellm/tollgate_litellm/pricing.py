"""
What a call's reservation costs: the model's worst-case rates as the platform resolved them (worst_case_rates in SQL,
carried by each lease grant) times the units the call may use (bounds.py), for the dearest model it may reach. Which
rate applies to which unit is decided in SQL; this only multiplies and rounds, as price_worst_case does (clause 42).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import contract
from .contract import WINDOW_PER_INPUT_KINDS

# The unit priced by the size and quality asked for (image_rate in SQL): its rate is a lookup in the price's image
# table, not one number.
IMAGE_UNIT = "image"


class ModelNotPriced(Exception):
    """The call may reach a model the lease has no price for (or the key may not call it): 403."""


class ModelNotBilledHere(Exception):
    """The call may reach a model whose price charges nothing for this route's unit (billed_kinds, clause 44): 403."""

    def __init__(self, model: str, kind: str) -> None:
        super().__init__(model)
        self.model = model
        self.kind = kind


@dataclass(frozen=True)
class Price:
    """A model's worst-case rates as the platform resolved them (worst_case_rates in SQL): which rate applies to
    which unit is decided there; a draw here only multiplies and rounds (price_worst_case)."""

    prompt_micros: int  # per million prompt tokens (the dearer of input and cache write)
    output_micros: int  # per million output tokens (the dearer of output and reasoning)
    max_output_tokens: int
    # The rate of each unit reserved as asked or once per call, by the contract's unit key (per million characters,
    # per second of audio, per request…); an image's rate is looked up in `images` instead.
    unit_micros: Mapping[str, int] = field(default_factory=dict)
    # Per image by (size, quality); None stands for a size or quality no row of the price names (or none asked).
    images: tuple[tuple[str | None, str | None, int], ...] = ()
    # The call kinds (routes) this price bills (billed_kinds in SQL); None: not told (every kind).
    kinds: frozenset[str] | None = None
    # A prompt is counted at most at the model's context window (a provider refuses a longer one); 0: not told.
    context_window: int = 0

    @classmethod
    def from_platform(cls, p: dict[str, Any]) -> "Price":
        w = p["worstCase"]
        kinds = p.get("kinds")
        # Every asked and per-call unit's rate is required: a grant without one fails here, never draws it at 0.
        rates = {u.key: int(w["units"][u.key]) for u in (*contract.ASKED_UNITS, *contract.ALWAYS_UNITS)}
        return cls(int(w["promptMicros"]), int(w["outputMicros"]), int(p["maxOutputTokens"]), MappingProxyType(rates),
                   tuple((i.get("size"), i.get("quality"), int(i["micros"])) for i in w.get("images") or ()),
                   frozenset(kinds) if isinstance(kinds, list) else None, int(p.get("contextWindow") or 0))

    def image_micros(self, size: str | None, quality: str | None) -> int:
        """One lookup in the platform's table: a size or quality it does not list is its None entry."""
        sizes = {s for s, _, _ in self.images}
        qualities = {q for _, q, _ in self.images}
        key = (size if size in sizes else None, quality if quality in qualities else None)
        return next((micros for s, q, micros in self.images if (s, q) == key), 0)

    def unit_rate(self, key: str, units: Units) -> int:
        """A unit's rate for this call: an image's by the size and quality asked for, any other unit's one rate."""
        if key == IMAGE_UNIT:
            return self.image_micros(units.image_size, units.image_quality)
        return self.unit_micros.get(key, 0)


@dataclass(frozen=True)
class Units:
    """What a call asks for besides tokens, by the contract's unit key (images, audio ms, characters to speak…), and
    the size and quality of the images asked for."""

    counts: Mapping[str, int] = field(default_factory=dict)
    image_size: str | None = None
    image_quality: str | None = None

    def __post_init__(self) -> None:
        # Zero counts are left out: a call asking for nothing of a unit equals one that does not name it.
        object.__setattr__(self, "counts", MappingProxyType({k: int(n) for k, n in self.counts.items() if n}))

    def count(self, key: str) -> int:
        return self.counts.get(key, 0)


NO_UNITS = Units()


def price_worst_case(price: Price, prompt: int, output: int, units: Units = NO_UNITS) -> int:
    """price_worst_case in SQL (clause 42) at the rates the platform resolved: each unit times its rate, rounded up
    once, as price_units rounds."""
    total = (
        prompt * price.prompt_micros
        + output * price.output_micros
        + sum(units.count(u.key) * price.unit_rate(u.key, units) * u.scale for u in contract.ASKED_UNITS)
        + sum(price.unit_rate(u.key, units) * u.scale for u in contract.ALWAYS_UNITS)
    )
    return (total + 999_999) // 1_000_000


def worst_case(prices: dict[str, Price], models: list[str], prompt: int, max_output: int | None, choices: int,
               units: Units = NO_UNITS, kind: str | None = None) -> int:
    """The dearest of the models the call may reach (the requested one, then its fallbacks): clause 20 and 21. Each of
    them must bill the call's kind (clause 44)."""
    cost = 0
    for name in models:
        price = prices.get(name)
        if price is None:
            raise ModelNotPriced(name)
        if kind is not None and price.kinds is not None and kind not in price.kinds:
            raise ModelNotBilledHere(name, kind)
        # None: the model's most (a chat call without max_tokens); 0: no output billed (embeddings). A negative cap
        # is never trusted to lower the bound.
        cap = price.max_output_tokens if max_output is None or max_output < 0 else max_output
        out = min(cap, price.max_output_tokens) * max(1, choices)
        # One pass of the model is at most its window; where the contract's kind caps each input on its own, the
        # bound already caps each (SQL counted_prompt).
        one_pass = kind not in WINDOW_PER_INPUT_KINDS and price.context_window > 0
        counted = min(prompt, price.context_window) if one_pass else prompt
        cost = max(cost, price_worst_case(price, max(0, counted), out, units))
    return cost
