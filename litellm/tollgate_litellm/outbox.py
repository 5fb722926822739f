"""
A durable local outbox for usage events: every event is written to SQLite before anything else, then
delivered in signed batches to the platform, retried with exponential backoff and jitter until acknowledged.
The file survives a gateway restart; delivery resumes on start. Delivered events are kept for a while so
the platform's settlement can ask for one again (replay).

An event the platform refuses for its content (400/413/422) must not hold back the others: a refused batch is
split in halves and resent until the refused event stands alone, which is then set aside as dead (kept, with
the platform's answer, listed for the operator, requeued by hand once the cause is fixed).

Nothing here waits for the file on the event loop. An append made on the loop while the file is free is one INSERT
committed at once on the loop's own connection: a WAL append with no fsync (synchronous=normal) and no checkpoint
(that connection never checkpoints), tens of microseconds, no lock waited for (busy timeout 0). A thread handoff per
call cost more CPU than the write itself (docs/adr/0025). Everything else belongs to one I/O thread: an append that
finds the file busy (the I/O thread writing) or comes from another thread is queued there, and appends queued while it
writes are committed together in the next transaction (group commit); the WAL checkpoints and their fsync, and the
delivery loop's claims and marks, run there too, so a slow disk stalls that thread and no request. `append` returns a
future that completes once the event is committed (at once on the loop's path); the billing hooks finish the call's
draw from that future's callback, so an event is durable before the call's accounting moves on, whatever becomes of
the hook.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import hmac
import json
import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

logger = logging.getLogger("tollgate.outbox")

SCHEMA = """
create table if not exists events (
  id integer primary key autoincrement,
  dedup_key text not null unique,
  key_id text not null,
  call_id text not null,
  body text not null,
  created_at real not null,
  attempts integer not null default 0,
  next_attempt_at real not null default 0,
  claimed_until real not null default 0,
  delivered_at real,
  last_error text
);
create index if not exists events_call on events (key_id, call_id);
"""

# Added after the first release: outboxes created before it gain the column on open.
DEAD_COLUMN = "dead_at"
PENDING_INDEX = """
drop index if exists events_pending;
create index if not exists events_pending_live on events (next_attempt_at) where delivered_at is null and dead_at is null;
create index if not exists events_live_id on events (id, next_attempt_at, claimed_until)
  where delivered_at is null and dead_at is null;
