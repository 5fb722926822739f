"""The durable outbox: stored first, delivered in signed batches, retried with backoff, surviving restarts."""

import hashlib
import hmac
import json

import httpx

from tollgate_litellm.outbox import Outbox, backoff_seconds, sign

SECRET = "w" * 40


def event(call_id: str, status: str = "success") -> dict:
    return {"callId": call_id, "keyId": "11111111-1111-4111-8111-111111111111", "status": status, "promptTokens": 1}


class Platform:
    def __init__(self, statuses=None):
        self.statuses = list(statuses or [])
        self.batches = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        status = self.statuses.pop(0) if self.statuses else 200
        if isinstance(status, Exception):
            raise status
        self.batches.append(request)
        return httpx.Response(status, json={"ok": status < 300})


def make(tmp_path, platform: Platform, clock=None, **kw) -> Outbox:
    return Outbox(
        str(tmp_path / "outbox.db"),
        "http://platform.test",
        SECRET,
        transport=httpx.MockTransport(platform.handler),
        clock=clock or (lambda: 1000.0),
        **kw,
    )

def hold_the_file(outbox: Outbox):
    """Puts the I/O thread in a write transaction (a claim, a mark, a slow commit) until the returned event is set."""
    import threading

    locked, release = threading.Event(), threading.Event()

    def hold():
        outbox._db.execute("begin immediate")
        locked.set()
        release.wait()
        outbox._db.execute("commit")

    outbox._io.submit(hold)
    assert locked.wait(5)
    return release


async def started_quietly(outbox: Outbox) -> None:
    """Starts delivery, paused, and waits for its first round's purge of old rows: a write on the I/O thread that
    would otherwise land wherever the loop first yields, e.g. between a test's released file and an append it expects
    to be committed at once (which then finds the file busy and is queued: correct, but not what the test is about)."""
    import asyncio

    outbox.start()
    outbox.paused = True
    await asyncio.sleep(0)  # the delivery task runs up to its purge, handed to the I/O thread
    await outbox._in_io(lambda: None)  # queued behind that purge


def io_jobs(outbox: Outbox) -> list[str]:
    """The names of the jobs handed to the outbox's I/O thread from now on."""
    jobs: list[str] = []
    submit = outbox._io.submit

    def counted(fn, *args, **kwargs):
        jobs.append(getattr(fn, "__name__", repr(fn)))
        return submit(fn, *args, **kwargs)

    outbox._io.submit = counted
    return jobs

def paused_with(tmp_path, platform: Platform, calls: list[str]) -> Outbox:
    """A started outbox holding these calls' events, delivery paused."""
    outbox = make(tmp_path, platform, linger=0)
    outbox.start()
    outbox.paused = True
    for call in calls:
        assert outbox.append(event(call)).result() is True
    return outbox


async def until_delivered(outbox: Outbox, n: int) -> None:
    import asyncio

    for _ in range(100):
        if outbox._run_io(outbox._stats)["delivered"] == n:
            return
        await asyncio.sleep(0.02)




