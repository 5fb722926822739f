// Closed days of usage_events are compacted (docs/adr/0027): once a day is two UTC days old, each index of its
// partition is rebuilt packed, in place, while the day stays readable and writable; the days about to be dropped, the
// open ones and those done already are left alone; an interrupted run's leftovers are dropped; and every read answers
// as before. Days cross 29 February 2028 on a simulated clock: nothing here depends on today's date.
import { describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage, type UsageEvent } from "@/lib/billing/settle";
import { drain } from "@/lib/settlement/drain";
import {
  CompactionInTransactionError,
  compactionTargets,
  compactionTotals,
  compactUsagePartitions,
  scheduleUsageCompaction,
  USAGE_COMPACT_JOB,
} from "@/lib/usage/compact";
import { ensureUsagePartitions } from "@/lib/usage/partitions";
import { event, fundedCustomer } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { insertUser } from "../helpers/users";

const { sql } = await createTestDatabase();
const clock = simulatedClock(sql, "2028-02-27T00:00:00Z");
const adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
await clock.seedPricedModel();
await clock.at("2028-02-27T00:00:00Z", (db) => ensureUsagePartitions(db));

const DAYS = ["2028-02-27", "2028-02-28", "2028-02-29", "2028-03-01"];
const CALLS_PER_DAY = 2_400;
const customers = await Promise.all(
  Array.from({ length: 40 }, (_, i) => fundedCustomer(sql, adminId, `c${i}@example.com`, 1_000_000_000n)),
);

// Each day's calls arrive as the gateways send them: every key's calls interleaved with every other's, in batches.
for (const day of DAYS) {
  const events: UsageEvent[] = Array.from({ length: CALLS_PER_DAY }, (_, i) => {
    const c = customers[(i * 7) % customers.length]!;
    const at = new Date(Date.parse(`${day}T00:00:00Z`) + i * 30_000).toISOString();
    return event(c.keyId, `${day}-${i}`, { startedAt: at, endedAt: at });
  });
  for (let b = 0; b < events.length; b += 400)
    await clock.at(`${day}T23:59:59Z`, (db) => settleUsage(db, events.slice(b, b + 400)));
}

const partitionOf = (day: string) => `usage_events_p${day.replaceAll("-", "")}`;

/** A partition's indexes: size, options, validity, and the parent index each is attached to. */
async function indexesOf(day: string) {
  return sql<
    { name: string; bytes: number; options: string[] | null; valid: boolean; parent: string | null }[]
  >`
    select ic.relname::text as name, pg_relation_size(ic.oid)::int as bytes, ic.reloptions as options,
           x.indisvalid as valid, i.inhparent::regclass::text as parent
    from pg_index x join pg_class ic on ic.oid = x.indexrelid
    left join pg_inherits i on i.inhrelid = ic.oid
    where x.indrelid = ${`public.${partitionOf(day)}`}::regclass
    order by 1`;
}

/** What each owner's request log reads, through the indexes only (no sequential or bitmap scan). */
async function ownerLogs() {
  return sql.begin(async (tx) => {
    await tx`set local enable_seqscan = off`;
    await tx`set local enable_bitmapscan = off`;
    const out: Record<string, string[]> = {};
    for (const c of customers.slice(0, 5)) {
      for (const [column, id] of [
        ["key_id", c.keyId],
        ["user_id", c.userId],
        ["account_id", c.accountId],
      ] as const) {
        const rows = await tx<{ call_id: string }[]>`
          select call_id from usage_events
          where ${tx(column)} = ${id} and started_at >= '2028-02-27T00:00:00Z' and started_at < '2028-03-02T00:00:00Z'
          order by started_at desc, id desc`;
        out[`${column}:${id}`] = rows.map((r) => r.call_id);
      }
    }
    const page = await tx<{ call_id: string }[]>`
      select call_id from usage_events where started_at < '2028-02-29T12:00:00Z' and started_at >= '2028-02-27T00:00:00Z'
      order by started_at desc, id desc limit 50`;
    out.page = page.map((r) => r.call_id);
    return out;
  });
}

const ASOF = new Date("2028-03-02T06:00:00Z");

