"""Call ids are UUIDv7 (ids.py): canonical, version 7, RFC 9562's variant, the millisecond they were made in, and
ordered as strings by that millisecond (the claims index takes them in order: docs/adr/0028)."""

import random
import re
import uuid

from tollgate_litellm.ids import call_id_ms, new_call_id

V7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_each_id_is_a_canonical_v7_uuid_of_its_millisecond():
    rng = random.Random(28)
    # Milliseconds across the whole 48-bit range, the year-2000 and year-2100 edges, and 29 February 2028.
    moments = [0, 1, (1 << 48) - 1, 946_684_800_000, 4_102_444_800_000, 1_835_395_200_000]
    moments += [rng.randrange(0, 1 << 48) for _ in range(500)]
    for ms in moments:
        call_id = new_call_id(ms)
        assert V7.match(call_id), call_id
        parsed = uuid.UUID(call_id)
        assert str(parsed) == call_id and parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert call_id_ms(call_id) == ms


def test_ids_of_later_milliseconds_sort_after_as_strings():
    rng = random.Random(7)
    moments = sorted(rng.randrange(1_700_000_000_000, 1_900_000_000_000) for _ in range(2000))
    ids = [new_call_id(ms) for ms in moments]
    for earlier, later, a, b in zip(ids, ids[1:], moments, moments[1:]):
        if a < b:
            assert earlier < later


def test_ids_of_one_millisecond_differ():
    ids = {new_call_id(1_800_000_000_000) for _ in range(10_000)}
    assert len(ids) == 10_000


def test_the_clock_by_default():
    import time

    before = time.time_ns() // 1_000_000
    call_id = new_call_id()
    assert before <= call_id_ms(call_id) <= time.time_ns() // 1_000_000
