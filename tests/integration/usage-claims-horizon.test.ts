// What settle_usage charges when a call's claim or row may be gone, and what the partition job locks (outside review
// of docs/adr/0020 and 0022): a replay of a call whose claim retention removed is counted as expired, never charged a
// second time; an event started more than a day ahead is not charged either, and the webhook takes no moment outside
// the years 2000–2099; an upgrade of a call whose row an organization's policy trimmed is counted, not silently lost;
// creating a day's partition takes no lock on leases nor ledger_transactions (no ledger write waits on it, no deadlock
// with a batch that upgrades); a batch whose insert into usage_events_default lost the race with the day's attach is
// settled again, whole. Every moment is on a simulated clock: nothing here depends on today's date.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { usageEvent } from "@/lib/billing/schemas";
import { settleUsage } from "@/lib/billing/settle";
import { createClient } from "@/lib/db/client";
import { ensureUsagePartitions } from "@/lib/usage/partitions";
import { accountOf, event, insertKey, topUp } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { dayPartition } from "../helpers/partitions";
import { insertUser } from "../helpers/users";

const { sql, url, prepare } = await createTestDatabase();
const clock = simulatedClock(sql, "2027-03-01T00:00:00Z");
const at = clock.at;
const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
await clock.seedPricedModel();

async function customer() {
  const userId = await insertUser(sql, { email: `${randomUUID()}@example.com` });
  const account = await accountOf(sql, userId);
  await topUp(sql, adminId, account.id, 10_000_000n);
  return { accountId: account.id, keyId: await insertKey(sql, userId) };
}

const partitionFor = (day: string) => dayPartition(sql, day);

async function balance(accountId: string): Promise<bigint> {
  const [row] = await sql<{ b: bigint }[]>`select balance_micros as b from accounts where id = ${accountId}`;
  return row!.b;
}

async function rowsOf(keyId: string): Promise<number> {
  const [row] = await sql<
    { n: number }[]
  >`select count(*)::int as n from usage_events where key_id = ${keyId}`;
  return row!.n;
}

/** What retention does once a day's partition is dropped: the horizon forward (its own transaction), then the claims
 *  before it whose row is gone. */
async function removeClaimsBefore(moment: string): Promise<string> {
  const [row] = await sql<{ kept_from: Date }[]>`select advance_usage_claims_horizon(${moment}) as kept_from`;
  await sql`
    delete from usage_calls c where c.started_at < ${row!.kept_from} and not exists (
      select 1 from usage_events u where u.key_id = c.key_id and u.started_at = c.started_at and call_key(u.call_id) = c.call_key)`;
  return row!.kept_from.toISOString();
}

