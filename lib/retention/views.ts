import "server-only";
import type { Actor } from "@/lib/auth/types";
import { type Db, platformNow } from "@/lib/db/client";
import { rebuiltByCompaction } from "@/lib/usage/compact";
import { assertAdmin } from "@/lib/users/assert-admin";
import { getRetentionSettings } from "./policy";
import { addUtcDays, utcDayOf } from "./run";
import type { RetentionSettings } from "./schemas";

/** One partition of usage_events as the admin page shows it. */
export interface PartitionDay {
  name: string;
  isDefault: boolean;
  /** First UTC day of its range; null for the default partition. */
  day: string | null;
  /** Days in its range (1 for a daily partition). */
  days: number;
  /** The planner's estimate (pg_class.reltuples): counting a 10M-row day exactly is not worth a page load. Null
   *  until the partition is first analyzed. */
  estimatedRows: number | null;
  bytes: number;
  /** The day's last settlement: completed, running, or none yet. */
  settlement: "completed" | "running" | "failed" | "none";
  /** The last check retention made of the day: verified, or why it refused; null until the day is due. */
  lastCheck: { at: Date; ok: boolean; reason: string | null } | null;
  /** The first UTC day whose retention run drops it (the day after its last kept day). */
  dropsOn: string | null;
  /** Its indexes rebuilt packed once the day closed (docs/adr/0027), their bytes before and after; null until then. */
  compacted: { indexes: number; of: number; bytesBefore: number; bytesAfter: number } | null;
}

export interface RetentionRunView {
  id: string;
  trigger: string;
  status: string;
  asOf: Date;
  startedAt: Date;
  durationMs: number | null;
  partitionsDropped: number;
  daysRefused: number;
  detailRowsDropped: number;
  bytesDropped: number;
  orgRowsTrimmed: number;
  hourlyRowsDeleted: number;
  ownerRowsDeleted: number;
  conversationsDeleted: number;
  error: string | null;
  actions: { day: string; action: string; partition: string | null; rows: number; reason: string | null }[];
}

export interface RetentionOverview {
  settings: RetentionSettings;
  asOf: Date;
  partitioned: boolean;
  partitions: PartitionDay[];
  totalBytes: number;
  /** The partitions' compaction summed: days and indexes rebuilt packed, their bytes before and after. */
  compaction: { indexes: number; days: number; bytesBefore: number; bytesAfter: number };
  runs: RetentionRunView[];
  organizations: {
    slug: string;
    name: string;
    usageDetailDays: number | null;
    playgroundDays: number | null;
  }[];
}

