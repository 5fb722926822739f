// Closed days of usage_events are compacted (docs/adr/0027): once a day is two UTC days old, each index of its
// partition is rebuilt packed, in place, while the day stays readable and writable; the days about to be dropped, the
// open ones and those done already are left alone; an interrupted run's leftovers are dropped, never a copy a rebuild
// still running owns; a rebuild waiting on an old transaction is cancelled at its deadline; one that finished after its
// caller went away is recorded; and every read answers as before. Days cross 29 February 2028 on a simulated clock:
// nothing here depends on today's date.
import { describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage, type UsageEvent } from "@/lib/billing/settle";
import { retentionOverview } from "@/lib/retention/views";
import { drain } from "@/lib/settlement/drain";
import {
  CompactionInTransactionError,
  compactionTargets,
  compactUsagePartitions,
  rebuiltByCompaction,
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
const CALLS_PER_DAY = 6_000;
const customers = await Promise.all(
  Array.from({ length: 100 }, (_, i) => fundedCustomer(sql, adminId, `c${i}@example.com`, 1_000_000_000n)),
);

// Each day's calls arrive as the gateways send them: every key's calls interleaved with every other's, in batches.
for (const day of DAYS) {
  const events: UsageEvent[] = Array.from({ length: CALLS_PER_DAY }, (_, i) => {
    const c = customers[(i * 37) % customers.length]!;
    const at = new Date(Date.parse(`${day}T00:00:00Z`) + i * 14_000).toISOString();
    return event(c.keyId, `${day}-${i}`, { startedAt: at, endedAt: at });
  });
  for (let b = 0; b < events.length; b += 500)
    await clock.at(`${day}T23:59:59Z`, (db) => settleUsage(db, events.slice(b, b + 500)));
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
    where x.indrelid = ${`public.${partitionOf(day)}`}::regclass and ${rebuiltByCompaction(sql)}
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

  it("starts no rebuild whose estimate does not end before the deadline", async () => {
    const targets = await compactionTargets(sql, ASOF);
    expect(targets.every((t) => t.estimateMs > 0)).toBe(true);
    const summary = await compactUsagePartitions(sql, { asOf: ASOF, deadline: Date.now() });
    expect(summary.compacted).toEqual([]);
    expect(summary.remaining).toBe(targets.length);
    // Nor is a job enqueued for a drain whose budget no rebuild fits.
    expect(await scheduleUsageCompaction(sql, { asOf: ASOF, budgetMs: 5_000 })).toBe(false);
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

    expect(await scheduleUsageCompaction(sql, { asOf: ASOF, budgetMs: 40_000 })).toBe(true);
    const summary = await compactUsagePartitions(sql, { asOf: ASOF });
    expect(summary.leftoversDropped).toBe(1);
    expect(summary.remaining).toBe(0);
    // Every index of 26 (empty), 27, 28 and 29 February's partitions, the latest day first; none of 1 March's.
    const perDay = before["2028-02-27"]!.length;
    expect(perDay).toBeGreaterThanOrEqual(5);
    // The partition's own call key index is rebuilt with the others.
    expect(before["2028-02-27"]!.map((i) => i.name)).toContain("usage_events_p20280227_call_key_idx");
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
        // Attached to usage_events' index, but the partition's own call key index (docs/adr/0032), which has none.
        if (index.name.endsWith("_call_key_idx")) expect(index.parent).toBeNull();
        else expect(index.parent).not.toBeNull();
        expect(index.options).toEqual(["fillfactor=100"]);
        expect(index.bytes).toBeLessThanOrEqual(before[day]![i]!.bytes);
      }
      // The key index took the interleaved rows: packed, it is smaller by a seventh at least (the owner indexes with
      // the user index, docs/adr/0037: 0.72–0.74 of their size in runs, direct and pooled; how half-empty the pages
      // were depends on the order the batches' rows were inserted in, and a day this small has few pages per key).
      // These customers are persons: the account index holds organizations' calls only (docs/adr/0040).
      const owners = ["key_id"].map((owner) => {
        const was = before[day]!.find((i) => i.name.includes(`_${owner}_`))!;
        const now = after.find((i) => i.name === was.name)!;
        expect(now.bytes, `${was.name}: ${was.bytes} → ${now.bytes}`).toBeLessThan(was.bytes);
        return [was.bytes, now.bytes] as const;
      });
      const sum = (k: 0 | 1) => owners.reduce((n, o) => n + o[k], 0);
      expect(sum(1), `key index ${sum(0)} → ${sum(1)}`).toBeLessThan(sum(0) * 0.86);
    }
    expect(await indexesOf("2028-03-01")).toEqual(before["2028-03-01"]);
    expect(await ownerLogs()).toEqual(logs);

    // The admins' retention page sums what compaction did on the days kept; a compacted day reads all of its
    // indexes rebuilt (the BRIN index on id is none of compaction's).
    const overview = await retentionOverview(sql, { userId: adminId, kind: "user", role: "admin" });
    const totals = overview.compaction;
    const feb28 = overview.partitions.find((p) => p.name === partitionOf("2028-02-28"))!;
    expect(feb28.compacted).toMatchObject({ indexes: perDay, of: perDay });
    expect(totals.days).toBe(4);
    expect(totals.bytesAfter).toBeLessThan(totals.bytesBefore * 0.9);

    // Done once: nothing is left to do, and no job is enqueued for it.
    expect(await compactionTargets(sql, ASOF)).toEqual([]);
    expect(await scheduleUsageCompaction(sql, { asOf: ASOF, budgetMs: 40_000 })).toBe(false);
    expect((await compactUsagePartitions(sql, { asOf: ASOF })).compacted).toEqual([]);
  });

  it("cancels a rebuild that waits on an old transaction at its deadline; a run meanwhile leaves its copy alone", async () => {
    // Standing on 3 March, 1 March is closed. A repeatable-read transaction holds an old snapshot: REINDEX
    // CONCURRENTLY waits for it before it may validate its copy.
    const asOf = new Date("2028-03-03T06:00:00Z");
    const reader = await sql.reserve();
    try {
      await reader`begin isolation level repeatable read`;
      await reader`select count(*) from accounts`;
      // The deadline leaves the checks below ample time on a slow host; the rebuild is cancelled a second after it.
      const waiting = compactUsagePartitions(sql, {
        asOf,
        deadline: Date.now() + 4_000,
        cancelGraceMs: 1_000,
      });
      // Meanwhile: the running rebuild's copy is invalid and attached to nothing, as a leftover is, but it is in use.
      const copies = () => sql<{ name: string }[]>`
        select ic.relname::text as name from pg_index x join pg_class ic on ic.oid = x.indexrelid
        where x.indrelid = 'public.usage_events_p20280301'::regclass and not x.indisvalid`;
      for (let i = 0; i < 200 && !(await copies()).length; i++) await new Promise((r) => setTimeout(r, 20));
      expect((await copies()).map((c) => c.name)).toEqual([expect.stringMatching(/_ccnew$/)]);
      const meanwhile = await compactUsagePartitions(sql, { asOf, deadline: Date.now() });
      expect(meanwhile.leftoversDropped).toBe(0);
      expect((await compactionTargets(sql, asOf)).filter((t) => t.day === "2028-03-01")).toEqual([]);
      const cancelled = await waiting;
      expect(cancelled.cancelled).toMatch(/^usage_events_p20280301_/);
      expect(cancelled.compacted).toEqual([]);
      expect(cancelled.remaining).toBeGreaterThan(0);
    } finally {
      await reader`rollback`;
      reader.release();
    }
    // Nothing old holds it back now: the cancelled rebuild's copy is dropped and the day compacted.
    const logs = await ownerLogs();
    const summary = await compactUsagePartitions(sql, { asOf });
    expect(summary.leftoversDropped).toBe(1);
    expect(new Set(summary.compacted.map((c) => c.day))).toEqual(new Set(["2028-03-01"]));
    for (const index of await indexesOf("2028-03-01")) {
      const attached = !index.name.endsWith("_call_key_idx"); // the partition's own has no parent (docs/adr/0032)
      expect([index.valid, index.parent !== null, index.options]).toEqual([
        true,
        attached,
        ["fillfactor=100"],
      ]);
    }
    expect(await ownerLogs()).toEqual(logs);
  });

  it("records a rebuild that finished after its caller went away, and rebuilds it no more", async () => {
    // The job wrote its record, started the rebuild, and its function was cut off; the server finished it.
    const asOf = new Date("2028-03-04T06:00:00Z");
    const name = "usage_events_p20280302_key_id_started_at_idx";
    await sql`
      insert into usage_compactions (index_name, partition_name, day, old_oid, bytes_before, heap_bytes)
      select ${name}, 'usage_events_p20280302', '2028-03-02', ${name}::regclass::oid, pg_relation_size(${name}::regclass), 0`;
    await sql`alter index ${sql(`public.${name}`)} set (fillfactor = 100)`;
    await sql`reindex index concurrently ${sql(`public.${name}`)}`;
    const summary = await compactUsagePartitions(sql, { asOf });
    expect(summary.recovered).toBe(1);
    expect(summary.compacted.map((c) => c.index)).not.toContain(name);
    expect(summary.compacted.length).toBe((await indexesOf("2028-03-02")).length - 1);
    const [row] = await sql<{ done: boolean }[]>`
      select index_oid = ${name}::regclass::oid and compacted_at is not null as done
      from usage_compactions where index_name = ${name}`;
    expect(row!.done).toBe(true);
  });

  it("forgets a dropped day's records; the day's partition made again is compacted again", async () => {
    const asOf = new Date("2028-03-04T06:00:00Z");
    const records = async () =>
      (
        await sql<{ n: number }[]>`
        select count(*)::int as n from usage_compactions where partition_name = 'usage_events_p20280302'`
      )[0]!.n;
    expect(await records()).toBe((await indexesOf("2028-03-02")).length);
    await sql`drop table usage_events_p20280302`;
    await compactUsagePartitions(sql, { asOf, deadline: Date.now() });
    expect(await records()).toBe(0);
    await clock.at("2028-03-03T00:00:00Z", (db) => ensureUsagePartitions(db));
    const again = await compactUsagePartitions(sql, { asOf });
    expect(again.compacted.length).toBe((await indexesOf("2028-03-02")).length);
    expect(await records()).toBe(again.compacted.length);
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
