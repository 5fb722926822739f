import "server-only";
import type { Actor } from "@/lib/auth/types";
import type { Db } from "@/lib/db/client";
import type { UsageFilters } from "./schemas";
import { type Range, resolveRange, rollsUp, type ScopedFilters, usageScope, usageWhere } from "./usage";

// What the response cache did over a range (issue 30, billing contract clause 60): calls answered from the cache
// (hits), their share of all calls (hit rate), the money customers saved (the sum of the hits' cache_saved_micros:
// each hit's full price minus its cache-hit charge) and what the hits were charged (hit revenue). Per model from
// usage_hourly where a view allows it (the whole hours of a platform-wide range), per account and hit revenue from
// usage_events; the filters and scopes are the usage analytics' own (usageWhere), so a developer sees their own calls.

export interface CacheMeasures {
  calls: number;
  hits: number;
  /** What the hits' customers did not pay: Σ (full price − cache-hit charge). */
  savedMicros: bigint;
  /** What the hits were charged (the model's cache-hit share of their full price). */
  hitRevenueMicros: bigint;
}

export interface CacheModelRow extends CacheMeasures {
  model: string;
}

export interface CacheAccountRow extends Omit<CacheMeasures, "hitRevenueMicros"> {
  accountId: string;
  /** The person's email or the organization's name. */
  label: string;
  organizationSlug: string | null;
}

export interface CacheDay {
  /** The UTC day, YYYY-MM-DD. */
  day: string;
  hits: number;
  savedMicros: bigint;
}

export interface CacheReport {
  range: Range;
  totals: CacheMeasures;
  byModel: CacheModelRow[];
  byAccount: CacheAccountRow[];
  daily: CacheDay[];
}

const HOUR_MS = 3_600_000;

/** The events of a range as (UTC hour, model) pieces: calls, hits and savings. */
function eventPieces(db: Db, actor: Actor, f: ScopedFilters, range: Range) {
  return db`
    select date_trunc('hour', e.started_at at time zone 'utc') as at, e.model_group as model, 1::bigint as calls,
           e.cache_hit::int::bigint as hits, coalesce(e.cache_saved_micros, 0) as saved
    from usage_events e ${usageWhere(db, actor, f, range)}`;
}

/**
 * Calls, hits and savings per (UTC hour, model) piece: the whole hours of a platform-wide view from usage_hourly
 * (its roll-up trigger keeps cache_hits and cache_saved_micros), the partial hours at the edges and every scoped
 * view from usage_events, as usageSource splits them.
 */
function cacheSource(db: Db, actor: Actor, f: ScopedFilters, range: Range) {
  const raw = (r: Range) => eventPieces(db, actor, f, r);
  if (!rollsUp(actor, f)) return raw(range);
  const first = new Date(Math.ceil(range.from.getTime() / HOUR_MS) * HOUR_MS);
  const last = new Date(Math.floor(range.to.getTime() / HOUR_MS) * HOUR_MS);
  if (first >= last) return raw(range);
  const utc = (d: Date) => d.toISOString().slice(0, 19).replace("T", " ");
  return db`
    select h.hour as at, h.model_group as model, h.calls, h.cache_hits as hits, h.cache_saved_micros as saved
    from usage_hourly h
    where h.hour >= ${utc(first)}::timestamp and h.hour < ${utc(last)}::timestamp
      ${f.model ? db`and h.model_group = ${f.model}` : db``}
      ${f.kind ? db`and h.kind = ${f.kind}` : db``}
      ${f.status ? db`and h.status = ${f.status}` : db``}
      ${f.billing ? db`and h.billing_status = ${f.billing}` : db``}
    ${range.from < first ? db`union all ${raw({ from: range.from, to: first })}` : db``}
    ${last < range.to ? db`union all ${raw({ from: last, to: range.to })}` : db``}`;
}

/** What the hits were charged, per model (usage_hourly does not split revenue by hit). */
function hitRevenue(db: Db, actor: Actor, f: ScopedFilters, range: Range) {
  return db`
    select e.model_group as model, sum(e.revenue_micros) as revenue
    from usage_events e ${usageWhere(db, actor, f, range)} and e.cache_hit
    group by e.model_group`;
}

