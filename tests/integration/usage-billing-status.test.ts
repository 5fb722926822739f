// A new usage row stores its outcome and no billing status (docs/adr/0043): a call's billing status is always its
// outcome's (success 'exact', cut 'estimated', failure 'waived'), read through billing_status(status). What anyone
// reads is unchanged: the request log, a call's detail, the hourly roll-ups (an upgrade moves the call from
// 'estimated' to 'exact' there too), an account's daily spend, and a row written before that stored its status.
import { describe, expect, it } from "vitest";
import { listRequests, requestDetail } from "@/lib/analytics/requests";
import { requestLogQuery } from "@/lib/analytics/schemas";
import { dailySpend } from "@/lib/billing/accounts";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import { ADMIN_ACTOR, event, fundedCustomer, seedPricedModel } from "../helpers/billing";
import { callIdAt } from "../helpers/call-ids";
import { createTestDatabase } from "../helpers/db";
import { adminLogAround } from "../helpers/request-log";
import { settleDayNow } from "../helpers/retention";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
await seedPricedModel(sql);

describe("a call's billing status is its outcome's", () => {
  it("reads as before in the request log, a call's detail and the hourly roll-ups, an upgrade included", async () => {
    const c = await fundedCustomer(sql, adminId, "status@example.com");
    // An hour of its own, two days back: nothing else rolls up into it.
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 48 * 3_600_000;
    const at = (ms: number) => ({
      startedAt: new Date(ms).toISOString(),
      endedAt: new Date(ms).toISOString(),
    });
    const [served, cut, failed] = [callIdAt(hour + 1_000), callIdAt(hour + 2_000), callIdAt(hour + 3_000)];
    await settleUsage(sql, [
      event(c.keyId, served, at(hour + 1_000)),
      event(c.keyId, cut, { ...at(hour + 2_000), status: "cut" }),
      event(c.keyId, failed, {
        ...at(hour + 3_000),
        status: "failure",
        promptTokens: 0,
        completionTokens: 0,
        errorClass: "Timeout",
      }),
    ]);
    const admin = ADMIN_ACTOR(adminId);
    const log = async () =>
      Object.fromEntries(
        (
          await listRequests(
            sql,
            admin,
            requestLogQuery.parse({
              from: new Date(hour).toISOString(),
              to: new Date(hour + 3_600_000).toISOString(),
              keyId: c.keyId,
              limit: 10,
            }),
          )
        ).items.map((r) => [r.callId, [r.status, r.billingStatus, r.revenueMicros, r.id]]),
      );
    const before = await log();
    expect(Object.fromEntries(Object.entries(before).map(([k, v]) => [k, v.slice(0, 2)]))).toEqual({
      [served]: ["success", "exact"],
      [cut]: ["cut", "estimated"],
      [failed]: ["failure", "waived"],
    });
    const hourly = () => sql<{ status: string; billing_status: string; calls: bigint }[]>`
      select status, billing_status, sum(calls)::bigint as calls from usage_hourly
      where hour = ${new Date(hour)} and model_group = 'fake-small' and calls <> 0
      group by 1, 2 order by 1, 2`;
    expect(await hourly()).toEqual([
      { status: "cut", billing_status: "estimated", calls: 1n },
      { status: "failure", billing_status: "waived", calls: 1n },
      { status: "success", billing_status: "exact", calls: 1n },
    ]);

    // The cut call's success upgrades its row: 'exact' in the log, its detail and the roll-up.
    expect(
      (await settleUsage(sql, [event(c.keyId, cut, { ...at(hour + 2_000), completionTokens: 80 })])).upgraded,
    ).toBe(1);
    const after = await log();
    expect(after[cut]!.slice(0, 2)).toEqual(["success", "exact"]);
    expect(after[cut]![2]).toBeGreaterThan(before[cut]![2] as bigint);
    const detail = await requestDetail(
      sql,
      admin,
      String(after[cut]![3]),
      new Date(hour).toISOString().slice(0, 10),
    );
    expect([detail.status, detail.billingStatus]).toEqual(["success", "exact"]);
    expect(await hourly()).toEqual([
      { status: "failure", billing_status: "waived", calls: 1n },
      { status: "success", billing_status: "exact", calls: 2n },
    ]);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("an account's daily spend reads an unsettled day from its calls (the cut ones as estimated), a settled one from its roll-ups", async () => {
    const c = await fundedCustomer(sql, adminId, "daily@example.com");
    const hourAgo = Date.now() - 3_600_000;
    const twoDaysAgo = Date.now() - 2 * 86_400_000;
    const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const at = (ms: number) => ({
      startedAt: new Date(ms).toISOString(),
      endedAt: new Date(ms).toISOString(),
    });
    await settleUsage(sql, [
      event(c.keyId, callIdAt(hourAgo), at(hourAgo)),
      event(c.keyId, callIdAt(hourAgo + 1), { ...at(hourAgo + 1), status: "cut" }),
      event(c.keyId, callIdAt(twoDaysAgo), { ...at(twoDaysAgo), status: "cut" }),
    ]);
    const admin = ADMIN_ACTOR(adminId);
    const byDay = async () =>
      Object.fromEntries(
        (await dailySpend(sql, admin, c.accountId, 5)).map((d) => [
          d.day,
          [d.calls, d.revenueMicros, d.estimatedMicros],
        ]),
      );
    // 100 prompt + 50 completion tokens at the test price: 125 micro-USD a call.
    const before = await byDay();
    expect(before[dayOf(hourAgo)]).toEqual([2, 250n, 125n]);
    expect(before[dayOf(twoDaysAgo)]).toEqual([1, 125n, 125n]);
    // The older day settled (its roll-ups written), then its rows changed by hand behind every roll-up's back (no
    // trigger: its roll-ups still agree with each other, so the day is whole): the chart reads the roll-ups.
    const day = dayOf(twoDaysAgo);
    await settleDayNow(sql, day);
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update usage_events set revenue_micros = 0 where key_id = ${c.keyId} and status = 'cut'
               and started_at < now() - interval '1 day'`;
    });
    const after = await byDay();
    expect(after[day]).toEqual([1, 125n, 125n]);
    expect(after[dayOf(hourAgo)]).toEqual([2, 250n, 125n]);
  });

  it("a new row stores no billing status, in every partition, and reads like a row written before that stored one", async () => {
    await sql`select ensure_usage_partitions(current_date + 5, current_date + 5)`;
    const notNull = await sql<{ relname: string }[]>`
      select c.relname::text from pg_attribute a join pg_class c on c.oid = a.attrelid
      where a.attname = 'billing_status' and not a.attisdropped and a.attnotnull
        and (c.oid = 'usage_events'::regclass
             or c.oid in (select inhrelid from pg_inherits where inhparent = 'usage_events'::regclass))`;
    expect(notNull).toEqual([]);

    const c = await fundedCustomer(sql, adminId, "stored@example.com");
    const now = Date.now() - 60_000;
    const [lean, old] = [callIdAt(now), callIdAt(now + 1)];
    const at = { startedAt: new Date(now).toISOString(), endedAt: new Date(now).toISOString() };
    await settleUsage(sql, [
      event(c.keyId, lean, { ...at, status: "cut" }),
      event(c.keyId, old, { ...at, status: "cut" }),
    ]);
    const stored = () => sql<{ call_id: string; billing_status: string | null; size: number }[]>`
      select call_id, billing_status, pg_column_size(e.*) as size from usage_events e
      where key_id = ${c.keyId} order by call_id`;
    const rows = await stored();
    expect(rows.map((r) => r.billing_status)).toEqual([null, null]);
    // The second as a row written before the change: its billing status stored ('estimated', 10 bytes and their alignment).
    await sql`update usage_events set billing_status = 'estimated' where call_id = ${old}`;
    const after = await stored();
    expect(
      after.find((r) => r.call_id === old)!.size - rows.find((r) => r.call_id === old)!.size,
    ).toBeGreaterThanOrEqual(10);
    const log = await adminLogAround(sql, adminId, now, { keyId: c.keyId, limit: 10 });
    expect(log.items.map((r) => [r.callId === lean ? "new" : "old", r.billingStatus]).sort()).toEqual([
      ["new", "estimated"],
      ["old", "estimated"],
    ]);
  });
});
