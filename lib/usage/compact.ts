import "server-only";
import { type Db, platformNow, type Sql } from "@/lib/db/client";
import { log } from "@/lib/log";
import { enqueue } from "@/lib/queue";
import { getRetentionSettings } from "@/lib/retention/policy";
import { addUtcDays, utcDayOf } from "@/lib/retention/run";

// Compacting closed days (docs/adr/0027): a daily partition of usage_events takes its rows interleaved across
// thousands of keys, users and accounts, so each owner index splits pages in the middle of a key's range and leaves
// them half empty; once no row lands in the day any more, its indexes are rebuilt packed (fillfactor 100, REINDEX
// INDEX CONCURRENTLY: reads and writes of the day go on). The queue's usage.compact job does it, one index at a time,
// each only if its estimated time fits what is left of the drain's budget, and a rebuild still running at the deadline
// is cancelled (it leaves an invalid copy, which the next run drops). The drain tick enqueues the job only while an
// index that fits waits.

export const USAGE_COMPACT_JOB = "usage.compact";

/** A day is closed, and compacted, from this many UTC days after it (late replays and upgrades have landed). */
export const CLOSED_AFTER_DAYS = 2;

/** Nor is a day compacted within this many days of retention dropping it: the work would be thrown away. */
export const BEFORE_RETENTION_DAYS = 2;

/** A compaction job starts only this early in a drain: the rest of the function's 60 s is its own. */
export const COMPACT_START_MS = 5_000;

/** A rebuild still running this long after the job's deadline is cancelled (inside the function's maxDuration). */
export const CANCEL_GRACE_MS = 10_000;

/**
 * A rebuild's time per MB of its partition's heap plus the index (the heap is read once, the entries sorted), until
 * this database's own rebuilds say otherwise: about 3.4 ms was measured on a 2-core machine (bench:usage-size).
 */
export const DEFAULT_MS_PER_MB = 10;

/** The partitions ensure_usage_partitions makes: only these are compacted (a hand-made table is left alone). */
const DAILY_PARTITION = "^usage_events_p[0-9]{8}$";
/** Catalog names the job puts into DDL: lower-case letters, digits and underscores only. */
const PLAIN_NAME = /^[a-z0-9_]+$/;

export interface CompactionTarget {
  index: string;
  partition: string;
  day: string;
  oid: number;
  bytes: number;
  heapBytes: number;
  /** The rebuild's estimated time, from this database's earlier rebuilds (or DEFAULT_MS_PER_MB). */
  estimateMs: number;
}

export interface CompactionSummary {
  compacted: { index: string; day: string; bytesBefore: number; bytesAfter: number; ms: number }[];
  /** Rebuilds that finished after their caller went away (a function cut off), recorded now. */
  recovered: number;
  /** Interrupted runs' invalid copies (REINDEX CONCURRENTLY's _ccnew / _ccold), dropped. */
  leftoversDropped: number;
  /** Indexes left for a later run: their estimate did not fit before the deadline, or their rebuild was cancelled. */
  remaining: number;
  /** A rebuild cancelled at the deadline (it waited for older transactions, or ran long). */
  cancelled: string | null;
}

/** Thrown when given a transaction: REINDEX CONCURRENTLY runs outside any transaction block (pass the pool). */
export class CompactionInTransactionError extends Error {
  constructor() {
    super("compactUsagePartitions runs REINDEX CONCURRENTLY, which no transaction may hold: pass the pool");
    this.name = "CompactionInTransactionError";
  }
}

/**
 * The indexes compaction rebuilds, for a query with the index's pg_class row as `ic`: the btrees (a BRIN index, such as
 * usage_events_id_brin, is as small as it gets when built and takes no fillfactor: docs/adr/0030).
 */
export const rebuiltByCompaction = (db: Db) =>
  db`exists (select 1 from pg_am am where am.oid = ic.relam and am.amname = 'btree')`;

/** This database's rebuild time per MB of heap plus index, from its last rebuilds that took long enough to say. */
async function msPerMb(db: Db): Promise<number> {
  const [row] = await db<{ rate: number | null; n: number }[]>`
    select (sum(duration_ms)::float8 / nullif(sum(heap_bytes + bytes_before), 0) * 1048576) as rate, count(*)::int as n
    from (select duration_ms, heap_bytes, bytes_before from usage_compactions
          where duration_ms >= 200 order by compacted_at desc limit 20) r`;
  return row!.n >= 3 && row!.rate ? row!.rate : DEFAULT_MS_PER_MB;
}

/**
 * The indexes of closed days' partitions not compacted yet, the most recently closed day first, each with its
 * estimated rebuild time. Catalog reads only (usage_partitions(), pg_index), no row of usage_events. A partition
 * with an index being built right now (an earlier run's rebuild still going on the server) waits for a later run.
 */