/** The cache's totals over a scoped range: what the usage pages show beside their other figures. */
export async function cacheTotals(
  db: Db,
  actor: Actor,
  f: ScopedFilters,
  range: Range,
): Promise<CacheMeasures> {
  const [row] = await db<CacheMeasures[]>`
    select coalesce(sum(s.calls), 0)::int as calls, coalesce(sum(s.hits), 0)::int as hits,
           coalesce(sum(s.saved), 0)::bigint as "savedMicros",
           (select coalesce(sum(r.revenue), 0) from (${hitRevenue(db, actor, f, range)}) r)::bigint as "hitRevenueMicros"
    from (${cacheSource(db, actor, f, range)}) s`;
  return row!;
}

/** Per model, most saved first (then most hits), models without hits included after them. */
async function cacheByModel(db: Db, actor: Actor, f: ScopedFilters, range: Range, limit: number) {
  return db<CacheModelRow[]>`
    with src as (
      select s.model, sum(s.calls) as calls, sum(s.hits) as hits, sum(s.saved) as saved
      from (${cacheSource(db, actor, f, range)}) s group by s.model
    )
    select src.model, src.calls::int as calls, src.hits::int as hits, src.saved::bigint as "savedMicros",
           coalesce(r.revenue, 0)::bigint as "hitRevenueMicros"
    from src left join (${hitRevenue(db, actor, f, range)}) r on r.model = src.model
    order by src.saved desc, src.hits desc, src.calls desc, src.model
    limit ${limit}`;
}

/** Per account charged, the accounts with hits only, most saved first. */
async function cacheByAccount(db: Db, actor: Actor, f: ScopedFilters, range: Range, limit: number) {
  return db<CacheAccountRow[]>`
    with agg as (
      select e.account_id, count(*) as calls, count(*) filter (where e.cache_hit) as hits,
             coalesce(sum(e.cache_saved_micros), 0) as saved
      from usage_events e ${usageWhere(db, actor, f, range)}
      group by e.account_id
      having count(*) filter (where e.cache_hit) > 0
      order by saved desc, hits desc limit ${limit}
    )
    select agg.account_id::text as "accountId",
           coalesce(o.name || ' (organization)', u.email, 'account ' || agg.account_id::text) as label,
           o.slug as "organizationSlug", agg.calls::int as calls, agg.hits::int as hits,
           agg.saved::bigint as "savedMicros"
    from agg join accounts a on a.id = agg.account_id
    left join users u on u.id = a.owner_user_id left join organizations o on o.id = a.organization_id
    order by agg.saved desc, agg.hits desc, label`;
}

/** Hits and savings per UTC day of the range, empty days included. */
async function cacheDaily(db: Db, actor: Actor, f: ScopedFilters, range: Range) {
  return db<CacheDay[]>`
    with agg as (
      select date_trunc('day', s.at) as day, sum(s.hits) as hits, sum(s.saved) as saved
      from (${cacheSource(db, actor, f, range)}) s group by 1
    ),
    span as (
      select generate_series(date_trunc('day', ${range.from}::timestamptz at time zone 'utc'),
                             ${range.to}::timestamptz at time zone 'utc' - interval '1 microsecond',
                             interval '1 day') as day
    )
    select to_char(span.day, 'YYYY-MM-DD') as day, coalesce(agg.hits, 0)::int as hits,
           coalesce(agg.saved, 0)::bigint as "savedMicros"
    from span left join agg on agg.day = span.day
    order by span.day`;
}

/** The response cache over a filtered range: totals, per model, per account and per day. */
export async function cacheReport(db: Db, actor: Actor, q: UsageFilters, limit = 50): Promise<CacheReport> {
  const range = resolveRange(q);
  const f = await usageScope(db, actor, q);
  const [totals, byModel, byAccount, daily] = await Promise.all([
    cacheTotals(db, actor, f, range),
    cacheByModel(db, actor, f, range, limit),
    cacheByAccount(db, actor, f, range, limit),
    cacheDaily(db, actor, f, range),
  ]);
  return { range, totals, byModel, byAccount, daily };
}