"""
# events_live_id serves the claim (the oldest live events, in id order): without it the claim read the table in id
# order through every delivered event kept for the retention before reaching a live one (116 ms with 300,000 kept),
# on the event loop since delivery rounds run there.

# The WAL folded back into the database file and cut to nothing by the I/O thread once it is this large (an
# autocommitted append writes its row's and its indexes' pages, ~25 KB of WAL; SQLite's own automatic checkpoint,
# which the loop's connection does not run, is at 1,000 pages). journal_size_limit, twice that, bounds the file when a
# checkpoint cannot finish (a reader in the way).
WAL_RESTART_BYTES = 4 * 1024 * 1024

# Statuses that refuse the content of a batch (as opposed to the platform being down, busy or misconfigured).
CONTENT_REFUSALS = frozenset({400, 413, 422})


@contextlib.contextmanager
def write_transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error. A rollback that fails too does not hide the error; the
    connection's owner settles it (the loop's connection: Outbox._settle_direct)."""
    db.execute("begin immediate")
    try:
        yield db
        db.execute("commit")
    except BaseException:
        try:
            if db.in_transaction:
                db.execute("rollback")
        except sqlite3.Error:
            pass
        raise


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def backoff_seconds(attempts: int, base: float = 0.5, cap: float = 30.0, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter between half and the whole step."""
    step = min(cap, base * (2 ** max(0, attempts - 1)))
    return step * (0.5 + rand() / 2)


class Outbox:
    def __init__(
        self,
        path: str,
        platform_url: str,
        secret: str,
        *,
        batch_size: int = 500,
        retention_hours: float = 72.0,
        idle_interval: float = 1.0,
        linger: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = path
        self.secret = secret
        self.batch_size = batch_size
        self.retention_seconds = retention_hours * 3600
        self.idle_interval = idle_interval
        # After an append wakes delivery, wait this long so events arriving together go in one batch (one signed
        # POST and one platform transaction for many calls, instead of one per call).
        self.linger = linger
        self.clock = clock
        # Told the platform's answer to each acknowledged batch (the lease book: overruns and deficits, clause 46).
        self.on_answer: Callable[[dict[str, Any]], None] | None = None
        self._urgent = False
        self._last_id = 0
        self._flush_waiters: list[tuple[int, asyncio.Future[None]]] = []
        # The one thread that reads and writes the file, in submission order; appends waiting for it, as rows with
        # the futures their callers hold, and the write job that will take them.
        self._io_thread: int | None = None
        self._io = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="tollgate-outbox", initializer=self._on_io_thread
        )
        self._closed = False
        self.last_stats: dict[str, int] | None = None
        self._pending_lock = threading.Lock()
        self._pending: list[tuple[tuple[Any, ...], concurrent.futures.Future[bool]]] = []
        self._writing: concurrent.futures.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("pragma journal_mode=wal")
        # NORMAL in WAL mode survives a process crash (not a power cut) and keeps appends cheap.
        self._db.execute("pragma synchronous=normal")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("pragma table_info(events)")}
        if DEAD_COLUMN not in columns:
            self._db.execute(f"alter table events add column {DEAD_COLUMN} real")
        self._db.executescript(PENDING_INDEX)
        self._db.execute(f"pragma journal_size_limit={2 * WAL_RESTART_BYTES}")
        self._wal_path = f"{path}-wal"
        # The event loop's connection (appends and delivery rounds, under _pending_lock): never waits for a lock,
        # never checkpoints.
        self._direct = self._open_direct()
        self._loop_thread: int | None = None
        # The I/O thread has taken a batch and not yet committed it (nothing goes direct meanwhile: order is kept).
        self._committing = False
        self._client = httpx.AsyncClient(base_url=platform_url, timeout=httpx.Timeout(10.0), transport=transport)
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.owner = f"{os.getpid()}-{random.getrandbits(32):08x}"
        # Operators pause delivery (e.g. during a platform migration); events keep accumulating durably.
        self.paused = False

    def _open_direct(self) -> sqlite3.Connection:
        direct = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0)
        direct.execute("pragma synchronous=normal")
        direct.execute("pragma wal_autocheckpoint=0")
        direct.execute(f"pragma journal_size_limit={2 * WAL_RESTART_BYTES}")
        return direct

    def _settle_direct(self) -> None:
        """(Under _pending_lock) The loop's connection is never left inside a transaction: a step whose commit and
        rollback both failed would otherwise keep it open, and every append after it would say "stored" for a row
        no commit ever wrote. Rolled back, or the connection replaced."""
        if not self._direct.in_transaction:
            return
        try:
            self._direct.execute("rollback")
        except sqlite3.Error:
            pass
        if self._direct.in_transaction:
            logger.error("the outbox's loop connection could not roll back: replaced")
            try:
                self._direct.close()
            except sqlite3.Error:
                pass
            self._direct = self._open_direct()

    def _on_io_thread(self) -> None:
        self._io_thread = threading.get_ident()

    def deliver_now(self) -> None:
        """Delivery without the usual linger: an event the platform must see at once (a charge above its draw)."""
        self._urgent = True
        if self._wake is not None:
            self._wake.set()

    # -- writing -------------------------------------------------------------------------------------------
    def append(self, event: dict[str, Any]) -> concurrent.futures.Future[bool]:
        """Queues an event for the next group commit. The future completes once it is stored durably: True if new,
        False if the same (key, call, status) was stored before; with the error if it could not be stored. Once the
        I/O thread is gone (the interpreter is exiting: LiteLLM's logging worker runs its last callbacks from atexit)
        the event is written at once on the caller's thread."""
        dedup = f"{event['keyId']}:{event['callId']}:{event['status']}"
        row = (dedup, event["keyId"], event["callId"], json.dumps(event, separators=(",", ":")), self.clock())
        stored: concurrent.futures.Future[bool] = concurrent.futures.Future()
        with self._pending_lock:
            if self._closed:
                stored.set_exception(RuntimeError("the outbox is closed"))
                logger.error("usage event for call %s not stored: the outbox is closed", event["callId"])
                return stored
            if (not self._pending and self._writing is None and not self._committing
                    and threading.get_ident() == self._loop_thread and not self._direct.in_transaction):
                try:
                    new = self._insert_direct(row)
                except sqlite3.Error:  # the file is busy (the I/O thread writes), or failing: queued, retried there
                    pass
                else:
                    stored.set_result(new)
                    if new and self._wake is not None:
                        self._wake.set()
                    return stored
            self._pending.append((row, stored))
            if self._writing is not None:
                return stored
            try:
                self._writing = self._io.submit(self._write_pending)
                return stored
            except RuntimeError:  # the executor is shut down: no thread will take it
                pass
        self._write_pending()
        return stored

    def _insert_direct(self, row: tuple[Any, ...]) -> bool:
        """(Event loop, under _pending_lock) One event, committed by its own statement; raises if the file is busy."""
        cur = self._direct.execute(
            "insert or ignore into events (dedup_key, key_id, call_id, body, created_at) values (?, ?, ?, ?, ?)", row
        )
        if cur.rowcount != 1:
            return False
        self._last_id = max(self._last_id, cur.lastrowid or 0)
        return True

    def _write_pending(self) -> None:
        """(I/O thread) Commits every queued append in one transaction, then tells each caller and the delivery loop.
        A failed commit is tried again a few times (a busy file, a full disk cleared); each caller is told in the end,
        whatever happens, and a lost event is logged with its call."""
        with self._pending_lock:
            batch, self._pending, self._writing = self._pending, [], None
            self._committing = bool(batch)
        if not batch:
            return
        results: list[bool] = []
        error: BaseException | None = None
        try:
            for delay in (0.05, 0.25, 1.0, None):
                try:
                    results = self._insert(batch)
                    error = None
                    break
                except Exception as failed:  # noqa: BLE001 — told to every caller below
                    error = failed
                    if delay is None:
                        break
                    time.sleep(delay)
        finally:
            with self._pending_lock:
                self._committing = False
            for index, (row, stored) in enumerate(batch):
                if stored.done():  # a caller that gave up waiting (cancelled): the row is stored all the same
                    continue
                if error is not None or index >= len(results):
                    stored.set_exception(error or RuntimeError("not stored"))
                else:
                    stored.set_result(results[index])
            if error is not None:
                logger.error("could not store %d usage events (calls %s): %s", len(batch),
                             ", ".join(row[2] for row, _ in batch), error)
            self._wake_loop()

    def _insert(self, batch: list[tuple[tuple[Any, ...], concurrent.futures.Future[bool]]]) -> list[bool]:
        results: list[bool] = []
        last_id = self._last_id
        with write_transaction(self._db):
            for row, _ in batch:
                cur = self._db.execute(
                    "insert or ignore into events (dedup_key, key_id, call_id, body, created_at) values (?, ?, ?, ?, ?)",
                    row,
                )
                results.append(cur.rowcount == 1)
                if cur.rowcount == 1:
                    last_id = max(last_id, cur.lastrowid or 0)
        with self._pending_lock:  # the loop's appends raise it too: it only grows
            self._last_id = max(self._last_id, last_id)
        return results

    def _wake_loop(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def _run_io(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Runs fn on the I/O thread after every append queued before it, and waits (tests, shutdown). On the I/O
        thread itself (a callback of an append's future) it runs at once, never waiting for its own queue."""
        if threading.get_ident() == self._io_thread:
            return fn(*args)
        return self._io.submit(fn, *args).result()

    async def _in_io(self, fn: Callable[..., Any], *args: Any) -> Any:
        """The same without blocking the event loop (the delivery loop)."""
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

    def flushed(self) -> asyncio.Future[None]:
        """Completes once every event appended so far has been delivered (or set aside as dead)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def watch() -> None:
            # The newest id once every append queued so far is committed (the I/O thread runs jobs in order).
            target = await self._in_io(lambda: self._last_id)
            self._flush_waiters.append((target, future))
            await self._check_flushed()

        task = asyncio.ensure_future(watch())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return future

    def _first_pending(self) -> int | None:
        (pending,) = self._db.execute(
            "select min(id) from events where delivered_at is null and dead_at is null"
        ).fetchone()
        return pending

    async def _check_flushed(self) -> None:
        if not self._flush_waiters:
            return
        # Every append queued before this point is committed first (same thread, in order).
        pending = await self._in_io(self._first_pending)
        waiting = []
        for target, future in self._flush_waiters:
            if future.done():
                continue
            if pending is None or pending > target:
                future.set_result(None)
            else:
                waiting.append((target, future))
        self._flush_waiters = waiting

    # -- reading -------------------------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        return self._run_io(self._stats)

    async def stats_async(self) -> dict[str, int]:
        """The counts without blocking the event loop (the operator's routes and the metrics scrape); kept as
        `last_stats` for the Prometheus collector, which cannot await."""
        self.last_stats = await self._in_io(self._stats)
        return self.last_stats

    def _stats(self) -> dict[str, int]:
        pending, delivered, total, retrying, dead = self._db.execute(
            "select count(*) filter (where delivered_at is null and dead_at is null),"
            " count(*) filter (where delivered_at is not null), count(*),"
            " count(*) filter (where delivered_at is null and dead_at is null and attempts > 0),"
            " count(*) filter (where dead_at is not null) from events"
        ).fetchone()
        return {"pending": pending, "delivered": delivered, "total": total, "retrying": retrying, "dead": dead}

    async def dead_async(self, limit: int = 100) -> list[dict[str, Any]]:
        """Events the platform refused for their content, newest first, with its answer (for the operator)."""
        return await self._in_io(self._dead, limit)

    def _dead(self, limit: int) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "select id, body, dead_at, attempts, last_error from events where dead_at is not null"
            " order by id desc limit ?",
            (limit,),
        ).fetchall()
        return [
            {"id": r[0], "event": json.loads(r[1]), "deadAt": r[2], "attempts": r[3], "lastError": r[4]} for r in rows
        ]

    def _requeue_dead(self) -> int:
        return self._db.execute(
            "update events set dead_at = null, attempts = 0, next_attempt_at = 0 where dead_at is not null"
        ).rowcount

    async def requeue_dead_async(self) -> int:
        """Puts every dead event back in line (after the cause was fixed on the platform)."""
        count = await self._in_io(self._requeue_dead)
        if self._wake is not None:
            self._wake.set()
        return count

    def _find(self, key_id: str, call_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "select body from events where key_id = ? and call_id = ? order by id", (key_id, call_id)
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def find(self, key_id: str, call_id: str) -> list[dict[str, Any]]:
        """Every event stored for a call (for the platform's replay during settlement), appends queued before included."""
        return self._run_io(self._find, key_id, call_id)

    async def find_async(self, key_id: str, call_id: str) -> list[dict[str, Any]]:
        return await self._in_io(self._find, key_id, call_id)

    # -- delivery ------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Starts the delivery loop on the running event loop (idempotent; not after aclose)."""
        if self._closed or (self._task is not None and not self._task.done()):
            return
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._task = self._loop.create_task(self._run(), name="tollgate-outbox")

    def _claim(self, db: sqlite3.Connection) -> list[tuple[int, str, int]]:
        now = self.clock()
        with write_transaction(db):
            rows = db.execute(
                "select id, body, attempts from events where delivered_at is null and dead_at is null"
                " and next_attempt_at <= ? and claimed_until <= ? order by id limit ?",
                (now, now, self.batch_size),
            ).fetchall()
            if rows:
                db.executemany("update events set claimed_until = ? where id = ?", [(now + 60, r[0]) for r in rows])
        return rows

    @staticmethod
    def _update(db: sqlite3.Connection, statement: str, params: list[tuple[Any, ...]]) -> None:
        """One statement for many rows, committed once (not once per row)."""
        with write_transaction(db):
            db.executemany(statement, params)

    def _wal_due(self) -> bool:
        try:
            return os.path.getsize(self._wal_path) > WAL_RESTART_BYTES
        except OSError:
            return False

    def _folded_then(self, step: Callable[[sqlite3.Connection], Any]) -> Any:
        """(I/O thread) A delivery step, after starting the WAL over if it is due."""
        self._fold()
        return step(self._db)

    async def _step(self, step: Callable[[sqlite3.Connection], Any]) -> Any:
        """A delivery round's statements (claim, mark, next due time): on the event loop's own connection when the
        file takes them at once, the usual case, so a round costs no thread hop and no wake-up of the loop; on the I/O
        thread when the file is busy (its connection holds the write lock: a queued commit, a checkpoint), or
        when the WAL is due to start over, which only that thread does (a checkpoint can fsync)."""
        if threading.get_ident() == self._loop_thread and not self._wal_due():
            with self._pending_lock:
                try:
                    return step(self._direct)
                except sqlite3.OperationalError:  # busy (the loop's connection never waits): the I/O thread's turn
                    pass
                finally:
                    self._settle_direct()
        return await self._in_io(self._folded_then, step)

    async def deliver_once(self) -> int:
        """Sends one batch; returns how many events the platform acknowledged."""
        if self.paused:
            return 0
        rows = await self._step(self._claim)
        if not rows:
            return 0
        return await self._deliver(rows)

    async def _deliver(self, rows: list[tuple[int, str, int]]) -> int:
        body = ('{"events":[' + ",".join(r[1] for r in rows) + "]}").encode()
        error: str | None = None
        status: int | None = None
        try:
            response = await self._client.post(
                "/api/webhooks/litellm",
                content=body,
                headers={"content-type": "application/json", "x-tollgate-signature": sign(self.secret, body, int(time.time()))},
            )
            status = response.status_code
            if status < 300:
                await self._mark(rows, "update events set delivered_at = ?, claimed_until = 0, last_error = null where id = ?")
                self._answered(response)
                await self._check_flushed()
                return len(rows)
            error = f"HTTP {status}: {response.text[:300]}"
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"
        if status in CONTENT_REFUSALS:
            if len(rows) > 1:
                # Somewhere in the batch is an event the platform refuses: halve until it stands alone.
                middle = len(rows) // 2
                return await self._deliver(rows[:middle]) + await self._deliver(rows[middle:])
            await self._mark(
                rows,
                "update events set dead_at = ?, attempts = attempts + 1, claimed_until = 0, last_error = ? where id = ?",
                error,
            )
            logger.error("usage event %s refused by the platform, set aside as dead: %s", rows[0][0], error)
            await self._check_flushed()
            return 0
        now = self.clock()
        params = [(now + backoff_seconds(r[2] + 1), error, r[0]) for r in rows]
        await self._step(lambda db: self._update(
            db,
            "update events set attempts = attempts + 1, next_attempt_at = ?, claimed_until = 0, last_error = ? where id = ?",
            params,
        ))
        logger.warning("usage delivery failed for %d events, will retry: %s", len(rows), error)
        return 0

    def _answered(self, response: httpx.Response) -> None:
        """Hands the platform's answer on: which leases paid charges above their draws, which keys are in deficit."""
        if self.on_answer is None:
            return
        try:
            answer = response.json()
        except ValueError:
            return
        if isinstance(answer, dict):
            try:
                self.on_answer(answer)
            except Exception:
                logger.exception("could not apply the platform's answer to a usage delivery")

    async def _mark(self, rows: list[tuple[int, str, int]], statement: str, error: str | None = None) -> None:
        now = self.clock()
        params = [(now, r[0]) if error is None else (now, error, r[0]) for r in rows]
        await self._step(lambda db: self._update(db, statement, params))

    def _purge(self) -> int:
        return self._db.execute(
            "delete from events where delivered_at is not null and delivered_at < ?",
            (self.clock() - self.retention_seconds,),
        ).rowcount

    def purge(self) -> int:
        return self._run_io(self._purge)

    def _fold(self) -> None:
        """(I/O thread) The loop's appends never checkpoint. Here, once the WAL file passes WAL_RESTART_BYTES, it is
        copied back and cut to nothing (TRUNCATE: a PASSIVE checkpoint under steady appends never reaches the WAL's end,
        and only one that does lets it start over, so the file would only grow). Not RESTART, which starts the WAL over
        but leaves the file its size: the size this reads stayed above the mark, and every delivery round after the
        first 4 MB ran a whole checkpoint again, with its fsync, on this thread. The checkpoint holds the writer lock
        while it runs: an append on the loop meanwhile finds the file busy and is queued here, behind it."""
        if self._wal_due():
            self._db.execute("pragma wal_checkpoint(truncate)")
            # The first write to a WAL started over writes its header and syncs it, whatever `synchronous` says: done
            # here, on this thread, so the loop's next append or claim does not wait for that sync.
            (version,) = self._db.execute("pragma user_version").fetchone()
            self._db.execute(f"pragma user_version={int(version)}")

    def _next_due_in(self, db: sqlite3.Connection) -> float:
        row = db.execute(
            "select min(next_attempt_at) from events where delivered_at is null and dead_at is null"
        ).fetchone()
        if row[0] is None:
            return self.idle_interval
        return max(0.0, min(self.idle_interval, row[0] - self.clock()))

    async def _run(self) -> None:
        assert self._wake is not None
        last_purge = 0.0
        # Not `while True`: a cancellation that lands as the wake fires is swallowed by wait_for (Python 3.11), and
        # aclose would wait for this loop for ever.
        while not self._closed:
            try:
                while await self.deliver_once():
                    pass
                if self.clock() - last_purge > 600:
                    await self._in_io(self._purge)
                    last_purge = self.clock()
            except Exception:  # a broken batch must never stop delivery
                logger.exception("outbox delivery loop error")
            self._wake.clear()
            try:
                due_in = await self._step(self._next_due_in)
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.05, due_in))
                # A cancel that landed as the wake fired was swallowed by wait_for (Python 3.11) but is still asked
                # for: a plain cancel (the event loop closing, not aclose) must end this loop too, or the loop's
                # close waits for it for ever.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError
                if self.linger > 0 and not self._urgent:
                    await asyncio.sleep(self.linger)
                self._urgent = False
            except asyncio.TimeoutError:
                pass

    async def aclose(self) -> None:
        """Stops delivery, commits what is queued, closes the file. Appends after this are refused (logged)."""
        with self._pending_lock:
            self._closed = True
            self._loop_thread = None
            self._direct.close()
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 — stopping it is all that matters here
                pass
        await self._client.aclose()
        await self._in_io(self._write_pending)  # whatever was queued before the flag
        await self._in_io(self._db.close)
        self._io.shutdown(wait=True)