async def test_events_are_delivered_in_one_signed_batch(tmp_path):
    platform = Platform()
    outbox = make(tmp_path, platform)
    for i in range(3):
        assert outbox.append(event(f"c{i}")).result()
    assert await outbox.deliver_once() == 3
    request = platform.batches[0]
    body = request.content
    assert [e["callId"] for e in json.loads(body)["events"]] == ["c0", "c1", "c2"]
    header = dict(p.split("=", 1) for p in request.headers["x-tollgate-signature"].split(","))
    expected = hmac.new(SECRET.encode(), f"{header['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(header["v1"], expected)
    assert outbox.stats() == {"pending": 0, "delivered": 3, "total": 3, "retrying": 0, "dead": 0}
    assert await outbox.deliver_once() == 0


async def test_the_same_event_is_stored_once(tmp_path):
    outbox = make(tmp_path, Platform())
    assert outbox.append(event("dup")).result()
    assert not outbox.append(event("dup")).result()
    assert outbox.append(event("dup", status="failure")).result()  # another outcome of the same call is kept
    assert outbox.stats()["total"] == 2


async def test_failed_delivery_backs_off_and_retries_until_acknowledged(tmp_path):
    now = [1000.0]
    platform = Platform([httpx.ConnectError("down"), 503, 200])
    outbox = make(tmp_path, platform, clock=lambda: now[0])
    outbox.append(event("r1"))
    assert await outbox.deliver_once() == 0  # connection refused
    assert await outbox.deliver_once() == 0  # not due yet: nothing claimed
    assert outbox.stats()["retrying"] == 1
    now[0] += 60
    assert await outbox.deliver_once() == 0  # 503
    now[0] += 60
    assert await outbox.deliver_once() == 1
    assert outbox.stats()["pending"] == 0


async def test_events_survive_a_restart(tmp_path):
    down = Platform([httpx.ConnectError("down")])
    first = make(tmp_path, down)
    first.append(event("persisted"))
    await first.deliver_once()
    await first.aclose()
    up = Platform()
    second = make(tmp_path, up, clock=lambda: 10_000.0)
    assert second.stats()["pending"] == 1
    assert await second.deliver_once() == 1
    assert json.loads(up.batches[0].content)["events"][0]["callId"] == "persisted"


async def test_replay_finds_every_event_of_a_call(tmp_path):
    outbox = make(tmp_path, Platform())
    outbox.append(event("x", "failure"))
    outbox.append(event("x", "success"))
    found = outbox.find("11111111-1111-4111-8111-111111111111", "x")
    assert [e["status"] for e in found] == ["failure", "success"]


async def test_delivered_events_are_purged_after_retention(tmp_path):
    now = [1000.0]
    outbox = make(tmp_path, Platform(), clock=lambda: now[0], retention_hours=1)
    outbox.append(event("old"))
    await outbox.deliver_once()
    now[0] += 3601
    assert outbox.purge() == 1
    assert outbox.stats()["total"] == 0


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    low = [backoff_seconds(n, rand=lambda: 0.0) for n in range(1, 10)]
    high = [backoff_seconds(n, rand=lambda: 1.0) for n in range(1, 10)]
    assert low[:4] == [0.25, 0.5, 1.0, 2.0]
    assert high[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(high) == 30.0


def test_signature_format():
    header = sign(SECRET, b"{}", 1700000000)
    assert header.startswith("t=1700000000,v1=")
    assert len(header.split("v1=")[1]) == 64


async def test_paused_delivery_keeps_events_until_resumed(tmp_path):
    platform = Platform()
    outbox = make(tmp_path, platform)
    outbox.paused = True
    outbox.append(event("p1"))
    assert await outbox.deliver_once() == 0
    assert platform.batches == []
    outbox.paused = False
    assert await outbox.deliver_once() == 1


class Refusing:
    """A platform that refuses (422) any batch holding a poison event, and records what it accepted."""

    def __init__(self, poison: set[str], status: int = 422):
        self.poison = poison
        self.status = status
        self.accepted: list[str] = []
        self.requests = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        calls = [e["callId"] for e in json.loads(request.content)["events"]]
        if self.poison & set(calls):
            return httpx.Response(self.status, json={"error": {"code": "validation_failed", "message": "bad event"}})
        self.accepted += calls
        return httpx.Response(200, json={"ok": True})


async def test_a_refused_event_goes_dead_and_the_rest_of_its_batch_is_delivered(tmp_path):
    platform = Refusing({"c5"})
    outbox = Outbox(str(tmp_path / "o.db"), "http://platform.test", SECRET, transport=httpx.MockTransport(platform.handler))
    for i in range(16):
        outbox.append(event(f"c{i}"))
    assert await outbox.deliver_once() == 15
    assert sorted(platform.accepted) == sorted(f"c{i}" for i in range(16) if i != 5)
    # Halving isolates it in a few requests, not one per event.
    assert platform.requests <= 1 + 2 * 4
    assert outbox.stats() == {"pending": 0, "delivered": 15, "total": 16, "retrying": 0, "dead": 1}
    [dead] = await outbox.dead_async()
    assert dead["event"]["callId"] == "c5" and "HTTP 422" in dead["lastError"]
    # Later batches are not held back by it.
    outbox.append(event("c16"))
    assert await outbox.deliver_once() == 1
    # Once the platform accepts it, the operator requeues it and it is delivered.
    platform.poison.clear()
    assert await outbox.requeue_dead_async() == 1
    assert await outbox.deliver_once() == 1
    assert outbox.stats()["dead"] == 0 and outbox.stats()["delivered"] == 17


async def test_a_platform_outage_is_retried_not_dead(tmp_path):
    platform = Platform([503, 401])
    outbox = make(tmp_path, platform)
    outbox.append(event("a"))
    assert await outbox.deliver_once() == 0
    assert outbox.stats()["dead"] == 0 and outbox.stats()["retrying"] == 1


async def test_appends_never_wait_for_the_file_and_those_queued_together_are_committed_together(tmp_path):
    import asyncio
    import threading

    outbox = make(tmp_path, Platform())
    commits = []
    outbox._db.set_trace_callback(lambda sql: commits.append(sql) if sql.strip().lower() == "commit" else None)
    busy = threading.Event()
    outbox._io.submit(busy.wait)  # the file is busy: a checkpoint's fsync, a slow disk
    stored = [outbox.append(event(f"g{i}")) for i in range(50)]
    await asyncio.sleep(0.05)  # the event loop runs on while nothing is stored yet
    assert not any(f.done() for f in stored)
    busy.set()
    assert await asyncio.wrap_future(stored[-1]) is True
    assert all(f.result() for f in stored)
    assert len(commits) == 1  # fifty events, one transaction
    assert outbox.stats()["pending"] == 50
    await outbox.aclose()


async def test_an_append_on_the_event_loop_is_committed_at_once_without_a_thread(tmp_path):
    import asyncio

    platform = Platform()
    outbox = make(tmp_path, platform, linger=0)
    outbox.start()
    handoffs = []
    submit = outbox._io.submit
    outbox._io.submit = lambda *a, **k: handoffs.append(a[0]) or submit(*a, **k)
    stored = [outbox.append(event(f"d{i}")) for i in range(20)]
    # Committed before append returned: no thread took it, nothing is queued.
    assert all(f.done() and f.result() is True for f in stored) and handoffs == []
    assert outbox.append(event("d3")).result() is False  # the same call and status: stored once
    # It woke delivery: the platform gets them, and they are marked delivered, without another append.
    for _ in range(500):
        if (await outbox.stats_async())["delivered"] == 20:
            break
        await asyncio.sleep(0.01)
    assert sorted(e["callId"] for r in platform.batches for e in json.loads(r.content)["events"]) == sorted(
        f"d{i}" for i in range(20)
    )
    # A reopened outbox (a restart) holds them all.
    await outbox.aclose()
    again = make(tmp_path, Platform())
    assert again.stats() == {"pending": 0, "delivered": 20, "total": 20, "retrying": 0, "dead": 0}
    await again.aclose()


async def test_an_append_on_the_loop_while_the_io_thread_writes_is_queued_behind_it_in_order(tmp_path):
    import asyncio

    outbox = make(tmp_path, Platform(), linger=0)
    await started_quietly(outbox)
    release = hold_the_file(outbox)
    started = asyncio.get_running_loop().time()
    first = outbox.append(event("q0"))
    second = outbox.append(event("q1"))  # behind the queued one, never ahead of it
    # No lock waited for on the loop: one that waited for the held file would wait here until the test releases it,
    # after this line (or the I/O connection's 30 s busy timeout), so the bound is far from both and far above what a
    # loaded host may pause the loop.
    assert asyncio.get_running_loop().time() - started < 5.0
    assert not first.done() and not second.done()
    flushed = outbox.flushed()
    release.set()
    assert await asyncio.wait_for(asyncio.wrap_future(second), 5) is True and first.result() is True
    third = outbox.append(event("q2"))  # the file is free again: at once
    assert third.done() and third.result() is True
    ids = outbox._run_io(lambda: outbox._db.execute("select call_id from events order by id").fetchall())
    assert [r[0] for r in ids] == ["q0", "q1", "q2"]
    # flushed() taken while q0 and q1 were queued waits for their delivery, not just their commit.
    await asyncio.sleep(0.05)
    assert not flushed.done()
    outbox.paused = False
    assert await outbox.deliver_once() == 3
    await asyncio.wait_for(flushed, 1)
    await outbox.aclose()


async def test_the_loops_appends_leave_checkpoints_to_the_io_thread(tmp_path):
    import os

    outbox = make(tmp_path, Platform(), linger=0)
    outbox.start()
    outbox.paused = True  # nothing delivered: no claim or mark commits on the I/O thread
    database = tmp_path / "outbox.db"
    before = os.path.getsize(database)
    for i in range(1100):  # past SQLite's automatic checkpoint (1,000 pages of WAL)
        assert outbox.append({**event(f"w{i}"), "pad": "x" * 4000}).result() is True
    # The loop's connection never copied the WAL back (that write and its fsync would have stalled the loop)…
    assert os.path.getsize(database) == before
    await outbox._step(outbox._next_due_in)  # …a round of the delivery loop does, on the I/O thread: the loop hands
    # it the round once the WAL is due to start over
    assert os.path.getsize(database) > 4_000_000
    # …and the WAL file is cut back, so the next rounds are the loop's again (a file left at its size kept every round
    # on the I/O thread, each running the whole checkpoint again).
    assert os.path.getsize(f"{database}-wal") < 65_536  # the header and one page, written by the I/O thread
    hops = io_jobs(outbox)
    for _ in range(3):
        await outbox._step(outbox._next_due_in)
    assert hops == []
    assert outbox.stats()["pending"] == 1100
    await outbox.aclose()


async def test_an_append_on_the_loop_never_overtakes_a_batch_the_io_thread_is_committing(tmp_path):
    import asyncio
    import sqlite3

    import threading

    outbox = make(tmp_path, Platform(), linger=0)
    await started_quietly(outbox)
    real, tries, appended = outbox._insert, [], threading.Event()

    def flaky(batch):  # the group commit's first try fails (a busy file, a full disk cleared): it sleeps, then retries
        tries.append(len(batch))
        if len(tries) == 1:
            raise sqlite3.OperationalError("database is locked")
        # The retry waits for the loop's append below, whatever the host's speed (the 50 ms sleep alone did not).
        assert appended.wait(5)
        return real(batch)

    outbox._insert = flaky
    first = await asyncio.to_thread(outbox.append, event("first"))  # from another thread: queued
    while not tries:
        await asyncio.sleep(0.001)
    second = outbox.append(event("second"))  # on the loop, during the retry's sleep: queued behind it
    appended.set()
    assert not second.done()
    assert await asyncio.wait_for(asyncio.wrap_future(second), 5) is True and first.result() is True
    ids = outbox._run_io(lambda: outbox._db.execute("select call_id from events order by id").fetchall())
    assert [r[0] for r in ids] == ["first", "second"]
    await outbox.aclose()


async def test_the_wal_stays_bounded_under_steady_appends_while_delivery_is_paused(tmp_path):
    import asyncio
    import os

    outbox = make(tmp_path, Platform(), linger=0, idle_interval=0.05)
    outbox.start()
    outbox.paused = True  # an operator's pause, or the platform down: no claim or mark commits for hours
    wal, peak = tmp_path / "outbox.db-wal", 0
    for i in range(1500):  # each append writes its row's and indexes' pages: ~25 KB of WAL
        assert outbox.append({**event(f"s{i}"), "pad": "x" * 900}).result() is True
        if i % 5 == 0:
            await asyncio.sleep(0.002)  # the delivery loop's rounds run between calls
            peak = max(peak, os.path.getsize(wal) if wal.exists() else 0)
    # Started over at ~4 MB, cut back to 8 MB (a PASSIVE checkpoint under steady appends let it grow past 30 MB).
    assert peak < 12 * 1024 * 1024, peak
    assert outbox.stats()["pending"] == 1500
    await outbox.aclose()


async def waking(tmp_path):
    """An outbox whose delivery loop is at the moment its wake fires: the wake's inner wait has completed and the loop
    has not resumed yet. A cancel that lands now is swallowed by wait_for (Python 3.11)."""
    import asyncio

    outbox = make(tmp_path, Platform(), linger=0)
    outbox.start()
    outbox.paused = True
    await asyncio.sleep(0.05)  # the delivery loop waits on its wake
    outbox.append(event("last"))  # sets the wake
    await asyncio.sleep(0)
    return outbox


async def test_aclose_returns_when_its_cancel_lands_as_the_delivery_loop_wakes(tmp_path):
    import asyncio

    outbox = await waking(tmp_path)
    closing = asyncio.ensure_future(outbox.aclose())
    done, _ = await asyncio.wait({closing}, timeout=5)  # wait_for swallowed that cancel once, and this waited for ever
    assert done


async def test_the_delivery_loop_ends_when_cancelled_as_it_wakes(tmp_path):
    """The event loop closing (a worker stopping, a test's loop torn down) cancels the delivery task without aclose.
    A cancel that lands as the wake fires is swallowed by wait_for (Python 3.11); the loop must still end, or the
    loop's close waits for it for ever."""
    import asyncio

    outbox = await waking(tmp_path)
    task = outbox._task
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert done and task.cancelled()
    await outbox.aclose()


async def test_flushed_waits_for_an_append_still_queued(tmp_path):
    import asyncio
    import threading

    outbox = make(tmp_path, Platform())
    busy = threading.Event()
    outbox._io.submit(busy.wait)
    outbox.append(event("queued"))
    flushed = outbox.flushed()
    busy.set()
    await asyncio.sleep(0.05)
    assert not flushed.done()  # stored, not yet delivered
    assert await outbox.deliver_once() == 1
    await asyncio.wait_for(flushed, 1)
    await outbox.aclose()


async def test_a_caller_that_stops_waiting_keeps_no_other_caller_waiting(tmp_path):
    import asyncio
    import threading

    outbox = make(tmp_path, Platform())
    busy = threading.Event()
    outbox._io.submit(busy.wait)
    stored = [outbox.append(event(f"g{i}")) for i in range(3)]
    waiters = [asyncio.ensure_future(asyncio.wrap_future(f)) for f in stored]
    await asyncio.sleep(0)
    waiters[0].cancel()  # as LiteLLM's logging worker cancels a callback past its timeout
    await asyncio.sleep(0)
    busy.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters[1:]), 5) == [True, True]
    assert [e["callId"] for c in ("g0", "g1", "g2") for e in outbox.find(event(c)["keyId"], c)] == ["g0", "g1", "g2"]
    await outbox.aclose()


