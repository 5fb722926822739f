import "server-only";
import type { Db, Sql } from "@/lib/db/client";
import { log } from "@/lib/log";
import { enqueue } from "@/lib/queue";
import { getRetentionSettings } from "@/lib/retention/policy";
import { addUtcDays, utcDayOf } from "@/lib/retention/run";

// Compacting closed days (docs/adr/0027): a daily partition of usage_events takes its rows interleaved across
// thousands of keys, users and accounts, so each owner index splits pages in the middle of a key's range and leaves
// them half empty; once no row lands in the day any more, its indexes are rebuilt packed (fillfactor 100, REINDEX
// INDEX CONCURRENTLY: reads and writes of the day go on). The queue's usage.compact job does it, one index at a time
// within the drain's budget, the days closed longest ago last; the drain tick enqueues it only while an index waits.

export const USAGE_COMPACT_JOB = "usage.compact";

/** A day is closed, and compacted, from this many UTC days after it (late replays and upgrades have landed). */
export const CLOSED_AFTER_DAYS = 2;

/** Nor is a day compacted within this many days of retention dropping it: the work would be thrown away. */
export const BEFORE_RETENTION_DAYS = 2;

/** A compaction job starts only this early in a drain: the rest of the function's 60 s is its own. */
export const COMPACT_START_MS = 5_000;

export interface CompactionTarget {
  index: string;
  partition: string;
  day: string;
  bytes: number;
}

export interface CompactionSummary {
  compacted: { index: string; day: string; bytesBefore: number; bytesAfter: number; ms: number }[];
  /** Interrupted earlier runs' unfinished copies (REINDEX CONCURRENTLY's _ccnew / _ccold), dropped. */
  leftoversDropped: number;
  /** Indexes still waiting when the deadline came. */
  remaining: number;
}

/** Thrown when given a transaction: REINDEX CONCURRENTLY runs outside any transaction block (pass the pool). */
export class CompactionInTransactionError extends Error {
  constructor() {
    super("compactUsagePartitions runs REINDEX CONCURRENTLY, which no transaction may hold: pass the pool");
    this.name = "CompactionInTransactionError";
  }
}

/** The UTC days [from, to] whose partitions may be compacted at `asOf`. */
async function compactableDays(db: Db, asOf: Date): Promise<{ from: string; to: string }> {
  const settings = await getRetentionSettings(db);
  const today = utcDayOf(asOf);
  return {
    from: addUtcDays(today, -settings.usageDetailDays + BEFORE_RETENTION_DAYS),
    to: addUtcDays(today, -CLOSED_AFTER_DAYS),
  };
}

/**
 * The indexes of closed days' partitions not compacted yet, the most recently closed day first. Catalog reads only
 * (usage_partitions(), pg_index), no row of usage_events.
 */
export async function compactionTargets(db: Db, asOf: Date): Promise<CompactionTarget[]> {
  const { from, to } = await compactableDays(db, asOf);
  const rows = await db<{ index: string; partition: string; day: string; bytes: string }[]>`
    select ic.relname::text as index, p.name as partition, to_char(p.day, 'YYYY-MM-DD') as day,
           pg_relation_size(ic.oid)::text as bytes
    from (select up.partition, up.name, (up.from_at at time zone 'utc')::date as day
          from usage_partitions() up
          where not up.is_default and up.from_at is not null and up.to_at = up.from_at + interval '1 day') p
    join pg_index x on x.indrelid = p.partition
    join pg_class ic on ic.oid = x.indexrelid
    where p.day between ${from}::date and ${to}::date
      and x.indisvalid and x.indisready
      and not exists (select 1 from usage_compactions c where c.index_oid = ic.oid)
    order by p.day desc, ic.relname`;
  return rows.map((r) => ({ index: r.index, partition: r.partition, day: r.day, bytes: Number(r.bytes) }));
}

/**
 * Rebuilds the closed days' partition indexes packed, one at a time, until none is left or the next would not end
 * before `deadline` (judged by the last one's duration). Each is recorded in usage_compactions with its size before
 * and after. An earlier run cut off mid-REINDEX left an invalid copy of an index: it is dropped first.
 */
