// A call recorded after its day was settled (a gateway's late delivery) or an upgrade of one of its calls leaves the
// day's roll-ups (usage_rollups, the settlement's) behind its detail: the analytics and account pages read settled days
// from them, and retention refuses a day whose detail differs from them. The daily cron finds such days among the
// recent ones (staleSettledDays: usage_hourly, kept with every insert and update, against usage_rollups) and settles
// their roll-ups rebuilt (a queue job): no money, hold or variance moves, and no settlement run is started again.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type DailySpend, dailySpend, usageByModel } from "@/lib/billing/accounts";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { drain } from "@/lib/settlement/drain";
import { STALE_DAYS_WINDOW, staleSettledDays, startSettlement } from "@/lib/settlement/run";
import { accountOf, event, fundedCustomer, seedPricedModel } from "../helpers/billing";
import { callIdAt } from "../helpers/call-ids";
import { clearOfMidnight } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const CRON = { authorization: `Bearer ${process.env.CRON_SECRET}` };
const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
const admin = { userId: adminId, kind: "user" as const, role: "admin" as const };
// Priced from well before the oldest day these tests settle.
await seedPricedModel(sql, "fake-small", undefined, undefined, {
  effectiveFrom: new Date(Date.now() - 60 * 86_400_000),
});

const DAY_MS = 86_400_000;
/** The UTC day `n` days before today (the route and the settlement read the real clock). */
const daysAgo = (n: number) => new Date(Date.now() - n * DAY_MS).toISOString().slice(0, 10);
const noonOf = (day: string) => Date.parse(`${day}T12:00:00Z`);

/** A call of the key at `ms`, settled as the gateway's webhook does. */
const callAt = (keyId: string, ms: number, overrides = {}) =>
  settleUsage(sql, [
    event(keyId, callIdAt(ms), {
      startedAt: new Date(ms).toISOString(),
      endedAt: new Date(ms).toISOString(),
      ...overrides,
    }),
  ]);

const drained = () =>
  drain(sql, { budgetMs: 20_000, policy: "release", graceMinutes: 60, replay: async () => [] });

const rollUpAgainOf = async (day: string) => (await import("@/lib/settlement/run")).rollUpAgain(sql, { day });

async function rolledUp(day: string) {
  const [row] = await sql<{ calls: number; revenue: bigint }[]>`
    select coalesce(sum(requests), 0)::int as calls, coalesce(sum(revenue_micros), 0)::bigint as revenue
    from usage_rollups where day = ${day}`;
  return row!;
}