describe("the claims horizon", () => {
  it("counts a replay of a call whose claim retention removed as expired and charges it once only", async () => {
    const day = "2027-03-03";
    const name = await partitionFor(day);
    const c = await customer();
    const call = event(c.keyId, `replayed-${randomUUID()}`, {
      startedAt: `${day}T13:00:00.000Z`,
      endedAt: `${day}T13:00:01.000Z`,
    });
    const first = await at(`${day}T13:00:02Z`, (db) => settleUsage(db, [call]));
    // A call of the day before, whose partition stays (an earlier day can outlive a dropped one: a refused day).
    await partitionFor("2027-03-02");
    const kept = event(c.keyId, `kept-${randomUUID()}`, {
      startedAt: "2027-03-02T10:00:00.000Z",
      endedAt: "2027-03-02T10:00:01.000Z",
    });
    expect((await at("2027-03-03T13:00:03Z", (db) => settleUsage(db, [kept]))).inserted).toBe(1);
    expect(first).toMatchObject({ inserted: 1, expired: 0, trimmed: 0 });
    const charged = await balance(c.accountId);
    // Retention drops the day and removes its claims.
    await sql.unsafe(`drop table public.${name}`);
    expect(await removeClaimsBefore(`${day}T00:00:00Z`)).toBe(`${day}T00:00:00.000Z`);
    expect(await removeClaimsBefore("2027-03-04T00:00:00Z")).toBe("2027-03-04T00:00:00.000Z");
    // Never back.
    expect(await removeClaimsBefore("2027-03-02T00:00:00Z")).toBe("2027-03-04T00:00:00.000Z");

    // The outbox replays it with a new call of today in the same batch: the new one is charged, the replay counted.
    const fresh = event(c.keyId, `fresh-${randomUUID()}`, {
      startedAt: "2027-03-11T05:00:00.000Z",
      endedAt: "2027-03-11T05:00:01.000Z",
    });
    const replay = await at("2027-03-11T05:00:02Z", (db) => settleUsage(db, [call, fresh]));
    expect(replay).toMatchObject({
      received: 2,
      inserted: 1,
      expired: 1,
      trimmed: 0,
      duplicates: 0,
      upgraded: 0,
    });
    expect(await balance(c.accountId)).toBe(charged - replay.chargedMicros);
    expect(replay.chargedMicros).toBe(first.chargedMicros);
    const keptBalance = await balance(c.accountId);
    // A replay before the horizon whose claim is kept (its row is too) is a duplicate, as any other.
    const again = await at("2027-03-11T06:00:00Z", (db) => settleUsage(db, [kept]));
    expect(again).toMatchObject({ inserted: 0, expired: 0, trimmed: 0, duplicates: 1, chargedMicros: 0n });
    expect(await balance(c.accountId)).toBe(keptBalance);
    const [defaults] = await sql<{ n: number }[]>`
      select count(*)::int as n from usage_events_default where call_id = ${call.callId}`;
    expect(defaults!.n).toBe(0);
    expect(await rowsOf(c.keyId)).toBe(2);
    expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
  });

  it("does not charge an event started more than a day after now; the webhook takes no moment outside 2000–2099", async () => {
    const c = await customer();
    const ahead = (startedAt: string) =>
      event(c.keyId, `ahead-${randomUUID()}`, { startedAt, endedAt: startedAt });
    const result = await at("2027-03-11T08:00:00Z", (db) =>
      settleUsage(db, [
        ahead("2027-03-12T07:59:59.000Z"),
        ahead("2027-03-12T08:00:01.000Z"),
        ahead("2099-06-01T00:00:00Z"),
      ]),
    );
    expect(result).toMatchObject({ inserted: 1, expired: 2 });
    expect(await rowsOf(c.keyId)).toBe(1);
    const parse = (moment: string) =>
      usageEvent.safeParse({ ...event(c.keyId, "x"), startedAt: moment, endedAt: moment }).success;
    // 0001-01-01T00:00:00+01:00 is 23:00 UTC on 31 December 1 BC: it once made a BC partition.
    expect(parse("0001-01-01T00:00:00+01:00")).toBe(false);
    expect(parse("2000-01-01T00:30:00+01:00")).toBe(false);
    expect(parse("2100-01-01T00:00:00Z")).toBe(false);
    expect(parse("2000-01-01T00:00:00Z")).toBe(true);
    expect(parse("2099-12-31T23:59:59.999Z")).toBe(true);
    expect(
      usageEvent.safeParse({ ...event(c.keyId, "x"), firstTokenAt: "0001-01-01T00:00:00Z" }).success,
    ).toBe(false);
  });

  it("counts an upgrade of a call whose row an organization's policy trimmed, and charges nothing", async () => {
    const day = "2027-03-09";
    await partitionFor(day);
    const c = await customer();
    const callId = `trimmed-${randomUUID()}`;
    const failed = event(c.keyId, callId, {
      status: "failure",
      errorClass: "Timeout",
      promptTokens: 0,
      completionTokens: 0,
      startedAt: `${day}T23:59:00.000Z`,
      endedAt: `${day}T23:59:30.000Z`,
    });
    await at(`${day}T23:59:31Z`, (db) => settleUsage(db, [failed]));
    // Retention's trim of an organization's rows: the row goes, its claim stays until the platform's cutoff.
    await sql`delete from usage_events where key_id = ${c.keyId} and call_id = ${callId}`;
    const before = await balance(c.accountId);
    const success = event(c.keyId, callId, {
      startedAt: "2027-03-10T00:00:05.000Z",
      endedAt: "2027-03-10T00:00:09.000Z",
    });
    const r = await at("2027-03-11T00:11:00Z", (db) => settleUsage(db, [success]));
    expect(r).toMatchObject({
      inserted: 0,
      upgraded: 0,
      trimmed: 1,
      expired: 0,
      duplicates: 0,
      chargedMicros: 0n,
    });
    expect(await balance(c.accountId)).toBe(before);
  });
});

