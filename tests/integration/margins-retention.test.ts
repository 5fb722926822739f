// The admins' margins (daily spend and usage by model, every account) through real retention runs: usage_hourly is read
// as whole after its oldest kept hour, so retention never trims an hour a call can still be recorded in (the claims
// horizon where it stands, held back by a late call waiting in the default partition), and a settled day the horizon
// has passed is final: read from its roll-ups whatever a run cut short left of its hourly ones.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { dailySpend, usageByModel } from "@/lib/billing/accounts";
import { settleUsage } from "@/lib/billing/settle";
import { event } from "../helpers/billing";
import { retentionDatabase } from "../helpers/retention";

/**
 * A database of its own for each test (each one's retention runs move the claims horizon past its days), an admin, the
 * price book and the shortest policy (retentionFixture), and the margins read standing at a moment.
 */
async function platform() {
  const { sql, clock, fixture, admin } = await retentionDatabase();
  return {
    sql,
    fixture,
    /** A call (an id that names no moment: claimed in usage_calls) started at `at`, delivered at `deliveredAt`. */
    callAt: (keyId: string, at: string, deliveredAt = at) =>
      clock.at(deliveredAt, (tx) =>
        settleUsage(tx, [event(keyId, `c-${randomUUID()}`, { startedAt: at, endedAt: at })]),
      ),
    /** The margins' calls per day (the given days) and per model, standing at `moment`. */
    margins: (moment: string, days: number, of: string[]) =>
      clock.at(moment, async (db) => ({
        daily: (await dailySpend(db, admin, null, days))
          .filter((d) => of.includes(d.day))
          .map((d) => [d.day, d.calls]),
        models: (await usageByModel(db, admin, days)).map((m) => [m.model, m.calls]),
      })),
  };
}

const late = await platform();
const cut = await platform();

describe("the margins through retention", () => {
  it("a late call waiting in the default partition keeps retention from trimming the hours after it", async () => {
    // Hourly roll-ups kept no longer than the detail and its claims: the horizon, not the policy, bounds the trim.
    await late.sql`update retention_settings set usage_detail_days = 30, hourly_rollup_days = 30`;
    try {
      const c = await late.fixture.customer();
      const days = [
        "2027-03-10",
        "2027-03-11",
        "2027-03-12",
        "2027-03-13",
        "2027-03-14",
        "2027-03-15",
        "2027-03-16",
      ];
      for (const day of days) {
        await late.fixture.partitionFor(day);
        await late.callAt(c.keyId, `${day}T12:00:00.000Z`);
        await late.fixture.settleDay(day);
      }
      await late.fixture.runAt("2027-04-20T04:00:00Z");
      // A late call of the 14th, whose partition is gone: it waits in the default partition, holding the horizon
      // back at the 14th; the next run must not trim the hours after it.
      await late.callAt(c.keyId, "2027-03-14T15:00:00.000Z", "2027-04-20T05:00:00Z");
      await late.fixture.runAt("2027-04-23T04:00:00Z");
      await late.callAt(c.keyId, "2027-03-14T16:00:00.000Z", "2027-04-23T05:00:00Z");
      await late.callAt(c.keyId, "2027-03-14T16:30:00.000Z", "2027-04-23T05:00:00Z");
      const read = await late.margins("2027-04-23T06:00:00Z", 45, days);
      expect(read.daily).toEqual(days.map((d) => [d, d === "2027-03-14" ? 4 : 1]));
      expect(read.models).toEqual([["fake-small", 10]]);
    } finally {
      await late.sql`update retention_settings set usage_detail_days = 7, hourly_rollup_days = 30`;
    }
  });

  it("a run cut short leaves the oldest kept hour's day read whole from its roll-ups", async () => {
    const c = await cut.fixture.customer();
    await cut.fixture.partitionFor("2027-03-02");
    await cut.fixture.partitionFor("2027-03-03");
    await cut.callAt(c.keyId, "2027-03-02T10:00:00.000Z");
    await cut.callAt(c.keyId, "2027-03-02T14:00:00.000Z");
    await cut.callAt(c.keyId, "2027-03-03T12:00:00.000Z");
    await cut.fixture.settleDay("2027-03-02");
    await cut.fixture.settleDay("2027-03-03");
    // The partitions go, the horizon passes both days, then a run out of time trims one hourly row of the 2nd.
    await cut.fixture.runAt("2027-04-01T04:00:00Z");
    await cut.fixture.runAt("2027-04-02T04:00:00Z", { batch: 1, deadline: Date.now() - 1 });
    const [left] = await cut.sql<{ hours: number }[]>`
      select count(*)::int as hours from usage_hourly where hour >= '2027-03-02' and hour < '2027-03-03'`;
    expect(left!.hours).toBe(1);
    expect(await cut.margins("2027-04-02T05:00:00Z", 33, ["2027-03-02", "2027-03-03"])).toEqual({
      daily: [
        ["2027-03-02", 2],
        ["2027-03-03", 1],
      ],
      models: [["fake-small", 3]],
    });
  });
});