async def test_a_commit_that_fails_for_a_moment_is_tried_again(tmp_path):
    import threading

    outbox = make(tmp_path, Platform())
    busy = threading.Event()
    outbox._io.submit(busy.wait)
    stored = outbox.append(event("retried"))
    outbox._db.execute("pragma query_only = 1")  # a full disk, a read-only remount: writes fail
    threading.Timer(0.1, lambda: outbox._db.execute("pragma query_only = 0")).start()
    busy.set()
    assert stored.result(timeout=5) is True
    assert outbox.stats()["pending"] == 1
    await outbox.aclose()


async def test_a_read_from_a_callback_on_the_io_thread_does_not_wedge_the_outbox(tmp_path):
    outbox = make(tmp_path, Platform())
    seen = {}
    stored = outbox.append(event("a"))
    stored.add_done_callback(lambda f: seen.setdefault("stats", outbox.stats()))
    assert stored.result(timeout=5) is True
    assert outbox.append(event("b")).result(timeout=5) is True
    assert seen["stats"]["total"] >= 1
    await outbox.aclose()


async def test_after_aclose_an_append_is_refused_at_once_and_delivery_does_not_start_again(tmp_path):
    import asyncio
    import threading

    outbox = make(tmp_path, Platform())
    outbox.start()
    busy = threading.Event()
    outbox._io.submit(busy.wait)
    queued = outbox.append(event("before"))
    closing = asyncio.create_task(outbox.aclose())
    await asyncio.sleep(0.05)
    late = outbox.append(event("during"))
    busy.set()
    await closing
    assert queued.result(timeout=5) is True  # queued before close: committed
    assert isinstance(late.exception(timeout=5), RuntimeError)  # refused, never left waiting
    outbox.start()
    assert outbox._task is None or outbox._task.done()


