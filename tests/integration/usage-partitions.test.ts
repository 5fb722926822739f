// usage_events is partitioned by UTC day of started_at (docs/adr/0020): an event whose day has no partition yet is
// kept (usage_events_default) and moved out by the partition job; a call is charged once across a partition
// boundary whatever started_at its replays and upgrades carry (its claim in usage_calls), in parallel batches too;
// and the days' bounds are exact at a month's end, a year's end and 29 February 2028. Every moment is on a
// simulated clock, so nothing here depends on today's date.
import { describe, expect, it } from "vitest";
import { placeHold } from "@/lib/billing/hold";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage } from "@/lib/billing/settle";
import type { Db } from "@/lib/db/client";
import { drain } from "@/lib/settlement/drain";
import { ensureUsagePartitions, scheduleUsagePartitions } from "@/lib/usage/partitions";
import { event, fundedCustomer, PRICE } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { priceTokens } from "../helpers/price";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const clock = simulatedClock(sql, "2027-11-29T00:00:00Z");
const at = clock.at;
const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
await clock.seedPricedModel();

const customer = (email: string) => fundedCustomer(sql, adminId, email);

const hold = (db: Db, keyId: string, callId: string) =>
  placeHold(db, {
    keyId,
    callId,
    nonce: `n-${callId}`,
    model: "fake-small",
    promptTokens: 100,
    maxOutputTokens: 1000,
  });

/** The partition each of a key's calls is in, by call id. */
async function partitionsOf(keyId: string): Promise<Record<string, string>> {
  const rows = await sql<{ call_id: string; part: string }[]>`
    select call_id, tableoid::regclass::text as part from usage_events where key_id = ${keyId}`;
  return Object.fromEntries(rows.map((r) => [r.call_id, r.part]));
}

/** A partition's bounds as the catalog states them. */
async function bounds(name: string): Promise<string | null> {
  const [row] = await sql<{ bound: string }[]>`
    select pg_get_expr(c.relpartbound, c.oid) as bound from pg_class c
    where c.relname = ${name} and c.relnamespace = 'public'::regnamespace`;
  return row?.bound ?? null;
}

async function balance(accountId: string): Promise<bigint> {
  const [row] = await sql<
    { balance_micros: bigint }[]
  >`select balance_micros from accounts where id = ${accountId}`;
  return row!.balance_micros;
}

async function hourlyTotals() {
  const [row] = await sql<{ calls: string; revenue: string }[]>`
    select coalesce(sum(calls), 0)::text as calls, coalesce(sum(revenue_micros), 0)::text as revenue from usage_hourly`;
  return row!;
}

