// The admins' margins (the usage page: daily spend and usage by model, every account) and an account's daily spend,
// standing at a simulated clock across 29 February and a month's end: the days are the clock's UTC days, never the
// machine's. For the platform, the days usage_hourly holds whole are read from it, so a call recorded after its day's
// settlement counts at once; the oldest kept hour's day (a retention run cut short may have trimmed part of it) and the
// days before it are read from their roll-ups or detail.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { usageBreakdown } from "@/lib/analytics/usage";
import { dailySpend, usageByModel } from "@/lib/billing/accounts";
import { settleUsage } from "@/lib/billing/settle";
import { rollUpAgain } from "@/lib/settlement/run";
import { event, fundedCustomer } from "../helpers/billing";
import { callIdAt } from "../helpers/call-ids";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { settleDayNow } from "../helpers/retention";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const clock = simulatedClock(sql, "2028-02-28T00:00:00Z");
await clock.seedPricedModel("fake-small");
const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
const admin = { userId: adminId, kind: "user" as const, role: "admin" as const };
const c = await fundedCustomer(sql, adminId, `${randomUUID()}@example.com`);
const REVENUE = 125n; // one default call of fake-small

/** A call of the customer's key started at `startedAt`, delivered by the gateway standing at `deliveredAt`. */
const callAt = (startedAt: string, deliveredAt: string) =>
  clock.at(deliveredAt, (tx) =>
    settleUsage(tx, [event(c.keyId, callIdAt(Date.parse(startedAt)), { startedAt, endedAt: startedAt })]),
  );

/** What the margins panel and the account's chart read, standing at `moment`. */
const readAt = (moment: string, days: number) =>
  clock.at(moment, async (db) => ({
    platform: (await dailySpend(db, admin, null, days)).map((d) => [d.day, d.calls, d.revenueMicros]),
    own: (await dailySpend(db, admin, c.accountId, days)).map((d) => [d.day, d.calls, d.revenueMicros]),
    byModel: (await usageByModel(db, admin, days)).map((m) => [m.model, m.calls, m.revenueMicros]),
  }));

/**
 * The analytics by user and by key over 29 February, filtered by model (so a settled day is read from usage_rollups,
 * not from the per-day owner roll-ups the inserts keep).
 */
const leapDayByOwner = async () => {
  const range = { from: new Date("2028-02-29T00:00:00Z"), to: new Date("2028-03-01T00:00:00Z") };
  const f = { from: "2028-02-29", to: "2028-02-29", model: "fake-small" };
  return {
    user: (await usageBreakdown(sql, admin, f, "user", range)).map((r) => [r.id, r.calls, r.revenueMicros]),
    key: (await usageBreakdown(sql, admin, f, "key", range)).map((r) => [r.id, r.calls, r.revenueMicros]),
  };
};

describe("the margins and an account's daily spend at a simulated clock", () => {
  it("count each UTC day of the clock, 29 February and the month's first second included", async () => {
    await callAt("2028-02-28T12:00:00.000Z", "2028-02-28T12:00:01Z");
    await callAt("2028-02-29T23:59:59.500Z", "2028-02-29T23:59:59.600Z");
    await callAt("2028-03-01T00:00:00.000Z", "2028-03-01T00:00:00.100Z");
    await settleDayNow(sql, "2028-02-28");
    await settleDayNow(sql, "2028-02-29");

    const march = await readAt("2028-03-01T00:00:30Z", 3);
    const days = [
      ["2028-02-28", 1, REVENUE],
      ["2028-02-29", 1, REVENUE],
      ["2028-03-01", 1, REVENUE],
    ];
    expect(march).toEqual({ platform: days, own: days, byModel: [["fake-small", 3, 3n * REVENUE]] });

    // At leap day's last instant, March's first call is in the future: not a day of the chart, counted with today's
    // in usage by model (a gateway's clock a moment ahead).
    const leap = await readAt("2028-02-29T23:59:59.900Z", 2);
    expect(leap.platform).toEqual(days.slice(0, 2));
    expect(leap.own).toEqual(days.slice(0, 2));
    expect(leap.byModel).toEqual([["fake-small", 3, 3n * REVENUE]]);
  });

  it("count a call recorded after its day was settled at once, and the day whole once retention trimmed its oldest hours", async () => {
    // A late delivery for 29 February, after its settlement: the day's roll-ups no longer hold it.
    await callAt("2028-02-29T12:00:00.000Z", "2028-03-01T00:05:00Z");
    const expected = [
      ["2028-02-28", 1, REVENUE],
      ["2028-02-29", 2, 2n * REVENUE],
      ["2028-03-01", 1, REVENUE],
    ];
    const late = await readAt("2028-03-01T00:06:00Z", 3);
    expect(late).toEqual({ platform: expected, own: expected, byModel: [["fake-small", 4, 4n * REVENUE]] });
    // The analytics by user and by key count it at once too.
    const owners = { user: [[c.userId, 2, 2n * REVENUE]], key: [[c.keyId, 2, 2n * REVENUE]] };
    expect(await leapDayByOwner()).toEqual(owners);

    // Rolled up again (the daily cron), the 29th's roll-ups hold it too.
    await rollUpAgain(sql, { day: "2028-02-29" });
    expect(await readAt("2028-03-01T00:07:00Z", 3)).toEqual(late);
    expect(await leapDayByOwner()).toEqual(owners);

    // A retention run cut short trimmed the hourly roll-ups from the oldest hour up to 29 February's noon hour: the
    // 28th is gone from them, the 29th keeps only its last hour, one call of its two. Neither day is read from them:
    // the 28th from its roll-ups, the 29th from its roll-ups or its detail, never as one call.
    await sql`delete from usage_hourly where hour < '2028-02-29 13:00'::timestamp`;
    expect(await readAt("2028-03-01T00:08:00Z", 3)).toEqual(late);
    expect(await leapDayByOwner()).toEqual(owners);
  });
});
