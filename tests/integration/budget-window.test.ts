// Budgets count a charge in the UTC day and month its call started in (billing contract, clause 26): holds
// placed at 23:59:59.9 and settled after midnight (and after a month's end), with the clock set in SQL.
import { beforeAll, describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { type Db, inTransaction } from "@/lib/db/client";
import { accountOf, event, insertKey, PRICE, topUp } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { priceTokens } from "../helpers/price";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
// Every moment below is on this clock, and so is the price they are charged at (in force from a day before).
const clock = simulatedClock(sql, "2026-11-24T00:00:00Z");
const at = clock.at;
let adminId: string;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  await clock.seedPricedModel();
});

async function counters(accountId: string, keyId: string) {
  const [row] = await sql<
    {
      a_day: string;
      a_day_used: bigint;
      a_month: string;
      a_month_used: bigint;
      k_day: string;
      k_day_used: bigint;
      k_month_used: bigint;
    }[]
  >`
    select to_char(a.budget_day, 'YYYY-MM-DD') as a_day, a.day_used_micros as a_day_used,
           to_char(a.budget_month, 'YYYY-MM-DD') as a_month, a.month_used_micros as a_month_used,
           to_char(k.budget_day, 'YYYY-MM-DD') as k_day, k.day_used_micros as k_day_used,
           k.month_used_micros as k_month_used
    from accounts a, api_keys k where a.id = ${accountId} and k.id = ${keyId}`;
  return row!;
}

async function customer(email: string, { dailyBudgetMicros }: { dailyBudgetMicros?: bigint } = {}) {
  const userId = await insertUser(sql, { email });
  const keyId = await insertKey(sql, userId);
  const account = await accountOf(sql, userId);
  await topUp(sql, adminId, account.id, 10_000_000n);
  if (dailyBudgetMicros !== undefined)
    await sql`update accounts set daily_budget_micros = ${dailyBudgetMicros} where id = ${account.id}`;
  return { keyId, accountId: account.id };
}

const hold = (db: Db, keyId: string, callId: string, maxOutputTokens = 1000) =>
  placeHold(db, {
    keyId,
    callId,
    nonce: `n-${callId}`,
    model: "fake-small",
    promptTokens: 100,
    maxOutputTokens,
  });

describe("a hold placed before midnight and settled after it", () => {
  it("counts its charge in the day it started and leaves the new day's counter exact", async () => {
    const c = await customer("midnight@example.com");
    const x = await at("2026-11-24T23:59:59.900Z", (db) => hold(db, c.keyId, "late-call"));
    expect(await counters(c.accountId, c.keyId)).toMatchObject({
      a_day: "2026-11-24",
      a_day_used: x.amountMicros,
      k_day_used: x.amountMicros,
    });
    // After midnight a new call rolls the counters to the new day…
    const y = await at("2026-11-25T00:00:00.500Z", (db) => hold(db, c.keyId, "early-call"));
    expect(await counters(c.accountId, c.keyId)).toMatchObject({
      a_day: "2026-11-25",
      a_day_used: y.amountMicros,
      k_day: "2026-11-25",
      k_day_used: y.amountMicros,
      a_month_used: x.amountMicros + y.amountMicros,
    });
    // …and the late call's usage arrives: it belongs to the 24th, so the 25th's counters do not move.
    const late = event(c.keyId, "late-call", {
      promptTokens: 100,
      completionTokens: 40,
      startedAt: "2026-11-24T23:59:59.900Z",
    });
    await at("2026-11-25T00:00:01.000Z", (db) => settleUsage(db, [late]));
    const charge = priceTokens({ input: 100, output: 40 }, PRICE);
    expect(await counters(c.accountId, c.keyId)).toMatchObject({
      a_day: "2026-11-25",
      a_day_used: y.amountMicros,
      k_day_used: y.amountMicros,
      // The month holds both calls: the late one at its charge, the open one at its hold.
      a_month_used: charge + y.amountMicros,
      k_month_used: charge + y.amountMicros,
    });
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });

  it("cannot overshoot a daily budget by the holds that straddle midnight", async () => {
    const probe = await at("2026-11-24T12:00:00Z", async (db) => {
      const c = await customer("probe@example.com");
      return hold(db, c.keyId, "probe");
    });
    const perHold = probe.amountMicros;
    // A budget for exactly two holds a day.
    const c = await customer("budget@example.com", { dailyBudgetMicros: 2n * perHold });
    await at("2026-11-24T23:59:59.900Z", async (db) => {
      await hold(db, c.keyId, "d1-a");
      await hold(db, c.keyId, "d1-b");
    });
    await at("2026-11-25T00:00:00.100Z", async (db) => {
      await hold(db, c.keyId, "d2-a");
      await hold(db, c.keyId, "d2-b");
    });
    // Yesterday's two calls settle (cheaper than their holds) after midnight.
    await at("2026-11-25T00:00:02Z", (db) =>
      settleUsage(db, [
        event(c.keyId, "d1-a", { completionTokens: 10, startedAt: "2026-11-24T23:59:59.900Z" }),
        event(c.keyId, "d1-b", { completionTokens: 10, startedAt: "2026-11-24T23:59:59.900Z" }),
      ]),
    );
    // Today already holds two calls' worth: a third is refused (before the fix yesterday's releases made room).
    const third = await at("2026-11-25T00:00:03Z", (db) =>
      inTransaction(db, (sp) => hold(sp, c.keyId, "d2-c")).catch((e) => e),
    );
    expect(third).toMatchObject({ code: "budget_exceeded" });
    expect((await counters(c.accountId, c.keyId)).a_day_used).toBe(2n * perHold);
  });
});