describe("compacting closed days of usage_events", () => {
  it("refuses a transaction: REINDEX CONCURRENTLY runs outside any", async () => {
    await expect(sql.begin((tx) => compactUsagePartitions(tx, { asOf: ASOF }))).rejects.toBeInstanceOf(
      CompactionInTransactionError,
    );
  });

  it("targets the days closed two UTC days ago or more, never one retention is about to drop", async () => {
    const days = async (asOf: string) =>
      [...new Set((await compactionTargets(sql, new Date(asOf))).map((t) => t.day))].sort();
    // Standing on 2 March 2028: 29 February is closed, 1 March (yesterday) and 2 March are not.
    expect(await days("2028-03-02T06:00:00Z")).toEqual([
      "2028-02-26",
      "2028-02-27",
      "2028-02-28",
      "2028-02-29",
    ]);
    expect(await days("2028-03-01T23:59:59Z")).toEqual(["2028-02-26", "2028-02-27", "2028-02-28"]);
    // With 7 days of detail, retention drops 28 February on 7 March and 29 February on 8 March: standing on 6 March,
    // compaction leaves them to it.
    await sql`update retention_settings set usage_detail_days = 7`;
    try {
      expect(await days("2028-03-06T00:00:00Z")).toEqual([
        "2028-03-01",
        "2028-03-02",
        "2028-03-03",
        "2028-03-04",
      ]);
    } finally {
      await sql`update retention_settings set usage_detail_days = 90`;
    }
  });

  it("rebuilds each closed day's indexes packed, in place and attached, and every read answers as before", async () => {
    const before = Object.fromEntries(
      await Promise.all(DAYS.map(async (d) => [d, await indexesOf(d)] as const)),
    );
    const logs = await ownerLogs();
    // An interrupted earlier run's copy (REINDEX CONCURRENTLY cut off leaves an invalid index named …_ccnew).
    await sql`
      create unique index concurrently usage_events_p20280227_status_idx_ccnew on usage_events_p20280227 (status)`.catch(
      () => undefined,
    );
    expect((await indexesOf("2028-02-27")).find((i) => i.name.endsWith("_ccnew"))?.valid).toBe(false);

    expect(await scheduleUsageCompaction(sql, ASOF)).toBe(true);
    const summary = await compactUsagePartitions(sql, { asOf: ASOF });
    expect(summary.leftoversDropped).toBe(1);
    expect(summary.remaining).toBe(0);
    // Every index of 26 (empty), 27, 28 and 29 February's partitions, the latest day first; none of 1 March's.
    const perDay = before["2028-02-27"]!.length;
    expect(perDay).toBeGreaterThanOrEqual(5);
    expect(summary.compacted.map((c) => c.day)).toEqual([
      ...Array(perDay).fill("2028-02-29"),
      ...Array(perDay).fill("2028-02-28"),
      ...Array(perDay).fill("2028-02-27"),
      ...Array(perDay).fill("2028-02-26"),
    ]);

    for (const day of DAYS.slice(0, 3)) {
      const after = await indexesOf(day);
      expect(after.map((i) => i.name)).toEqual(before[day]!.map((i) => i.name));
      for (const [i, index] of after.entries()) {
        expect(index.valid).toBe(true);
        expect(index.parent).toBe(before[day]![i]!.parent);
        expect(index.parent).not.toBeNull();
        expect(index.options).toEqual(["fillfactor=100"]);
        expect(index.bytes).toBeLessThanOrEqual(before[day]![i]!.bytes);
      }
      // The owner indexes took the interleaved rows: packed, each is at least a quarter smaller.
      for (const owner of ["key_id", "user_id", "account_id"]) {
        const was = before[day]!.find((i) => i.name.includes(`_${owner}_`))!;
        const now = after.find((i) => i.name === was.name)!;
        expect(now.bytes, `${was.name}: ${was.bytes} → ${now.bytes}`).toBeLessThan(was.bytes * 0.75);
      }
    }
    expect(await indexesOf("2028-03-01")).toEqual(before["2028-03-01"]);
    expect(await ownerLogs()).toEqual(logs);

    const totals = await compactionTotals(sql);
    expect(totals.days).toBe(4);
    expect(totals.bytesAfter).toBeLessThan(totals.bytesBefore * 0.8);

    // Done once: nothing is left to do, and no job is enqueued for it.
    expect(await compactionTargets(sql, ASOF)).toEqual([]);
    expect(await scheduleUsageCompaction(sql, ASOF)).toBe(false);
    expect((await compactUsagePartitions(sql, { asOf: ASOF })).compacted).toEqual([]);
  });

  it("takes a late call into a compacted day, finds it through the indexes and charges it once", async () => {
    const c = customers[3]!;
    const late = event(c.keyId, "late-28", {
      startedAt: "2028-02-28T13:00:00.000Z",
      endedAt: "2028-02-28T13:00:01.000Z",
    });
    const first = await clock.at("2028-03-02T07:00:00Z", (db) => settleUsage(db, [late]));
    const replay = await clock.at("2028-03-02T07:00:05Z", (db) => settleUsage(db, [late]));
    expect([first.inserted, replay.inserted, replay.duplicates]).toEqual([1, 0, 1]);
    const found = await sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      await tx`set local enable_bitmapscan = off`;
      return tx<{ part: string }[]>`
        select tableoid::regclass::text as part from usage_events
        where key_id = ${c.keyId} and started_at = '2028-02-28T13:00:00Z'`;
    });
    expect(found).toEqual([{ part: "usage_events_p20280228" }]);
    expect(await checkLedgerInvariants(sql)).toEqual([]);
  });

  it("runs as the queue's job: the drain runs the one enqueued while a day waited, and completes it", async () => {
    const [waiting] = await sql<{ n: number }[]>`
      select count(*)::int as n from queue_jobs where name = ${USAGE_COMPACT_JOB} and state = 'created'`;
    expect(waiting!.n).toBe(1);
    const summary = await drain(sql, {
      budgetMs: 20_000,
      replay: async () => [],
      policy: "release",
      graceMinutes: 60,
    });
    expect(summary.byName[USAGE_COMPACT_JOB]).toBe(1);
    expect(summary.dead + summary.retried).toBe(0);
    const [job] = await sql<
      { state: string }[]
    >`select state from queue_jobs where name = ${USAGE_COMPACT_JOB}`;
    expect(job!.state).toBe("completed");
  });
});