export async function compactionTargets(db: Db, asOf: Date): Promise<CompactionTarget[]> {
  const settings = await getRetentionSettings(db);
  const today = utcDayOf(asOf);
  const from = addUtcDays(today, -settings.usageDetailDays + BEFORE_RETENTION_DAYS);
  const to = addUtcDays(today, -CLOSED_AFTER_DAYS);
  const rows = await db<
    { index: string; partition: string; day: string; oid: number; bytes: string; heap_bytes: string }[]
  >`
    select ic.relname::text as index, p.name as partition, to_char(p.day, 'YYYY-MM-DD') as day, ic.oid::int8 as oid,
           pg_relation_size(ic.oid)::text as bytes, pg_relation_size(p.partition)::text as heap_bytes
    from (select up.partition, up.name, (up.from_at at time zone 'utc')::date as day
          from usage_partitions() up
          where not up.is_default and up.name ~ ${DAILY_PARTITION}
            and up.to_at = up.from_at + interval '1 day') p
    join pg_class t on t.oid = p.partition and t.relnamespace = 'public'::regnamespace
    join pg_index x on x.indrelid = p.partition
    join pg_class ic on ic.oid = x.indexrelid
    where p.day between ${from}::date and ${to}::date and ${rebuiltByCompaction(db)}
      and x.indisvalid and x.indisready
      and not exists (select 1 from usage_compactions c
                      where c.index_name = ic.relname and c.index_oid = ic.oid)
      and not exists (select 1 from pg_stat_progress_create_index b where b.relid = p.partition)
    order by p.day desc, ic.relname`;
  const plain = rows.filter((r) => PLAIN_NAME.test(r.index) && PLAIN_NAME.test(r.partition));
  // The rate from earlier rebuilds is read only when there is something to estimate (most drain ticks have nothing).
  const rate = plain.length ? await msPerMb(db) : DEFAULT_MS_PER_MB;
  return plain.map((r) => {
    const bytes = Number(r.bytes);
    const heapBytes = Number(r.heap_bytes);
    return {
      index: r.index,
      partition: r.partition,
      day: r.day,
      oid: Number(r.oid),
      bytes,
      heapBytes,
      estimateMs: Math.ceil(((heapBytes + bytes) / 1_048_576) * rate),
    };
  });
}

/**
 * The housekeeping before a run: records of indexes that are gone (their day dropped) are removed; a rebuild that
 * finished after its caller went away is recorded; an invalid copy left by an interrupted rebuild is dropped, unless an
 * index is being built on its partition right now (then it may be that rebuild's own copy). Returns the counts.
 */
async function tidy(db: Sql | Db): Promise<{ recovered: number; leftoversDropped: number }> {
  await db`
    delete from usage_compactions c
    where not exists (select 1 from pg_class ic
                      where ic.relname = c.index_name and ic.relnamespace = 'public'::regnamespace)`;
  const recovered = await db`
    update usage_compactions c
    set index_oid = ic.oid, bytes_after = pg_relation_size(ic.oid), compacted_at = now()
    from pg_class ic join pg_index x on x.indexrelid = ic.oid
    where c.index_oid is null and ic.relname = c.index_name and ic.relnamespace = 'public'::regnamespace
      and ic.oid <> c.old_oid and x.indisvalid and 'fillfactor=100' = any(ic.reloptions)
      and not exists (select 1 from pg_stat_progress_create_index b where b.relid = x.indrelid)`;
  const leftovers = await db<{ name: string }[]>`
    select ic.relname::text as name
    from usage_partitions() up
    join pg_index x on x.indrelid = up.partition
    join pg_class ic on ic.oid = x.indexrelid
    where up.name ~ ${DAILY_PARTITION} and not x.indisvalid and ic.relname ~ '_cc(new|old)[0-9]*$'
      and ic.relnamespace = 'public'::regnamespace
      and not exists (select 1 from pg_inherits i where i.inhrelid = ic.oid)
      and not exists (select 1 from pg_stat_progress_create_index b where b.relid = up.partition)`;
  let leftoversDropped = 0;
  for (const { name } of leftovers.filter((l) => PLAIN_NAME.test(l.name))) {
    await db`drop index concurrently if exists ${db(`public.${name}`)}`;
    leftoversDropped++;
  }
  return { recovered: recovered.count, leftoversDropped };
}

/** postgres.js's error when the statement was cancelled (pg_cancel_backend, statement_timeout). */
const isCancel = (error: unknown) => (error as { code?: string } | null)?.code === "57014";

/**
 * Runs `statement` (a rebuild of `index`); at `cancelAt` a second connection cancels it if it is still running, so a
 * rebuild waiting on an old transaction never outlives the job. Through the transaction pooler the job has no session
 * of its own to set a timeout on: the statement is found in pg_stat_activity by its text.
 */