/** What is kept and for how long (admins): the policy, each partition with its day's state, the last runs. */
export async function retentionOverview(db: Db, actor: Actor, runLimit = 10): Promise<RetentionOverview> {
  assertAdmin(actor);
  const settings = await getRetentionSettings(db);
  const now = await platformNow(db);
  const rows = await db<
    {
      name: string;
      is_default: boolean;
      from_at: Date | null;
      to_at: Date | null;
      bytes: bigint;
      estimated_rows: bigint | null;
      settlement: string | null;
      check_at: Date | null;
      check_action: string | null;
      check_reason: string | null;
      compacted_indexes: number;
      index_count: number;
      bytes_before: number;
      bytes_after: number;
    }[]
  >`
    select p.name, p.is_default, p.from_at, p.to_at, p.bytes,
           k.compacted_indexes, k.index_count, k.bytes_before, k.bytes_after,
           (select case when c.reltuples >= 0 then c.reltuples::bigint end from pg_class c where c.oid = p.partition)
             as estimated_rows,
           s.status as settlement,
           c.created_at as check_at, c.action as check_action, c.reason as check_reason
    from usage_partitions() p
    left join lateral (
      select status from settlement_runs r where r.day = (p.from_at at time zone 'utc')::date
      order by (status = 'completed') desc, started_at desc limit 1) s on true
    left join lateral (
      select created_at, action, reason from retention_actions a
      where a.day = (p.from_at at time zone 'utc')::date and a.account_id is null
      order by created_at desc limit 1) c on true
    -- Of the indexes compaction rebuilds, those compacted: their current relation is the one recorded
    -- (lib/usage/compact.ts).
    cross join lateral (
      select count(uc.index_oid)::int as compacted_indexes, count(*)::int as index_count,
             coalesce(sum(uc.bytes_before), 0)::float8 as bytes_before,
             coalesce(sum(uc.bytes_after), 0)::float8 as bytes_after
      from pg_index x join pg_class ic on ic.oid = x.indexrelid
      left join usage_compactions uc on uc.index_oid = ic.oid and uc.index_name = ic.relname
      where x.indrelid = p.partition and x.indisvalid and ${rebuiltByCompaction(db)}) k
    order by p.from_at desc nulls first`;
  // A partition whose bounds postgres.js could not read (a BC day: Invalid Date) is left out, never thrown on.
  const readable = rows.filter(
    (r) =>
      (!r.from_at || !Number.isNaN(r.from_at.getTime())) && (!r.to_at || !Number.isNaN(r.to_at.getTime())),
  );
  const partitions: PartitionDay[] = readable.map((r) => {
    const day = r.from_at ? utcDayOf(r.from_at) : null;
    const days =
      r.from_at && r.to_at ? Math.round((r.to_at.getTime() - r.from_at.getTime()) / 86_400_000) : 0;
    return {
      name: r.name,
      isDefault: r.is_default,
      day,
      days,
      estimatedRows: r.estimated_rows === null ? null : Number(r.estimated_rows),
      bytes: Number(r.bytes),
      settlement: (r.settlement as PartitionDay["settlement"] | null) ?? "none",
      lastCheck: r.check_at
        ? { at: r.check_at, ok: r.check_action !== "refused", reason: r.check_reason }
        : null,
      dropsOn: day ? addUtcDays(day, Math.max(days, 1) - 1 + settings.usageDetailDays + 1) : null,
      compacted: r.compacted_indexes
        ? {
            indexes: r.compacted_indexes,
            of: r.index_count,
            bytesBefore: r.bytes_before,
            bytesAfter: r.bytes_after,
          }
        : null,
    };
  });
  const runs = await db<Omit<RetentionRunView, "actions">[]>`
    select id, trigger, status, as_of as "asOf", started_at as "startedAt", duration_ms as "durationMs",
           partitions_dropped as "partitionsDropped", days_refused as "daysRefused",
           detail_rows_dropped::float8 as "detailRowsDropped", bytes_dropped::float8 as "bytesDropped",
           org_rows_trimmed::float8 as "orgRowsTrimmed", hourly_rows_deleted::float8 as "hourlyRowsDeleted",
           owner_rows_deleted::float8 as "ownerRowsDeleted",
           conversations_deleted::float8 as "conversationsDeleted", error
    from retention_runs order by started_at desc limit ${runLimit}`;
  const actions = runs.length
    ? await db<
        {
          run_id: string;
          day: string;
          action: string;
          partition: string | null;
          rows: number;
          reason: string | null;
        }[]
      >`
        select run_id, to_char(day, 'YYYY-MM-DD') as day, action, partition_name as partition, rows::float8 as rows,
               reason
        from retention_actions where run_id in ${db(runs.map((r) => r.id))}
        order by day, id`
    : [];
  const organizations = await db<RetentionOverview["organizations"]>`
    select o.slug, o.name, r.usage_detail_days as "usageDetailDays", r.playground_days as "playgroundDays"
    from organization_retention r join organizations o on o.id = r.organization_id
    where r.usage_detail_days is not null or r.playground_days is not null
    order by o.name limit 200`;
  const [partitioned] = await db<{ ok: boolean }[]>`
    select relkind = 'p' as ok from pg_class where oid = 'public.usage_events'::regclass`;
  return {
    settings,
    asOf: now,
    partitioned: partitioned?.ok ?? false,
    partitions,
    totalBytes: partitions.reduce((n, p) => n + p.bytes, 0),
    compaction: partitions.reduce(
      (sum, p) =>
        p.compacted
          ? {
              indexes: sum.indexes + p.compacted.indexes,
              days: sum.days + 1,
              bytesBefore: sum.bytesBefore + p.compacted.bytesBefore,
              bytesAfter: sum.bytesAfter + p.compacted.bytesAfter,
            }
          : sum,
      { indexes: 0, days: 0, bytesBefore: 0, bytesAfter: 0 },
    ),
    runs: runs.map((r) => ({
      ...r,
      actions: actions.filter((a) => a.run_id === r.id).map(({ run_id: _r, ...a }) => a),
    })),
    organizations,
  };
}