describe("one batch with calls of two days on one key", () => {
  it("moves each day's counters by its own calls: yesterday's leave today's alone, today's count today", async () => {
    const c = await customer("two-days@example.com");
    const x = await at("2026-11-26T23:59:59.900Z", (db) => hold(db, c.keyId, "before-midnight"));
    const y = await at("2026-11-27T00:00:00.500Z", (db) => hold(db, c.keyId, "after-midnight"));
    // Both calls settle in one batch: settle_usage sums a key's deltas per UTC day before it moves the counters.
    await at("2026-11-27T00:00:01Z", (db) =>
      settleUsage(db, [
        event(c.keyId, "before-midnight", { completionTokens: 30, startedAt: "2026-11-26T23:59:59.900Z" }),
        event(c.keyId, "after-midnight", { completionTokens: 60, startedAt: "2026-11-27T00:00:00.500Z" }),
      ]),
    );
    const before = priceTokens({ input: 100, output: 30 }, PRICE);
    const after = priceTokens({ input: 100, output: 60 }, PRICE);
    expect(before).not.toBe(x.amountMicros);
    expect(after).not.toBe(y.amountMicros);
    expect(await counters(c.accountId, c.keyId)).toMatchObject({
      a_day: "2026-11-27",
      a_day_used: after,
      k_day: "2026-11-27",
      k_day_used: after,
      a_month_used: before + after,
      k_month_used: before + after,
    });
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });
});

describe("a hold placed before a month's end and settled after it", () => {
  it("counts in the month it started: the new month's counters stay exact", async () => {
    const c = await customer("monthend@example.com");
    await at("2026-11-30T23:59:59.900Z", (db) => hold(db, c.keyId, "november"));
    const y = await at("2026-12-01T00:00:00.500Z", (db) => hold(db, c.keyId, "december"));
    expect(await counters(c.accountId, c.keyId)).toMatchObject({
      a_month: "2026-12-01",
      a_month_used: y.amountMicros,
    });
    await at("2026-12-01T00:00:01Z", (db) =>
      settleUsage(db, [event(c.keyId, "november", { startedAt: "2026-11-30T23:59:59.900Z" })]),
    );
    expect(await counters(c.accountId, c.keyId)).toMatchObject({
      a_day: "2026-12-01",
      a_day_used: y.amountMicros,
      a_month: "2026-12-01",
      a_month_used: y.amountMicros,
      k_month_used: y.amountMicros,
    });
    // December's own call settles into December's counters, charge for hold.
    await at("2026-12-01T00:00:02Z", (db) =>
      settleUsage(db, [
        event(c.keyId, "december", { completionTokens: 20, startedAt: "2026-12-01T00:00:00.500Z" }),
      ]),
    );
    const december = priceTokens({ input: 100, output: 20 }, PRICE);
    expect(await counters(c.accountId, c.keyId)).toMatchObject({
      a_day_used: december,
      a_month_used: december,
      k_day_used: december,
      k_month_used: december,
    });
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });
});
