// Retention's locks against ingest (docs/adr/0022, review of issue 27 part 3): a late call of a day whose partition the
// run holds (being checked, or waiting for the DROP's lock) is not kept waiting with its key rows locked — the run gives
// way, the call is recorded and counted, the day is refused for that run and leaves with it after its new settlement,
// its kept sums counting it; a run inside a caller's transaction is refused. Every moment is simulated.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { settleUsage } from "@/lib/billing/settle";
import { createClient } from "@/lib/db/client";
import { RetentionInTransactionError, runRetention } from "@/lib/retention/run";
import { event } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { untilLockWaited } from "../helpers/locks";
import { retentionFixture } from "../helpers/retention";
import { signal } from "../helpers/signal";

const { sql, url, prepare } = await createTestDatabase();
const clock = simulatedClock(sql, "2027-06-01T00:00:00Z");
const fixture = retentionFixture(sql, clock);
const { partitionFor, partitionExists, customer, settleDay, runAt } = fixture;

beforeAll(async () => {
  await fixture.setUp();
});

/** `count` calls on a key at `day` 13:00, settled through settle_usage; returns their events. */
async function callsOn(day: string, keyId: string, count: number) {
  const at = `${day}T13:00:00.000Z`;
  const events = Array.from({ length: count }, (_, i) =>
    event(keyId, `${day}-${randomUUID()}`, { startedAt: at, endedAt: at, completionTokens: 10 + i }),
  );
  await clock.at(at, (tx) => settleUsage(tx, events));
  return events;
}

const keptCalls = async (day: string) =>
  Number(
    (
      await sql<{ n: bigint | null }[]>`
        select sum(calls)::bigint as n from retention_trimmed_usage where day = ${day}`
    )[0]!.n ?? 0,
  );

/** A late call of `day` settled on its own connection, standing at `now`; resolves with how long it took. */
async function lateCall(keyId: string, day: string, now: string): Promise<number> {
  const ingest = createClient({ url, max: 1, prepare });
  try {
    await ingest`select 1`; // connected before the call is timed
    const t0 = performance.now();
    await ingest.begin(async (tx) => {
      await tx`select set_config('tollgate.now', ${now}, true)`;
      await settleUsage(tx, [
        event(keyId, `late-${randomUUID()}`, {
          startedAt: `${day}T20:00:00.000Z`,
          endedAt: `${day}T20:00:01.000Z`,
        }),
      ]);
    });
    return performance.now() - t0;
  } finally {
    await ingest.end();
  }
}

/**
 * A late call's wait, at most: the run's poll for waiting writers plus the call's own work on a loaded machine; well
 * under the budgets (3 and 4 s) a run that did not give way would make it wait.
 */
const LATE_CALL_BOUND_MS = 1500;

describe("a late call of a day the run holds", () => {
  it("while the day is checked: the run gives way, the call is counted, the day leaves after its new settlement", async () => {
    const day = "2027-06-02";
    const name = await partitionFor(day);
    await partitionFor("2027-06-10");
    const c = await customer();
    await callsOn(day, c.keyId, 3);
    await settleDay(day);
    // Every older day leaves first: the run below holds this day's partition only.
    await runAt("2027-06-09T04:00:00Z");
    expect(await partitionExists(name)).toBe(true);
    // Something the check reads is held (a slow check, as a 10M-call day's scan is): the run holds the partition SHARE
    // the while.
    const blocker = createClient({ url, max: 1, prepare });
    const { promise: held, fire: release } = signal();
    const { promise: lockHeld, fire: locked } = signal();
    const blocking = blocker.begin(async (b) => {
      await b`lock table retention_trimmed_usage in access exclusive mode`;
      locked();
      await held;
    });
    try {
      await lockHeld;
      const retention = runAt("2027-06-10T04:00:00Z");
      // The run's check of the day waits for the held table, the day's partition held SHARE meanwhile.
      await untilLockWaited(sql, { relation: "retention_trimmed_usage" });
      const releaseLater = setTimeout(release, 3000);
      const waited = await lateCall(c.keyId, day, "2027-06-10T04:00:01Z");
      clearTimeout(releaseLater);
      release();
      await blocking;
      const summary = await retention;
      expect(waited).toBeLessThan(LATE_CALL_BOUND_MS);
      expect(summary.refused).toContainEqual({ day, reason: "late_rows" });
      expect(await partitionExists(name)).toBe(true);
      const [rows] = await sql<{ n: number }[]>`
        select count(*)::int as n from usage_events where key_id = ${c.keyId}`;
      expect(rows!.n).toBe(4);
      expect(await keptCalls(day)).toBe(0);
    } finally {
      release();
      await blocking.catch(() => undefined);
      await blocker.end();
    }
    // Settled again with the late call, the day leaves: its kept sums are the four calls dropped.
    await settleDay(day);
    const summary = await runAt("2027-06-10T05:00:00Z");
    expect(summary.refused.filter((r) => r.day === day)).toEqual([]);
    expect(await partitionExists(name)).toBe(false);
    expect(await keptCalls(day)).toBe(4);
  });

  it("while the DROP waits for usage_events behind a long read: the run gives way at once, not after its budget", async () => {
    const day = "2027-06-03";
    const name = await partitionFor(day);
    const c = await customer();
    await callsOn(day, c.keyId, 2);
    await settleDay(day);
    await runAt("2027-06-10T04:00:00Z");
    expect(await partitionExists(name)).toBe(true);
    const reader = createClient({ url, max: 1, prepare });
    const { promise: held, fire: release } = signal();
    // An analytics page's read of the parent: the DROP's ACCESS EXCLUSIVE never comes while it lasts.
    const { promise: readHolds, fire: reads } = signal();
    const reading = reader.begin(async (r) => {
      await r`select count(*) from usage_events where started_at >= '2027-06-01'`;
      reads();
      await held;
    });
    try {
      await readHolds;
      const retention = runAt("2027-06-11T04:00:00Z", { lockTimeoutMs: 4000 });
      // The DROP's ACCESS EXCLUSIVE request waits behind the read.
      await untilLockWaited(sql, { relation: "usage_events", mode: "AccessExclusiveLock" });
      const waited = await lateCall(c.keyId, day, "2027-06-11T04:00:01Z");
      const summary = await retention;
      expect(waited).toBeLessThan(LATE_CALL_BOUND_MS);
      expect(summary.refused).toContainEqual({ day, reason: "late_rows" });
      expect(await partitionExists(name)).toBe(true);
      expect(await keptCalls(day)).toBe(0);
    } finally {
      release();
      await reading;
      await reader.end();
    }
    await settleDay(day);
    await runAt("2027-06-11T05:00:00Z");
    expect(await partitionExists(name)).toBe(false);
    expect(await keptCalls(day)).toBe(3);
  });
});

describe("a run inside a caller's transaction", () => {
  it("is refused before it records or locks anything", async () => {
    const [before] = await sql<{ n: number }[]>`select count(*)::int as n from retention_runs`;
    await expect(
      clock.at("2027-06-12T04:00:00Z", (tx) => runRetention(tx, { asOf: new Date("2027-06-12T04:00:00Z") })),
    ).rejects.toBeInstanceOf(RetentionInTransactionError);
    const [after] = await sql<{ n: number }[]>`select count(*)::int as n from retention_runs`;
    expect(after!.n).toBe(before!.n);
  });
});