async def test_the_operator_routes_read_the_outbox_without_holding_the_event_loop(tmp_path, monkeypatch):
    import asyncio
    import threading

    from fastapi import FastAPI

    from tollgate_litellm.billing import TollgateBilling
    from tollgate_litellm.platform import PlatformClient
    from tollgate_litellm.routes import mount
    from tollgate_litellm.settings import Settings

    secret = "s" * 40
    monkeypatch.setenv("TOLLGATE_URL", "http://platform.test")
    monkeypatch.setenv("TOLLGATE_GATEWAY_SECRET", secret)
    settings = Settings("http://platform.test", secret, "sk-master", 5.0, 2.0, 1.0, 100)
    outbox = make(tmp_path, Platform())
    app = FastAPI()
    mount(app, TollgateBilling(settings, outbox, PlatformClient(settings)))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")
    headers = {"authorization": f"Bearer {secret}"}
    for path in ("/tollgate/outbox/stats", "/tollgate/metrics"):
        busy = threading.Event()
        outbox._io.submit(busy.wait)  # the file is busy (another worker's lock, a checkpoint)
        safety = threading.Timer(5, busy.set)
        safety.start()
        answer = asyncio.ensure_future(client.get(path, headers=headers))
        for _ in range(5):
            await asyncio.sleep(0.01)  # the loop keeps turning while the route waits for the file
        assert not answer.done(), path
        busy.set()
        safety.cancel()
        assert (await answer).status_code == 200
    await outbox.aclose()