export async function compactUsagePartitions(
  db: Sql | Db,
  { asOf, deadline = Number.POSITIVE_INFINITY }: { asOf?: Date; deadline?: number } = {},
): Promise<CompactionSummary> {
  if (!("begin" in db)) throw new CompactionInTransactionError();
  const at = asOf ?? (await db<{ now: Date }[]>`select tollgate_now() as now`)[0]!.now;
  const summary: CompactionSummary = { compacted: [], leftoversDropped: 0, remaining: 0 };
  // What an interrupted REINDEX CONCURRENTLY leaves: an invalid index beside the one it copies, attached to nothing.
  // None is being built now: the job runs one at a time (its singleton key), and nothing else reindexes usage_events.
  const leftovers = await db<{ name: string }[]>`
    select ic.relname::text as name
    from usage_partitions() up
    join pg_index x on x.indrelid = up.partition
    join pg_class ic on ic.oid = x.indexrelid
    where not x.indisvalid and ic.relname ~ '_cc(new|old)[0-9]*$'
      and not exists (select 1 from pg_inherits i where i.inhrelid = ic.oid)`;
  for (const { name } of leftovers) {
    await db`drop index concurrently if exists ${db(`public.${name}`)}`;
    summary.leftoversDropped++;
  }
  const targets = await compactionTargets(db, at);
  let lastMs = 0;
  for (const [i, target] of targets.entries()) {
    if (Date.now() + lastMs > deadline) {
      summary.remaining = targets.length - i;
      break;
    }
    const started = performance.now();
    const index = db(`public.${target.index}`);
    // A closed day takes almost no row any more: its pages can be full. A late replay splits a page as any insert.
    await db`alter index ${index} set (fillfactor = 100)`;
    await db`reindex index concurrently ${index}`;
    lastMs = Math.round(performance.now() - started);
    const [after] = await db<{ oid: number; bytes: string }[]>`
      select c.oid, pg_relation_size(c.oid)::text as bytes from pg_class c
      where c.relname = ${target.index} and c.relnamespace = 'public'::regnamespace`;
    await db`
      insert into usage_compactions (index_oid, index_name, partition_name, day, bytes_before, bytes_after, duration_ms)
      values (${after!.oid}, ${target.index}, ${target.partition}, ${target.day}, ${target.bytes}, ${after!.bytes},
              ${lastMs})
      on conflict (index_oid) do update set index_name = excluded.index_name, partition_name = excluded.partition_name,
        day = excluded.day, bytes_before = excluded.bytes_before, bytes_after = excluded.bytes_after,
        duration_ms = excluded.duration_ms, compacted_at = now()`;
    summary.compacted.push({
      index: target.index,
      day: target.day,
      bytesBefore: target.bytes,
      bytesAfter: Number(after!.bytes),
      ms: lastMs,
    });
  }
  if (summary.compacted.length)
    log().info(
      {
        indexes: summary.compacted.length,
        bytesBefore: summary.compacted.reduce((s, c) => s + c.bytesBefore, 0),
        bytesAfter: summary.compacted.reduce((s, c) => s + c.bytesAfter, 0),
        remaining: summary.remaining,
      },
      "usage partitions compacted",
    );
  return summary;
}

/** Enqueues a compaction when a closed day's index waits for one (a catalog read; no job row otherwise). */
export async function scheduleUsageCompaction(db: Db, asOf?: Date): Promise<boolean> {
  const at = asOf ?? (await db<{ now: Date }[]>`select tollgate_now() as now`)[0]!.now;
  if (!(await compactionTargets(db, at)).length) return false;
  await enqueue(db, USAGE_COMPACT_JOB, {}, { singletonKey: USAGE_COMPACT_JOB, maxAttempts: 3 });
  return true;
}

/** What compaction has saved on the days still kept, for the admins' retention page. */
export async function compactionTotals(db: Db): Promise<{
  indexes: number;
  days: number;
  bytesBefore: number;
  bytesAfter: number;
  lastAt: Date | null;
}> {
  const [row] = await db<
    { indexes: number; days: number; bytes_before: string; bytes_after: string; last_at: Date | null }[]
  >`
    select count(*)::int as indexes, count(distinct c.day)::int as days,
           coalesce(sum(c.bytes_before), 0)::text as bytes_before, coalesce(sum(c.bytes_after), 0)::text as bytes_after,
           max(c.compacted_at) as last_at
    from usage_compactions c
    where exists (select 1 from pg_index x where x.indexrelid = c.index_oid)`;
  return {
    indexes: row!.indexes,
    days: row!.days,
    bytesBefore: Number(row!.bytes_before),
    bytesAfter: Number(row!.bytes_after),
    lastAt: row!.last_at,
  };
}
