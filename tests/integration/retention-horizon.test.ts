// The claims horizon against late calls (retention, docs/adr/0022; found by an outside review): a dropped day's sums
// stay while any detail of that day is here (a late call in usage_events_default), so settling it again keeps its
// roll-ups whole; and a call's claim outlives the horizon by a day, so the later event of a call that crossed midnight
// is not charged again when replayed. Simulated days in 2027: nothing depends on today's date.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { settleUsage } from "@/lib/billing/settle";
import { verifyDay } from "@/lib/retention/run";
import { ensureUsagePartitions } from "@/lib/usage/partitions";
import { event } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { retentionFixture } from "../helpers/retention";

const { sql } = await createTestDatabase();
const clock = simulatedClock(sql, "2027-01-01T00:00:00Z");
// Holds placed at simulated moments are stale for settlement whatever the real clock says.
const GRACE = -400 * 24 * 60;
const fixture = retentionFixture(sql, clock);
const { partitionFor, customer, runAt } = fixture;
const settleDay = (day: string) => fixture.settleDay(day, { graceMinutes: GRACE });

beforeAll(async () => {
  await fixture.setUp();
});

const acct = async (id: string) =>
  (
    await sql<{ balance: bigint; held: bigint }[]>`
      select balance_micros as balance, held_micros as held from accounts where id = ${id}`
  )[0]!;
const rollups = (day: string, accountId: string) => sql`
  select key_id, model_group, billing_status, requests, tokens_in, tokens_out, cost_micros, revenue_micros
  from usage_rollups where day = ${day} and account_id = ${accountId} order by 1, 2, 3`;

describe("the claims horizon and late events", () => {
  it("a late call of a dropped day, waiting in usage_events_default, keeps the day's sums: settled again, its roll-ups gain the call", async () => {
    const day = "2027-01-05";
    await partitionFor(day);
    const c = await customer();
    const at = `${day}T13:00:00.000Z`;
    await clock.at(at, (tx) =>
      settleUsage(
        tx,
        Array.from({ length: 3 }, (_, i) =>
          event(c.keyId, `${day}-${i}-${randomUUID()}`, { startedAt: at, endedAt: at }),
        ),
      ),
    );
    await settleDay(day);
    const settled = await rollups(day, c.accountId);
    // The day leaves (detail 7 days), its sums kept.
    const first = await runAt("2027-01-13T04:00:00Z");
    expect(first.refused.filter((r) => r.day === day)).toEqual([]);
    // A late call of that day arrives (claims still kept) and lands in usage_events_default (no partition for it).
    const late = event(c.keyId, `late-${randomUUID()}`, {
      startedAt: `${day}T22:00:00.000Z`,
      endedAt: `${day}T22:00:01.000Z`,
    });
    const r = await clock.at("2027-01-19T23:00:00Z", (tx) => settleUsage(tx, [late]));
    expect(r).toMatchObject({ inserted: 1, expired: 0 });
    const [inDefault] = await sql<{ n: number }[]>`
      select count(*)::int as n from usage_events_default where call_id = ${late.callId}`;
    expect(inDefault!.n).toBe(1);
    // Retention runs before the partition job moved it: the day's sums stay while detail of it is here.
    await runAt("2027-01-20T04:00:00Z");
    const [_h] = await sql<{ kept_from: Date }[]>`select kept_from from usage_claims_horizon`;
    const [_sums] = await sql<{ n: number }[]>`
      select count(*)::int as n from retention_trimmed_usage where day = ${day} and account_id = ${c.accountId}`;
    // The partition job moves the late call into the day's partition, made again.
    await clock.at("2027-01-20T04:01:00Z", (tx) => ensureUsagePartitions(tx));
    // Until settled again the day's roll-ups miss the late call: it is refused, not dropped.
    expect((await verifyDay(sql, day)).ok).toBe(false);
    // The operator re-settles the day (the refused-days alert): its roll-ups are rebuilt from the late call alone.
    await settleDay(day);
    const after = await rollups(day, c.accountId);
    expect((await verifyDay(sql, day)).ok).toBe(true);
    const requests = (rows: typeof settled) => rows.reduce((n, x) => n + Number(x.requests), 0);
    expect(requests(after)).toBe(requests(settled) + 1);
  });

  it("a call across midnight: its claim (the failure's start) outlives the horizon by a day, so its success replayed after is not charged again", async () => {
    const c = await customer();
    const d0 = "2027-02-01";
    const d1 = "2027-02-02";
    await partitionFor(d0);
    await partitionFor(d1);
    const callId = `midnight-${randomUUID()}`;
    // The gateway's failure report (pre-call start, before midnight), then the retry's success (LiteLLM's start).
    const failure = event(c.keyId, callId, {
      status: "failure",
      errorClass: "Timeout",
      promptTokens: 0,
      completionTokens: 0,
      startedAt: `${d0}T23:59:59.000Z`,
      endedAt: `${d1}T00:00:00.500Z`,
    });
    const success = event(c.keyId, callId, {
      startedAt: `${d1}T00:00:01.000Z`,
      endedAt: `${d1}T00:00:03.000Z`,
    });
    await clock.at(`${d1}T00:00:04Z`, (tx) => settleUsage(tx, [failure]));
    const up = await clock.at(`${d1}T00:00:05Z`, (tx) => settleUsage(tx, [success]));
    expect(up.upgraded).toBe(1);
    const _charged = (await acct(c.accountId)).balance;
    await settleDay(d0);
    await settleDay(d1);
    // Both days leave with the detail (7 days); 14 days after d1 the horizon stands at d1's midnight and the
    // claim (started d0 23:59:59, its row dropped with d0) stays a day longer.
    await runAt("2027-02-10T04:00:00Z");
    const _s = await runAt("2027-02-16T04:00:00Z");
    const [_h] = await sql<{ kept_from: Date }[]>`select kept_from from usage_claims_horizon`;
    const [_claim] = await sql<
      { n: number }[]
    >`select count(*)::int as n from usage_calls where call_key = call_key(${callId})`;
    // The outbox replays the success (same event, same started_at).
    const replay = await clock.at("2027-02-16T09:00:00Z", (tx) => settleUsage(tx, [success]));
    expect(replay.chargedMicros).toBe(0n);
  });
});
