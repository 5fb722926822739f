import "server-only";
import type { Db } from "@/lib/db/client";
import { enqueue } from "@/lib/queue";

// usage_events' daily partitions (docs/adr/0020): the queue's usage.partitions job, scheduled on every drain tick
// (app/api/cron/drain), keeps the UTC days from yesterday to DAYS_AHEAD ahead partitioned, so no midnight finds its
// day missing, and moves any event that arrived for a day without one (a late replay, clock skew) out of
// usage_events_default into its own day's new partition. Both are ensure_usage_partitions
// (supabase/schemas/19.ensure_usage_partitions.sql): idempotent, and concurrent runs take turns.

export const USAGE_PARTITIONS_JOB = "usage.partitions";

/** How many UTC days ahead of today (tollgate_now()) a partition exists. */
export const DAYS_AHEAD = 7;

export interface PartitionUpkeep {
  partitionsCreated: number;
  rowsMoved: number;
}

/** Creates the missing partitions from yesterday to `daysAhead` days ahead, and empties the default partition. */
export async function ensureUsagePartitions(db: Db, daysAhead = DAYS_AHEAD): Promise<PartitionUpkeep> {
  const [row] = await db<{ partitionsCreated: number; rowsMoved: string }[]>`
    select partitions_created as "partitionsCreated", rows_moved::text as "rowsMoved"
    from ensure_usage_partitions((tollgate_now() at time zone 'utc')::date - 1,
                                 (tollgate_now() at time zone 'utc')::date + ${daysAhead}::int)`;
  return { partitionsCreated: row!.partitionsCreated, rowsMoved: Number(row!.rowsMoved) };
}

/** Enqueues this tick's partition upkeep (one unfinished job at a time). */
export async function scheduleUsagePartitions(db: Db): Promise<void> {
  await enqueue(db, USAGE_PARTITIONS_JOB, {}, { singletonKey: USAGE_PARTITIONS_JOB, maxAttempts: 3 });
}