describe("a settled day a late call left behind", () => {
  it("is found, its roll-ups rebuilt through the daily cron, and then agrees with its calls; nothing else moves", async () => {
    // The route reads its own clock: no UTC midnight between the days computed here and its.
    await clearOfMidnight(sql, 20);
    const c = await fundedCustomer(sql, adminId, `${randomUUID()}@example.com`);
    const day = daysAgo(3);
    await callAt(c.keyId, noonOf(day));
    await startSettlement(sql, admin, { day, trigger: "manual", chunkAccounts: 100 });
    await drained();
    expect(await rolledUp(day)).toEqual({ calls: 1, revenue: 125n });
    expect(await staleSettledDays(sql)).toEqual([]);

    // A late delivery of the same day.
    await callAt(c.keyId, noonOf(day) + 1_000);
    expect(await staleSettledDays(sql)).toEqual([day]);
    // Until the day is rolled up again, the account's daily spend (its own, an admin's of it and the platform's)
    // reads that day from its detail: both calls, not the settlement's one.
    const owner = { userId: c.userId, kind: "user" as const, role: "developer" as const };
    const dayOf = (rows: DailySpend[]) => rows.find((r) => r.day === day);
    for (const [actor, accountId] of [
      [owner, c.accountId],
      [admin, c.accountId],
      [admin, null],
    ] as const) {
      expect(dayOf(await dailySpend(sql, actor, accountId, 5)), `${actor.role} ${accountId}`).toMatchObject({
        calls: 2,
        revenueMicros: 250n,
      });
    }
    expect(await usageByModel(sql, admin, 5)).toEqual([
      expect.objectContaining({ model: "fake-small", calls: 2, revenueMicros: 250n }),
    ]);
    const balance = async () => (await accountOf(sql, c.userId)).balance_micros;
    const before = await balance();

    const runsOf = async () =>
      (await sql<{ n: number }[]>`select count(*)::int as n from settlement_runs where day = ${day}`)[0]!.n;
    const variancesOf = () =>
      sql`select v.kind, v.amount_micros from settlement_variances v join settlement_runs r on r.id = v.run_id
          where r.day = ${day} order by 1, 2`;
    const variances = await variancesOf();

    // The daily cron (no ?day=): yesterday's settlement, and this day's roll-ups queued (once, however often asked).
    const settleRoute = (await import("@/app/api/cron/settle/route")).GET;
    const res = await call(settleRoute, { headers: CRON, path: "/api/cron/settle" });
    expect(res.status).toBe(201);
    expect(res.body.rolledUpAgain).toEqual([day]);
    expect((await call(settleRoute, { headers: CRON, path: "/api/cron/settle" })).body.rolledUpAgain).toEqual(
      [day],
    );
    const [queued] = await sql<{ n: number }[]>`
      select count(*)::int as n from queue_jobs where name = 'settlement.roll_up_again' and payload->>'day' = ${day}`;
    expect(queued!.n).toBe(1);
    await drained();
    expect(await rolledUp(day)).toEqual({ calls: 2, revenue: 250n });
    expect(await staleSettledDays(sql)).toEqual([]);
    expect(dayOf(await dailySpend(sql, owner, c.accountId, 5))).toMatchObject({
      calls: 2,
      revenueMicros: 250n,
    });
    expect(await balance()).toBe(before);
    // One settlement run of the day, its variances as they were: the day's report is not made twice.
    expect(await runsOf()).toBe(1);
    expect(await variancesOf()).toEqual(variances);
    expect(await checkLedgerInvariants(sql)).toEqual([]);

    // `?day=` settles that day only.
    await callAt(c.keyId, noonOf(day) + 2_000);
    const one = await call(settleRoute, { headers: CRON, path: `/api/cron/settle?day=${daysAgo(1)}` });
    expect(one.body.rolledUpAgain).toEqual([]);
    expect(await staleSettledDays(sql)).toEqual([day]);
  });

  it("looks only at recent days, each whole in the hourly roll-ups, and at most a few a day", async () => {
    const c = await fundedCustomer(sql, adminId, `${randomUUID()}@example.com`);
    const old = daysAgo(STALE_DAYS_WINDOW + 2);
    const recent = [daysAgo(6), daysAgo(7), daysAgo(8), daysAgo(9)];
    for (const day of [old, ...recent]) {
      await callAt(c.keyId, noonOf(day));
      await startSettlement(sql, admin, { day, trigger: "manual", chunkAccounts: 100 });
    }
    await drained();
    for (const day of [old, ...recent]) await callAt(c.keyId, noonOf(day) + 1_000);
    const stale = await staleSettledDays(sql, { limit: 10 });
    expect(stale).not.toContain(old);
    expect(stale).toEqual(expect.arrayContaining(recent));
    // The least recently rolled up first, three by default; once rebuilt, a day agrees with its calls and leaves.
    expect(await staleSettledDays(sql)).toEqual(stale.slice(0, 3));
    const { rollUpAgain } = await import("@/lib/settlement/run");
    await rollUpAgain(sql, { day: stale[0]! });
    expect(await staleSettledDays(sql, { limit: 10 })).toEqual(stale.slice(1));
  });
  it("a settled day is read from its roll-ups, also once retention trimmed its detail and the roll-ups kept with each call", async () => {
    const c = await fundedCustomer(sql, adminId, `${randomUUID()}@example.com`);
    const day = daysAgo(12);
    await callAt(c.keyId, noonOf(day));
    await callAt(c.keyId, noonOf(day) + 1_000, { status: "cut" });
    await startSettlement(sql, admin, { day, trigger: "manual", chunkAccounts: 100 });
    await drained();
    const spend = async () => ({
      own: (await dailySpend(sql, admin, c.accountId, 14)).find((d) => d.day === day),
      platform: (await dailySpend(sql, admin, null, 14)).find((d) => d.day === day),
      byModel: (await usageByModel(sql, admin, 14)).find((m) => m.model === "fake-small"),
    });
    const read = await spend();
    expect(read.own).toMatchObject({ calls: 2, revenueMicros: 250n, estimatedMicros: 125n });
    // Its detail changed behind every roll-up's back (no trigger runs): the settled day is read from its roll-ups
    // (an account's from usage_rollups, the platform's from usage_hourly), not its detail.
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update usage_events set revenue_micros = 0 where key_id = ${c.keyId}`;
    });
    expect(await spend()).toEqual(read);
    // Retention past the hourly cutoff (it trims usage_hourly from its oldest hour): the detail, the hourly and the
    // per-day owner roll-ups of the day are gone, usage_rollups stays, and is what every chart reads; the day is not
    // stale.
    await sql`delete from usage_events where key_id = ${c.keyId}`;
    await sql`delete from usage_hourly where hour < ${day}::date + 1`;
    await sql`delete from usage_owner_days where day = ${day}`;
    expect(await spend()).toEqual(read);
    expect(await staleSettledDays(sql, { limit: 30 })).not.toContain(day);
  });
  it("a late call on a day retention already trimmed counts with the day's trimmed sums, not alone", async () => {
    const c = await fundedCustomer(sql, adminId, `${randomUUID()}@example.com`);
    const day = daysAgo(10);
    await callAt(c.keyId, noonOf(day));
    await callAt(c.keyId, noonOf(day) + 1_000);
    await startSettlement(sql, admin, { day, trigger: "manual", chunkAccounts: 100 });
    await drained();
    // The day's detail leaves as retention's partition drop does: its sums kept in retention_trimmed_usage.
    await sql`
      insert into retention_trimmed_usage (day, hour, account_id, key_id, model_group, kind, status, billing_status,
                                           calls, errors, tokens_in, tokens_out, cost_micros, revenue_micros)
      select ${day}::date, date_trunc('hour', started_at at time zone 'utc'), account_id, key_id, model_group, kind,
             status, billing_status(status), count(*), count(*) filter (where error_class is not null),
             sum(prompt_tokens), sum(completion_tokens), sum(cost_micros), sum(revenue_micros)
      from usage_events where key_id = ${c.keyId} group by 2, 3, 4, 5, 6, 7`;
    await sql`delete from usage_events where key_id = ${c.keyId}`;
    // A late delivery of the day: the day is read from its detail, the trimmed sums with it.
    await callAt(c.keyId, noonOf(day) + 2_000);
    expect((await dailySpend(sql, admin, c.accountId, 14)).find((d) => d.day === day)).toMatchObject({
      calls: 3,
      revenueMicros: 375n,
    });
    expect((await dailySpend(sql, admin, null, 14)).find((d) => d.day === day)).toMatchObject({
      calls: 3,
      revenueMicros: 375n,
    });
    // Every call of this file is fake-small's: the platform's usage by model adds up to its daily spend, day by day.
    const daily = await dailySpend(sql, admin, null, 14);
    expect(await usageByModel(sql, admin, 14)).toEqual([
      expect.objectContaining({
        model: "fake-small",
        calls: daily.reduce((n, d) => n + d.calls, 0),
        revenueMicros: daily.reduce((n, d) => n + d.revenueMicros, 0n),
      }),
    ]);
    await rollUpAgainOf(day);
    expect(await rolledUp(day)).toMatchObject({ calls: 3, revenue: 375n });
  });

  it("a cut call upgraded to a success at the same charge makes its day stale (billing status), and the platform reads it exact", async () => {
    const c = await fundedCustomer(sql, adminId, `${randomUUID()}@example.com`);
    const day = daysAgo(4);
    const callId = callIdAt(noonOf(day));
    const at = {
      startedAt: new Date(noonOf(day)).toISOString(),
      endedAt: new Date(noonOf(day)).toISOString(),
    };
    await settleUsage(sql, [event(c.keyId, callId, { ...at, status: "cut" })]);
    await startSettlement(sql, admin, { day, trigger: "manual", chunkAccounts: 100 });
    await drained();
    expect(await staleSettledDays(sql, { limit: 30 })).not.toContain(day);
    const upgraded = await settleUsage(sql, [event(c.keyId, callId, { ...at, status: "success" })]);
    expect(upgraded.upgraded).toBe(1);
    expect(await staleSettledDays(sql, { limit: 30 })).toContain(day);
    const platform = (await dailySpend(sql, admin, null, 7)).find((d) => d.day === day)!;
    expect(platform.estimatedMicros).toBe(0n);
    // The account's check (its keys' per-day roll-ups) holds no billing status: its chart reads the settled roll-ups
    // until the cron rebuilds them (docs/adr/0045).
    await rollUpAgainOf(day);
    expect((await dailySpend(sql, admin, c.accountId, 7)).find((d) => d.day === day)).toMatchObject({
      calls: 1,
      revenueMicros: 125n,
      estimatedMicros: 0n,
    });
    expect(await staleSettledDays(sql, { limit: 30 })).not.toContain(day);
  });
});
