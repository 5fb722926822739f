// The claims horizon against late calls (retention, docs/adr/0022; found by an outside review): a dropped day's sums
// stay while any detail of that day is here (a late call in usage_events_default), so settling it again keeps its
// roll-ups whole; and a call's claim outlives the horizon by a day, so the later event of a call that crossed midnight
// is not charged again when replayed. Simulated days in 2027: nothing depends on today's date.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { settleUsage } from "@/lib/billing/settle";
import type { Db } from "@/lib/db/client";
import { runRetention, verifyDay } from "@/lib/retention/run";
import { finalizeRun, runChunk } from "@/lib/settlement/run";
import { ensureUsagePartitions } from "@/lib/usage/partitions";
import { accountOf, event, insertKey, topUp } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const clock = simulatedClock(sql, "2027-01-01T00:00:00Z");
let adminId: string;
const ALL = {
  fromAccount: "00000000-0000-0000-0000-000000000000",
  toAccount: "ffffffff-ffff-ffff-ffff-ffffffffffff",
};
// Real now() is before the simulated days: a grace of minus 400 days makes every simulated hold "stale", as real
// time passing would.
const GRACE = -400 * 24 * 60;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: `admin-${randomUUID()}@example.com`, role: "admin" });
  await clock.seedPricedModel();
  await sql`update retention_settings set usage_detail_days = 7, hourly_rollup_days = 30, playground_days = 30`;
  const ahead = await sql<{ day: string }[]>`
    select to_char(from_at at time zone 'utc', 'YYYY-MM-DD') as day from usage_partitions()
    where not is_default and from_at < ${clock.start}`;
  for (const { day } of ahead) await settleDay(day);
});

async function partitionFor(day: string) {
  const name = `usage_events_p${day.replaceAll("-", "")}`;
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString();
  await sql.unsafe(
    `create table if not exists public.${name} partition of usage_events for values from ('${day}T00:00:00Z') to ('${next}')`,
  );
  return name;
}

async function customer() {
  const userId = await insertUser(sql, { email: `${randomUUID()}@example.com` });
  const account = await accountOf(sql, userId);
  await topUp(sql, adminId, account.id, 10_000_000n);
  return { userId, accountId: account.id, keyId: await insertKey(sql, userId) };
}

async function settleDay(
  day: string,
  replay: (keyId: string, callId: string) => Promise<never[] | ReturnType<typeof event>[]> = async () => [],
) {
  const [run] = await sql<{ id: string }[]>`
    insert into settlement_runs (day, trigger, jobs_total) values (${day}, 'manual', 1) returning id`;
  const counts = await runChunk(
    sql,
    { runId: run!.id, day, ...ALL },
    { replay: replay as never, policy: "release", graceMinutes: GRACE },
  );
  expect((await finalizeRun(sql, run!.id)).completed).toBe(true);
  return counts;
}

const runAt = (moment: string) => clock.at(moment, (tx: Db) => runRetention(tx, {}));
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
    >`select count(*)::int as n from usage_calls where call_id = ${callId}`;
    // The outbox replays the success (same event, same started_at).
    const replay = await clock.at("2027-02-16T09:00:00Z", (tx) => settleUsage(tx, [success]));
    expect(replay.chargedMicros).toBe(0n);
  });
});