describe("the partition job", () => {
  it("moves at most 31 days out of usage_events_default per run; the next run takes the rest", async () => {
    const c = await customer();
    // 35 calls of 35 days without a partition after the claims horizon (late replays), the latest 27 days before now.
    const events = Array.from({ length: 35 }, (_, i) => {
      const startedAt = new Date(Date.parse("2027-03-10T12:00:00Z") + i * 86_400_000).toISOString();
      return event(c.keyId, `late-${i}-${randomUUID()}`, { startedAt, endedAt: startedAt });
    });
    expect((await at("2027-05-10T01:00:00Z", (db) => settleUsage(db, events))).inserted).toBe(35);
    const inDefault = async () => {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from usage_events_default where key_id = ${c.keyId}`;
      return row!.n;
    };
    expect(await inDefault()).toBe(35);
    const first = await at("2027-05-10T01:01:00Z", (db) => ensureUsagePartitions(db));
    // Yesterday to 7 days ahead, and the first 31 days of the default partition.
    expect(first.partitionsCreated).toBe(9 + 31);
    expect(await inDefault()).toBe(4);
    const second = await at("2027-05-10T01:02:00Z", (db) => ensureUsagePartitions(db));
    expect(second).toEqual({ partitionsCreated: 4, rowsMoved: 4 });
    expect(await inDefault()).toBe(0);
  });

  it("creating a day's partition locks neither leases nor ledger_transactions", async () => {
    const other = createClient({ url, max: 1, prepare });
    try {
      const locks = await sql.begin(async (tx) => {
        await tx`select * from ensure_usage_partitions('2029-06-01'::date, '2029-06-01'::date)`;
        const [pid] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
        return other<{ relname: string; mode: string }[]>`
          select c.relname::text, l.mode from pg_locks l join pg_class c on c.oid = l.relation
          where l.pid = ${pid!.pid} and c.relname in ('leases', 'ledger_transactions') order by 1, 2`;
      });
      expect(locks).toEqual([]);
    } finally {
      await other.end();
    }
  });

  it("a batch that wrote the ledger and then upgrades does not deadlock with the job creating a day", async () => {
    const c = await customer();
    const day = "2027-06-20";
    await partitionFor(day);
    const callId = `dl-${randomUUID()}`;
    const base = { startedAt: `${day}T10:00:00.000Z`, endedAt: `${day}T10:00:01.000Z` };
    await at(`${day}T10:00:02Z`, (db) =>
      settleUsage(db, [
        event(c.keyId, callId, {
          ...base,
          status: "failure",
          errorClass: "Timeout",
          promptTokens: 0,
          completionTokens: 0,
        }),
      ]),
    );
    const batch = createClient({ url, max: 1, prepare });
    const job = createClient({ url, max: 1, prepare });
    try {
      let next!: () => void;
      const between = new Promise<void>((r) => {
        next = r;
      });
      // lib/billing/settle.ts's order: settle_usage (a new call: the ledger written), then upgrade_usage, one transaction.
      const settling = batch.begin(async (tx) => {
        await tx`select set_config('tollgate.now', ${`${day}T10:05:00Z`}, true)`;
        await settleUsage(tx, [event(c.keyId, `new-${randomUUID()}`, base)]);
        await between;
        const [row] = await tx<{ n: number }[]>`
          select upgrade_usage(${tx.json([{ call_id: callId, key_id: c.keyId, status: "success", ended_at: base.endedAt, units: { input: 100, output: 50 } }])}::jsonb) as n`;
        return row!.n;
      });
      await new Promise((r) => setTimeout(r, 200));
      const making = job`select * from ensure_usage_partitions('2029-10-01'::date, '2029-10-01'::date)`;
      await new Promise((r) => setTimeout(r, 200));
      next();
      expect(await settling).toBe(1);
      expect((await making)[0]).toMatchObject({ partitions_created: 1 });
      expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
    } finally {
      await batch.end();
      await job.end();
    }
  });

  it("a batch routed to usage_events_default while the job attaches that day is settled again, whole", async () => {
    const day = "2027-07-14"; // no partition: the batch's event goes to usage_events_default
    const c = await customer();
    // A pool (settleUsage's own transaction, as the webhook's) standing at a moment of that day.
    const pool = createClient({ url, max: 1, prepare });
    await pool`select set_config('tollgate.now', ${`${day}T10:00:05Z`}, false)`;
    try {
      let attach!: () => void;
      const attached = new Promise<void>((r) => {
        attach = r;
      });
      // The job has made and attached the day's partition, not yet committed (it holds usage_events_default).
      const job = sql.begin(async (tx) => {
        await tx`select * from ensure_usage_partitions(${day}::date, ${day}::date)`;
        await attached;
      });
      await new Promise((r) => setTimeout(r, 200));
      const settling = settleUsage(pool, [
        event(c.keyId, `raced-${randomUUID()}`, {
          startedAt: `${day}T10:00:00.000Z`,
          endedAt: `${day}T10:00:01.000Z`,
        }),
      ]);
      await new Promise((r) => setTimeout(r, 300));
      attach();
      await job;
      const result = await settling;
      expect(result).toMatchObject({ inserted: 1, expired: 0 });
      const [row] = await sql<{ part: string }[]>`
        select tableoid::regclass::text as part from usage_events where key_id = ${c.keyId}`;
      expect(row!.part).toBe(`usage_events_p${day.replaceAll("-", "")}`);
      expect(await balance(c.accountId)).toBe(10_000_000n - result.chargedMicros);
      expect(await checkLedgerInvariants(sql, c.accountId)).toEqual([]);
    } finally {
      await pool.end();
    }
  });
});
