// Retention moving the claims horizon while a webhook batch or a settled day's roll-up is in flight (an outside review's
// two races): the horizon never passes a late call a batch is recording, and a day's roll-up rebuilt as retention
// deletes its kept sums still holds them. Each test has a database of its own: its retention runs move the horizon.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { dailySpend } from "@/lib/billing/accounts";
import { settleUsage } from "@/lib/billing/settle";
import { rollUpAgain, staleSettledDays } from "@/lib/settlement/run";
import { event } from "../helpers/billing";
import { untilLockWaited } from "../helpers/locks";
import { retentionDatabase } from "../helpers/retention";
import { signal } from "../helpers/signal";

const D = "2027-03-20";

/** A database of its own with a settled day D of one call, its partition then dropped with its sums kept. */
async function droppedDay() {
  const { sql, clock, fixture, admin } = await retentionDatabase();
  const c = await fixture.customer();
  // An id that names no moment: a late call of a dropped day is recorded (in the default partition), not refused.
  const call = (at: string) => event(c.keyId, `c-${randomUUID()}`, { startedAt: at, endedAt: at });
  await fixture.partitionFor(D);
  await clock.at(`${D}T12:00:00Z`, (tx) => settleUsage(tx, [call(`${D}T12:00:00.000Z`)]));
  await fixture.settleDay(D);
  await fixture.runAt("2027-04-01T04:00:00Z");
  const [kept] = await sql<{ n: number }[]>`
    select count(*)::int as n from retention_trimmed_usage where day = ${D}::date`;
  expect(kept!.n).toBe(1);
  const calls = async () =>
    (await clock.at("2027-04-08T05:00:00Z", (db) => dailySpend(db, admin, c.accountId, 30))).find(
      (x) => x.day === D,
    )!.calls;
  return { sql, clock, fixture, call, calls };
}

const racing = await droppedDay();
const rebuilding = await droppedDay();

describe("retention racing the ledger's late calls and roll-ups", () => {
  it("the horizon stops at a late call a batch was recording when retention looked", async () => {
    const { sql, clock, fixture, call, calls } = racing;
    const recorded = signal();
    const commit = signal();
    // A batch records a late call of D (it waits in the default partition) and holds its commit.
    const batch = clock.at("2027-04-08T03:59:00Z", async (tx) => {
      await settleUsage(tx, [call(`${D}T15:00:00.000Z`)]);
      recorded.fire();
      await commit.promise;
    });
    await recorded.promise;
    const run = fixture.runAt("2027-04-08T04:00:00Z");
    await untilLockWaited(sql);
    commit.fire();
    await batch;
    await run;
    const [horizon] = await sql<{ day: string }[]>`
      select to_char(kept_from at time zone 'utc', 'YYYY-MM-DD') as day from usage_claims_horizon`;
    expect(horizon!.day <= D).toBe(true);
    // D is not final: it differs from its roll-ups, is found stale, and reads both calls until and after its rebuild.
    expect(await clock.at("2027-04-08T05:00:00Z", (db) => staleSettledDays(db, { limit: 50 }))).toContain(D);
    expect(await calls()).toBe(2);
    await rollUpAgain(sql, { day: D });
    expect(await calls()).toBe(2);
  });

  it("a day's roll-up rebuilt while retention deletes its kept sums still holds them", async () => {
    const { sql, fixture, calls } = rebuilding;
    // The rebuild is held between its delete and its insert: its delete's trigger waits for D's platform totals.
    const held = signal();
    const release = signal();
    const holder = sql.begin(async (tx) => {
      await tx`select 1 from usage_rollup_days where day = ${D}::date for update`;
      held.fire();
      await release.promise;
    });
    await held.promise;
    const rebuild = rollUpAgain(sql, { day: D });
    await untilLockWaited(sql);
    // Meanwhile retention passes D with the horizon and deletes its kept sums.
    await fixture.runAt("2027-04-08T04:00:00Z");
    const [kept] = await sql<{ n: number }[]>`
      select count(*)::int as n from retention_trimmed_usage where day = ${D}::date`;
    expect(kept!.n).toBe(0);
    release.fire();
    await holder;
    expect((await rebuild).calls).toBe(1);
    expect(await calls()).toBe(1);
  });
});
