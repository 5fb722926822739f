"""Call ids: UUIDv7 (RFC 9562), assigned by the gateway to every billed call.

The platform claims each call once by its id (usage_calls, a unique index on (call_id, key_id): docs/adr/0020). A
random (v4) id lands anywhere in that index, so at millions of calls a day every claim touches a random page and the
index's pages sit ~70 % full; a v7 id starts with the call's millisecond, so claims arrive in order at the index's
right edge, its pages fill, and a day's claims stay together (docs/adr/0028). The other 74 bits are random, so ids
are as hard to guess as before; a v7 id tells the moment the call started, which its owner already knows.
"""

from __future__ import annotations

import os
import time
import uuid

_MS_MASK = (1 << 48) - 1
_RAND_B_MASK = (1 << 62) - 1


def new_call_id(now_ms: int | None = None) -> str:
    """A UUIDv7 string (lower case, canonical): 48 bits of Unix milliseconds, version 7, 12 + 62 random bits, and
    RFC 9562's variant. Ids of later milliseconds sort after earlier ones, as strings too."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")  # 80 random bits: 12 for rand_a, 62 for rand_b, 6 unused
    value = (
        (ms & _MS_MASK) << 80
        | 0x7 << 76
        | (rand >> 68) << 64
        | 0b10 << 62
        | (rand & _RAND_B_MASK)
    )
    return str(uuid.UUID(int=value))


def call_id_ms(call_id: str) -> int:
    """The Unix millisecond a v7 call id was made in."""
    return uuid.UUID(call_id).int >> 80