async def test_a_delivery_round_runs_on_the_loops_connection_without_a_thread_hop(tmp_path):
    """The usual round (claim, post, mark, the next due time) takes no turn of the I/O thread: each hop there wakes a
    thread and then the loop, per round, on the gateway's busiest path."""
    platform = Platform()
    outbox = paused_with(tmp_path, platform, [f"r{i}" for i in range(5)])
    hops = io_jobs(outbox)
    outbox.paused = False
    outbox.deliver_now()
    await until_delivered(outbox, 5)
    hops_in_rounds = [h for h in hops if h not in ("_stats", "_purge")]  # the test's reads; a purge every 10 min
    assert outbox._run_io(outbox._stats)["delivered"] == 5
    assert [json.loads(b.content)["events"][0]["callId"] for b in platform.batches] == ["r0"]
    assert hops_in_rounds == []
    await outbox.aclose()


async def test_a_claim_while_the_io_thread_holds_the_file_waits_there_instead(tmp_path):
    """The loop's connection never waits for a lock: a round that finds the file busy is handed to the I/O thread,
    which takes it once the file is free, and nothing is delivered twice or lost."""
    import asyncio

    platform = Platform()
    outbox = paused_with(tmp_path, platform, ["b0", "b1", "b2"])
    release = hold_the_file(outbox)
    started = asyncio.get_running_loop().time()
    outbox.paused = False
    outbox.deliver_now()
    await asyncio.sleep(0.2)
    # The loop went on: a loop that waited for the held file would not come back from the sleep until the release
    # below (or the I/O connection's 30 s busy timeout), so the bound is far from both and far above what a loaded
    # host may pause the loop.
    assert asyncio.get_running_loop().time() - started < 5.0
    assert platform.batches == []  # the round waits on the I/O thread, behind the held file
    release.set()
    await until_delivered(outbox, 3)
    assert [[e["callId"] for e in json.loads(b.content)["events"]] for b in platform.batches] == [["b0", "b1", "b2"]]
    assert outbox.stats() == {"pending": 0, "delivered": 3, "total": 3, "retrying": 0, "dead": 0}
    await outbox.aclose()