describe("usage_events' daily partitions", () => {
  it("keeps an event whose day has no partition yet, and the job moves it to its new day's partition", async () => {
    const c = await customer("no-partition@example.com");
    // Ahead of every partition the template made (a gateway's clock up to a day ahead: settle_usage charges nothing
    // later, usage-claims-horizon.test.ts) and behind (a late replay).
    const skewed = event(c.keyId, "skewed", {
      startedAt: "2027-11-30T02:00:00.000Z",
      endedAt: "2027-11-30T02:00:01.000Z",
    });
    const late = event(c.keyId, "late", {
      startedAt: "2027-11-29T08:00:00.000Z",
      endedAt: "2027-11-29T08:00:02.000Z",
    });
    const result = await at("2027-11-29T09:00:00.000Z", (db) => settleUsage(db, [skewed, late]));
    expect(result.inserted).toBe(2);
    expect(await partitionsOf(c.keyId)).toEqual({
      skewed: "usage_events_default",
      late: "usage_events_default",
    });
    const hourly = await hourlyTotals();
    const rows = () => sql`select * from usage_events where key_id = ${c.keyId} order by call_id`;
    const before = await rows();
    const upkeep = await at("2027-11-29T09:00:01.000Z", (db) => ensureUsagePartitions(db));
    expect(upkeep.rowsMoved).toBe(2);
    expect(await partitionsOf(c.keyId)).toEqual({
      skewed: "usage_events_p20271130",
      late: "usage_events_p20271129",
    });
    // Moved whole, every column in its place: a new partition orders its columns to pack a row (docs/adr/0029), and
    // its rows read through usage_events as they were; each takes fewer bytes than in usage_events' own order.
    expect(await rows()).toEqual(before);
    const sizes = await sql<{ call_id: string; packed: number; parent_order: number }[]>`
      select p.call_id, pg_column_size(p.*) as packed, pg_column_size(u.*) as parent_order
      from usage_events_p20271130 p join usage_events u on u.id = p.id and u.started_at = p.started_at
      where p.key_id = ${c.keyId}`;
    expect(sizes).toHaveLength(1);
    // 8 bytes for this one (20 before its zero counts were stored as null, docs/adr/0033: fewer columns to pad).
    expect(sizes[0]!.parent_order - sizes[0]!.packed).toBeGreaterThanOrEqual(8);
    expect(await bounds("usage_events_p20271130")).toBe(
      "FOR VALUES FROM ('2027-11-30 00:00:00+00') TO ('2027-12-01 00:00:00+00')",
    );
    // The days ahead exist too, and the roll-ups did not count the move.
    expect(await bounds("usage_events_p20271206")).not.toBeNull();
    expect(await hourlyTotals()).toEqual(hourly);
    const again = await at("2027-11-29T09:00:02.000Z", (db) => ensureUsagePartitions(db));
    expect(again).toEqual({ partitionsCreated: 0, rowsMoved: 0 });
    // A replay of either changes nothing: their claims stand.
    const replay = await at("2027-11-29T09:05:00.000Z", (db) => settleUsage(db, [skewed, late]));
    expect(replay.inserted).toBe(0);
    const [n] = await sql<
      { n: number }[]
    >`select count(*)::int as n from usage_events where key_id = ${c.keyId}`;
    expect(n!.n).toBe(2);
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });

  it("runs as the queue's usage.partitions job, which the drain tick enqueues", async () => {
    // Two ticks enqueue one job; the drain runs it standing at a simulated moment.
    await scheduleUsagePartitions(sql);
    await scheduleUsagePartitions(sql);
    const [queued] = await sql<{ n: number }[]>`
      select count(*)::int as n from queue_jobs where name = 'usage.partitions' and state = 'created'`;
    expect(queued!.n).toBe(1);
    const summary = await at("2030-03-10T12:00:00.000Z", (db) =>
      drain(db, { replay: async () => [], policy: "release", graceMinutes: 60, budgetMs: 10_000 }),
    );
    expect(summary.byName["usage.partitions"]).toBe(1);
    const [job] = await sql<{ state: string; result: { partitionsCreated: number } }[]>`
      select state, result from queue_jobs where name = 'usage.partitions'`;
    expect(job).toMatchObject({ state: "completed", result: { partitionsCreated: 9 } });
    expect(await bounds("usage_events_p20300317")).toBe(
      "FOR VALUES FROM ('2030-03-17 00:00:00+00') TO ('2030-03-18 00:00:00+00')",
    );
  });

  it("two upkeep jobs at once create each missing day once, and neither fails", async () => {
    const runs = await Promise.all(
      [0, 1, 2].map(() => at("2029-06-01T00:00:00.000Z", (db) => ensureUsagePartitions(db))),
    );
    // Yesterday to 7 days ahead: 9 days, created by whichever ran first.
    expect(runs.map((r) => r.partitionsCreated).sort()).toEqual([0, 0, 9]);
    const [n] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'public.usage_events'::regclass and c.relname between 'usage_events_p20290531' and 'usage_events_p20290608'`;
    expect(n!.n).toBe(9);
  });

  it("charges a call started at 23:59:59.999 once: replayed after midnight and upgraded with another started_at", async () => {
    await at("2027-12-31T12:00:00.000Z", (db) => ensureUsagePartitions(db));
    const c = await customer("year-end@example.com");
    const start = await balance(c.accountId);
    const held = await at("2027-12-31T23:59:59.999Z", (db) => hold(db, c.keyId, "boundary"));
    expect(held.amountMicros).toBeGreaterThan(0n);
    // The gateway's failure event carries the start its pre-call hook recorded…
    const failure = event(c.keyId, "boundary", {
      status: "failure",
      promptTokens: 0,
      completionTokens: 0,
      errorClass: "Timeout",
      startedAt: "2027-12-31T23:59:59.999Z",
      endedAt: "2028-01-01T00:00:01.000Z",
    });
    await at("2028-01-01T00:00:01.500Z", (db) => settleUsage(db, [failure]));
    // …midnight's partition job has run, and the outbox replays the same bytes.
    await at("2028-01-01T00:00:30.000Z", (db) => ensureUsagePartitions(db));
    expect(await bounds("usage_events_p20280101")).toBe(
      "FOR VALUES FROM ('2028-01-01 00:00:00+00') TO ('2028-01-02 00:00:00+00')",
    );
    const replay = await at("2028-01-01T00:01:00.000Z", (db) => settleUsage(db, [failure]));
    expect(replay.inserted).toBe(0);
    // The retry's success, in a later batch, carries LiteLLM's own start: after midnight, another day's partition.
    const success = event(c.keyId, "boundary", {
      promptTokens: 100,
      completionTokens: 40,
      startedAt: "2028-01-01T00:00:00.004Z",
      endedAt: "2028-01-01T00:00:03.000Z",
    });
    const upgraded = await at("2028-01-01T00:02:00.000Z", (db) => settleUsage(db, [success]));
    expect(upgraded).toMatchObject({ inserted: 0, upgraded: 1 });
    // Replayed again, both of them, in one batch and then in another: nothing more.
    for (let i = 0; i < 2; i++) {
      const r = await at("2028-01-01T00:03:00.000Z", (db) => settleUsage(db, [success, failure]));
      expect(r).toMatchObject({ inserted: 0, upgraded: 0 });
    }
    const rows = await sql<{ part: string; status: string; revenue_micros: bigint; started: string }[]>`
      select tableoid::regclass::text as part, status, revenue_micros,
             to_char(started_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS') as started
      from usage_events where key_id = ${c.keyId}`;
    const charge = priceTokens({ input: 100, output: 40 }, PRICE);
    // One row, where the call's first event put it, at the success's charge.
    expect(rows).toEqual([
      {
        part: "usage_events_p20271231",
        status: "success",
        revenue_micros: charge,
        started: "2027-12-31T23:59:59.999",
      },
    ]);
    expect(start - (await balance(c.accountId))).toBe(charge);
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });

  it("charges each call once when two batches with the same events across midnight run in parallel", async () => {
    await at("2028-02-28T12:00:00.000Z", (db) => ensureUsagePartitions(db));
    const c = await customer("parallel@example.com");
    const start = await balance(c.accountId);
    const moments = [
      "2028-02-28T23:59:59.999Z",
      "2028-02-29T00:00:00.000Z",
      "2028-02-29T23:59:59.999Z",
      "2028-03-01T00:00:00.000Z",
    ];
    const events = moments.map((m, i) =>
      event(c.keyId, `leap-${i}`, {
        promptTokens: 100,
        completionTokens: 10 * (i + 1),
        startedAt: m,
        endedAt: m,
      }),
    );
    const settle = () => at("2028-03-01T00:00:05.000Z", (db) => settleUsage(db, events));
    const results = await Promise.all([settle(), settle(), settle()]);
    expect(results.map((r) => r.inserted).sort()).toEqual([0, 0, 4]);
    expect(await partitionsOf(c.keyId)).toEqual({
      "leap-0": "usage_events_p20280228",
      "leap-1": "usage_events_p20280229",
      "leap-2": "usage_events_p20280229",
      "leap-3": "usage_events_p20280301",
    });
    const charged = [1, 2, 3, 4].reduce(
      (sum, i) => sum + priceTokens({ input: 100, output: 10 * i }, PRICE),
      0n,
    );
    expect(start - (await balance(c.accountId))).toBe(charged);
    const [claims] = await sql<
      { n: number }[]
    >`select count(*)::int as n from usage_calls where key_id = ${c.keyId}`;
    expect(claims!.n).toBe(4);
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });

  it("bounds each day exactly at a month's end, a year's end and 29 February 2028", async () => {
    await at("2027-11-29T00:00:00.000Z", (db) =>
      db`select * from ensure_usage_partitions('2027-11-30', '2027-12-01')`.then(() => null),
    );
    await sql`select * from ensure_usage_partitions('2027-12-31', '2028-01-01')`;
    await sql`select * from ensure_usage_partitions('2028-02-28', '2028-03-01')`;
    const expected: Record<string, [string, string]> = {
      usage_events_p20271130: ["2027-11-30", "2027-12-01"],
      usage_events_p20271201: ["2027-12-01", "2027-12-02"],
      usage_events_p20271231: ["2027-12-31", "2028-01-01"],
      usage_events_p20280101: ["2028-01-01", "2028-01-02"],
      usage_events_p20280228: ["2028-02-28", "2028-02-29"],
      usage_events_p20280229: ["2028-02-29", "2028-03-01"],
      usage_events_p20280301: ["2028-03-01", "2028-03-02"],
    };
    for (const [name, [from, to]] of Object.entries(expected)) {
      expect(await bounds(name)).toBe(`FOR VALUES FROM ('${from} 00:00:00+00') TO ('${to} 00:00:00+00')`);
    }
    // The last microsecond of a day is that day's; its midnight is the next's.
    const c = await customer("edges@example.com");
    const edges = ["2027-11-30T23:59:59.999999Z", "2027-12-01T00:00:00Z", "2028-02-29T23:59:59.999999Z"];
    await at("2028-03-01T01:00:00.000Z", (db) =>
      settleUsage(
        db,
        edges.map((m, i) => event(c.keyId, `edge-${i}`, { startedAt: m, endedAt: "2028-03-01T00:00:00Z" })),
      ),
    );
    expect(await partitionsOf(c.keyId)).toEqual({
      "edge-0": "usage_events_p20271130",
      "edge-1": "usage_events_p20271201",
      "edge-2": "usage_events_p20280229",
    });
  });
});