async function cancelledAt<T>(db: Sql | Db, index: string, cancelAt: number, statement: () => Promise<T>) {
  if (!Number.isFinite(cancelAt)) return statement();
  const watchdog = setTimeout(
    () => {
      db`
        select pg_cancel_backend(a.pid) from pg_stat_activity a
        where a.pid <> pg_backend_pid() and a.state = 'active' and a.datname = current_database()
          and a.query ilike ${`%reindex index concurrently "public"."${index}"%`}`.catch((error) =>
        log().warn({ err: error, index }, "could not cancel a usage index rebuild past its deadline"),
      );
    },
    Math.max(0, cancelAt - Date.now()),
  );
  try {
    return await statement();
  } finally {
    clearTimeout(watchdog);
  }
}

/**
 * Rebuilds the closed days' partition indexes packed, one at a time, each only when its estimated time ends before
 * `deadline`; a rebuild still running CANCEL_GRACE_MS after it is cancelled (and left to a later run). Each is recorded
 * in usage_compactions before (its old relation) and after (the new one, its size and time).
 */
export async function compactUsagePartitions(
  db: Sql | Db,
  {
    asOf,
    deadline = Number.POSITIVE_INFINITY,
    cancelGraceMs = CANCEL_GRACE_MS,
  }: { asOf?: Date; deadline?: number; cancelGraceMs?: number } = {},
): Promise<CompactionSummary> {
  if (!("begin" in db)) throw new CompactionInTransactionError();
  const at = asOf ?? (await platformNow(db));
  const summary: CompactionSummary = {
    compacted: [],
    recovered: 0,
    leftoversDropped: 0,
    remaining: 0,
    cancelled: null,
  };
  Object.assign(summary, await tidy(db));
  const targets = await compactionTargets(db, at);
  for (const [i, target] of targets.entries()) {
    if (Date.now() + target.estimateMs > deadline) {
      summary.remaining = targets.length - i;
      break;
    }
    const index = db(`public.${target.index}`);
    await db`
      insert into usage_compactions (index_name, partition_name, day, old_oid, bytes_before, heap_bytes)
      values (${target.index}, ${target.partition}, ${target.day}, ${target.oid}, ${target.bytes}, ${target.heapBytes})
      on conflict (index_name) do update set partition_name = excluded.partition_name, day = excluded.day,
        old_oid = excluded.old_oid, index_oid = null, bytes_before = excluded.bytes_before,
        heap_bytes = excluded.heap_bytes, bytes_after = null, duration_ms = null, started_at = now(),
        compacted_at = null`;
    const started = performance.now();
    try {
      // A closed day takes almost no row any more: its pages can be full. A late replay splits a page as any insert.
      await db`alter index ${index} set (fillfactor = 100)`;
      await cancelledAt(
        db,
        target.index,
        deadline + cancelGraceMs,
        () => db`reindex index concurrently ${index}`,
      );
    } catch (error) {
      if (!isCancel(error)) throw error;
      summary.cancelled = target.index;
      summary.remaining = targets.length - i;
      log().warn(
        { index: target.index },
        "usage index rebuild cancelled at its deadline: a later run does it",
      );
      break;
    }
    const ms = Math.round(performance.now() - started);
    const [after] = await db<{ bytes: string }[]>`
      update usage_compactions c
      set index_oid = ic.oid, bytes_after = pg_relation_size(ic.oid), duration_ms = ${ms}, compacted_at = now()
      from pg_class ic
      where c.index_name = ${target.index} and ic.relname = c.index_name and ic.relnamespace = 'public'::regnamespace
      returning c.bytes_after::text as bytes`;
    summary.compacted.push({
      index: target.index,
      day: target.day,
      bytesBefore: target.bytes,
      bytesAfter: Number(after!.bytes),
      ms,
    });
  }
  if (summary.compacted.length || summary.recovered || summary.cancelled)
    log().info(
      {
        indexes: summary.compacted.length,
        bytesBefore: summary.compacted.reduce((s, c) => s + c.bytesBefore, 0),
        bytesAfter: summary.compacted.reduce((s, c) => s + c.bytesAfter, 0),
        recovered: summary.recovered,
        remaining: summary.remaining,
        cancelled: summary.cancelled,
      },
      "usage partitions compacted",
    );
  return summary;
}

/**
 * Enqueues a compaction when a closed day's index waits whose estimated rebuild fits in a drain's budget (a catalog
 * read; no job row otherwise). An index too large for any drain is left as it is, and logged.
 */
export async function scheduleUsageCompaction(
  db: Db,
  { asOf, budgetMs }: { asOf?: Date; budgetMs: number },
): Promise<boolean> {
  const targets = await compactionTargets(db, asOf ?? (await platformNow(db)));
  if (!targets.some((t) => t.estimateMs <= budgetMs - COMPACT_START_MS)) {
    const large = targets[0];
    if (large)
      log().info(
        { index: large.index, estimateMs: large.estimateMs, budgetMs },
        "a usage index is too large to rebuild within a drain: it stays as it is",
      );
    return false;
  }
  await enqueue(db, USAGE_COMPACT_JOB, {}, { singletonKey: USAGE_COMPACT_JOB, maxAttempts: 3 });
  return true;
}