async def test_the_claim_reads_live_events_by_index_not_through_the_delivered_ones(tmp_path):
    """Delivered events are kept for days, with the lowest ids: a claim that read the table in id order went through
    all of them (116 ms with 300,000 kept), on the event loop."""
    outbox = make(tmp_path, Platform())
    plan = outbox._run_io(lambda: outbox._db.execute(
        "explain query plan select id, body, attempts from events where delivered_at is null and dead_at is null"
        " and next_attempt_at <= ? and claimed_until <= ? order by id limit ?", (0, 0, 500)).fetchall())
    details = " ".join(row[-1] for row in plan)
    assert "INDEX events_live_id" in details, details  # the live events' own index, not the table in id order
    await outbox.aclose()


async def test_a_step_that_leaves_the_loops_connection_in_a_transaction_is_rolled_back(tmp_path):
    """A commit and its rollback both failing must not leave the loop's connection inside a transaction: every
    append after it would say "stored" for a row no commit wrote."""
    import sqlite3

    outbox = paused_with(tmp_path, Platform(), [])

    def failing_on_the_loop(db):
        if db is outbox._direct:
            db.execute("begin immediate")
            raise sqlite3.OperationalError("disk I/O error")  # and no rollback
        return "on the I/O thread"

    assert await outbox._step(failing_on_the_loop) == "on the I/O thread"
    assert not outbox._direct.in_transaction
    assert outbox.append(event("after")).result() is True
    rows = outbox._run_io(lambda: outbox._db.execute("select call_id from events").fetchall())
    assert rows == [("after",)]  # committed: the I/O thread's connection sees it
    await outbox.aclose()
