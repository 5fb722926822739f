import "server-only";
import type { Actor } from "@/lib/auth/types";
import { ownerScope, withMargin } from "@/lib/auth/visibility";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import type { AnalyticsQuery, UsageFilters } from "./schemas";

// Usage analytics over usage_events: what the dashboard charts, tables and exports read. Every query takes the
// same filters (schemas.ts) through one WHERE clause; developers only ever see their own calls, admins all.
// Provider cost (and so margin) is for admins only.

const DAY_MS = 86_400_000;
const MAX_RANGE_DAYS = 400;

export interface Range {
  from: Date;
  to: Date;
}

function startOf(value: string): Date {
  return new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
}

/** The filters' time range as instants: a UTC day `to` includes that day; defaults to the last 7 days. */
export function resolveRange(f: Pick<UsageFilters, "from" | "to">, now = new Date()): Range {
  const to = f.to ? new Date(startOf(f.to).getTime() + (f.to.length === 10 ? DAY_MS : 0)) : now;
  const from = f.from ? startOf(f.from) : new Date(to.getTime() - 7 * DAY_MS);
  if (from >= to) {
    throw new AppError("validation_failed", "The start of the range must be before its end.", {
      issues: [{ path: "from", message: "before `to`" }],
    });
  }
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) {
    throw new AppError("validation_failed", `A range spans at most ${MAX_RANGE_DAYS} days.`, {
      issues: [{ path: "from", message: `at most ${MAX_RANGE_DAYS} days before \`to\`` }],
    });
  }
  return { from, to };
}

/** The one WHERE clause of every usage read (`e` is usage_events). */
export function usageWhere(db: Db, actor: Actor, f: UsageFilters, range: Range) {
  const own = ownerScope(actor);
  const user = own ?? f.userId ?? null;
  const errorClass = f.error && f.error !== "any" ? f.error : null;
  return db`
    where e.started_at >= ${range.from} and e.started_at < ${range.to}
      ${user ? db`and e.user_id = ${user}` : db``}
      ${own && f.userId && f.userId !== own ? db`and false` : db``}
      ${f.keyId ? db`and e.key_id = ${f.keyId}` : db``}
      ${f.model ? db`and e.model_group = ${f.model}` : db``}
      ${f.kind ? db`and e.kind = ${f.kind}` : db``}
      ${f.status ? db`and e.status = ${f.status}` : db``}
      ${f.billing ? db`and e.billing_status = ${f.billing}` : db``}
      ${f.error === "any" ? db`and e.error_class is not null` : db``}
      ${errorClass ? db`and e.error_class = ${errorClass}` : db``}`;
}

const HOUR_MS = 3_600_000;

/** The events of a range as the rows every view aggregates (one call each). */
function eventRows(db: Db, actor: Actor, f: UsageFilters, range: Range) {
  return db`
    select date_trunc('hour', e.started_at at time zone 'utc') as at, e.model_group as model, e.user_id, e.key_id,
           1::bigint as calls, (e.status = 'failure')::int::bigint as failures, e.prompt_tokens::bigint as tokens_in,
           e.completion_tokens::bigint as tokens_out, e.revenue_micros as revenue, e.cost_micros as cost, e.kind,
           e.images::bigint as images, e.audio_ms, e.characters::bigint as characters
    from usage_events e ${usageWhere(db, actor, f, range)}`;
}

/**
 * Whether a view can read usage_hourly (it has no user): platform-wide views filtered at most by model, call kind,
 * outcome and billing status (the roll-up's dimensions). Own, user, key and error-class views read the events.
 */
function rollsUp(actor: Actor, f: UsageFilters): boolean {
  return ownerScope(actor) === null && !f.userId && !f.keyId && !f.error;
}

/**
 * The rows a view aggregates, one per (UTC hour, model) piece: whole hours inside the range from usage_hourly, the
 * partial hours at its edges (and every view usage_hourly cannot answer) from usage_events. Columns: at (the UTC
 * hour), model, user_id and key_id (null from the roll-up), calls, failures, tokens_in, tokens_out, revenue, cost,
 * kind, images, audio_ms, characters.
 */
export function usageSource(db: Db, actor: Actor, f: UsageFilters, range: Range) {
  const raw = (r: Range) => eventRows(db, actor, f, r);
  if (!rollsUp(actor, f)) return raw(range);
  const first = new Date(Math.ceil(range.from.getTime() / HOUR_MS) * HOUR_MS);
  const last = new Date(Math.floor(range.to.getTime() / HOUR_MS) * HOUR_MS);
  if (first >= last) return raw(range);
  const utc = (d: Date) => d.toISOString().slice(0, 19).replace("T", " ");
  return db`
    select h.hour as at, h.model_group as model, null::uuid as user_id, null::uuid as key_id, h.calls,
           case when h.status = 'failure' then h.calls else 0 end as failures, h.tokens_in, h.tokens_out,
           h.revenue_micros as revenue, h.cost_micros as cost, h.kind, h.images, h.audio_ms, h.characters
    from usage_hourly h
    where h.hour >= ${utc(first)}::timestamp and h.hour < ${utc(last)}::timestamp
      ${f.model ? db`and h.model_group = ${f.model}` : db``}
      ${f.kind ? db`and h.kind = ${f.kind}` : db``}
      ${f.status ? db`and h.status = ${f.status}` : db``}
      ${f.billing ? db`and h.billing_status = ${f.billing}` : db``}
    ${range.from < first ? db`union all ${raw({ from: range.from, to: first })}` : db``}
    ${last < range.to ? db`union all ${raw({ from: last, to: range.to })}` : db``}`;
}

const ownerRollsUp = (actor: Actor, f: UsageFilters) => rollsUp(actor, f) && !f.kind && !f.status;

/** The UTC days wholly inside the range whose daily settlement has completed (their usage_rollups are final). */
async function settledDaysIn(db: Db, range: Range): Promise<string[]> {
  const firstDay = new Date(Math.ceil(range.from.getTime() / DAY_MS) * DAY_MS);
  const lastDay = new Date(Math.floor(range.to.getTime() / DAY_MS) * DAY_MS);
  if (firstDay >= lastDay) return [];
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const rows = await db<{ day: string }[]>`
    select distinct to_char(day, 'YYYY-MM-DD') as day from settlement_runs
    where status = 'completed' and day >= ${day(firstDay)}::date and day < ${day(lastDay)}::date`;
  return rows.map((r) => r.day);
}

/**
 * The rows of a by-user or by-key view: days the daily settlement has completed from usage_rollups (its per-day ×
 * account × key × model × billing-status sums; a failed call is a waived one), every other stretch of the range from
 * usage_events. Views filtered by user, key, call kind, outcome or error read the events only.
 */
function ownerSource(db: Db, actor: Actor, f: UsageFilters, range: Range, settledDays: string[]) {
  const raw = (r: Range) => eventRows(db, actor, f, r);
  const settled = ownerRollsUp(actor, f) ? settledDays : [];
  if (!settled.length) return raw(range);
  // The unsettled stretches of the range, each read from the events by time.
  const gaps: Range[] = [];
  let cursor = range.from;
  for (const d of settled.sort()) {
    const start = new Date(`${d}T00:00:00Z`);
    if (cursor < start) gaps.push({ from: cursor, to: start });
    cursor = new Date(start.getTime() + DAY_MS);
  }
  if (cursor < range.to) gaps.push({ from: cursor, to: range.to });
  return db`
    select r.day::timestamp as at, r.model_group as model, a.owner_user_id as user_id, r.key_id,
           r.requests::bigint as calls,
           case when r.billing_status = 'waived' then r.requests else 0 end::bigint as failures, r.tokens_in,
           r.tokens_out, r.revenue_micros as revenue, r.cost_micros as cost,
           -- The daily roll-up keeps no call kind or units: by-user and by-key views show money, calls and tokens.
           null::text as kind, 0::bigint as images, 0::bigint as audio_ms, 0::bigint as characters
    from usage_rollups r join accounts a on a.id = r.account_id
    where r.day = any(${db.array(settled)}::date[])
      ${f.model ? db`and r.model_group = ${f.model}` : db``}
      ${f.billing ? db`and r.billing_status = ${f.billing}` : db``}
    ${gaps.map((g) => db`union all ${raw(g)}`)}`;
}

/** What every total, point and row of the analytics measures. */
interface Measures {
  calls: number;
  failures: number;
  tokensIn: bigint;
  tokensOut: bigint;
  revenueMicros: bigint;
  /** Admins only (and margin = revenue − cost). */
  costMicros?: bigint;
  marginMicros?: bigint;
}

export interface UsageTotals extends Measures {
  activeKeys: number;
  activeUsers: number;
}

export interface SeriesPoint extends Measures {
  at: string;
}

export interface BreakdownRow extends Measures {
  id: string;
  label: string;
  detail: string | null;
  /** By model and by call kind: the units besides tokens (images made, audio ms heard, characters spoken). */
  images?: number;
  audioMs?: number;
  characters?: number;
}

const aggregates = (db: Db) => db`
  coalesce(sum(s.calls), 0)::int as calls,
  coalesce(sum(s.failures), 0)::int as failures,
  coalesce(sum(s.tokens_in), 0)::bigint as "tokensIn",
  coalesce(sum(s.tokens_out), 0)::bigint as "tokensOut",
  coalesce(sum(s.revenue), 0)::bigint as "revenueMicros",
  coalesce(sum(s.cost), 0)::bigint as "costMicros"`;

export async function usageTotals(db: Db, actor: Actor, f: UsageFilters, range = resolveRange(f)) {
  // Keys and users that called in the range: probed key by key (and user by user) through their indexes, which
  // stays cheap however many events the range holds.
  const where = usageWhere(db, actor, f, range);
  const [row] = await db<(UsageTotals & { costMicros: bigint })[]>`
    select ${aggregates(db)},
           (select count(*) from api_keys k
            where exists (select 1 from usage_events e ${where} and e.key_id = k.id))::int as "activeKeys",
           (select count(*) from users u
            where exists (select 1 from usage_events e ${where} and e.user_id = u.id))::int as "activeUsers"
    from (${usageSource(db, actor, f, range)}) s`;
  return withMargin(actor, row!);
}

export function defaultBucket(range: Range): "hour" | "day" {
  return range.to.getTime() - range.from.getTime() <= 2 * DAY_MS ? "hour" : "day";
}

/** Calls, tokens and money per UTC hour or day over the range, empty buckets included. */
export async function usageSeries(
  db: Db,
  actor: Actor,
  f: UsageFilters,
  bucket: "hour" | "day",
  range = resolveRange(f),
): Promise<SeriesPoint[]> {
  const step = bucket === "hour" ? "1 hour" : "1 day";
  const rows = await db<(SeriesPoint & { costMicros: bigint })[]>`
    with agg as (
      select date_trunc(${bucket}, s.at) as at, ${aggregates(db)}
      from (${usageSource(db, actor, f, range)}) s
      group by 1
    ),
    span as (
      select generate_series(date_trunc(${bucket}, ${range.from}::timestamptz at time zone 'utc'),
                             ${range.to}::timestamptz at time zone 'utc' - interval '1 microsecond',
                             ${step}::interval) as at
    )
    select to_char(span.at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as at,
           coalesce(agg.calls, 0)::int as calls, coalesce(agg.failures, 0)::int as failures,
           coalesce(agg."tokensIn", 0)::bigint as "tokensIn", coalesce(agg."tokensOut", 0)::bigint as "tokensOut",
           coalesce(agg."revenueMicros", 0)::bigint as "revenueMicros",
           coalesce(agg."costMicros", 0)::bigint as "costMicros"
    from span left join agg on agg.at = span.at
    order by span.at`;
  return rows.map((r) => withMargin(actor, r));
}

/** Usage grouped by model, call kind, user or key over the range, biggest revenue first (at most `limit` rows). */
export async function usageBreakdown(
  db: Db,
  actor: Actor,
  f: UsageFilters,
  by: AnalyticsQuery["by"],
  range = resolveRange(f),
  limit = 50,
): Promise<BreakdownRow[]> {
  const hourly = by === "model" || by === "kind";
  const settled = !hourly && ownerRollsUp(actor, f) ? await settledDaysIn(db, range) : [];
  const src = hourly ? usageSource(db, actor, f, range) : ownerSource(db, actor, f, range, settled);
  const dimension = by === "kind" ? db`s.kind` : db`s.model`;
  const rows = hourly
    ? await db<(BreakdownRow & { costMicros: bigint })[]>`
          select ${dimension} as id, ${dimension} as label, null as detail, ${aggregates(db)},
                 coalesce(sum(s.images), 0)::int as images, coalesce(sum(s.audio_ms), 0)::int as "audioMs",
                 coalesce(sum(s.characters), 0)::int as characters
          from (${src}) s
          group by ${dimension} order by sum(s.revenue) desc, sum(s.calls) desc limit ${limit}`
    : by === "user"
      ? await db<(BreakdownRow & { costMicros: bigint })[]>`
            with agg as (
              select s.user_id, ${aggregates(db)} from (${src}) s
              group by s.user_id order by sum(s.revenue) desc, sum(s.calls) desc limit ${limit}
            )
            select agg.user_id::text as id, u.email as label, nullif(u.name, '') as detail, agg.calls, agg.failures,
                   agg."tokensIn", agg."tokensOut", agg."revenueMicros", agg."costMicros"
            from agg join users u on u.id = agg.user_id
            order by agg."revenueMicros" desc, agg.calls desc`
      : await db<(BreakdownRow & { costMicros: bigint })[]>`
            with agg as (
              select s.key_id, ${aggregates(db)} from (${src}) s
              group by s.key_id order by sum(s.revenue) desc, sum(s.calls) desc limit ${limit}
            )
            select agg.key_id::text as id, k.name as label, k.prefix || ' · ' || u.email as detail, agg.calls,
                   agg.failures, agg."tokensIn", agg."tokensOut", agg."revenueMicros", agg."costMicros"
            from agg join api_keys k on k.id = agg.key_id join users u on u.id = k.user_id
            order by agg."revenueMicros" desc, agg.calls desc`;
  return rows.map((r) => withMargin(actor, r));
}

/** Usage over a filtered range: totals, a per-hour or per-day series, and a breakdown. */
export async function usageReport(db: Db, actor: Actor, q: AnalyticsQuery) {
  const range = resolveRange(q);
  const bucket = q.bucket ?? defaultBucket(range);
  const [totals, series, breakdown] = await Promise.all([
    usageTotals(db, actor, q, range),
    usageSeries(db, actor, q, bucket, range),
    usageBreakdown(db, actor, q, q.by, range),
  ]);
  return { range, bucket, by: q.by, totals, series, breakdown };
}

/** The values the filter pickers offer: models, error classes and (admins) users and keys seen in the range. */
export async function filterOptions(db: Db, actor: Actor, range: Range) {
  const own = ownerScope(actor);
  const scope = db`where e.started_at >= ${range.from} and e.started_at < ${range.to} ${own ? db`and e.user_id = ${own}` : db``}`;
  const [models, errors, keys] = await Promise.all([
    db<
      { value: string }[]
    >`select distinct e.model_group as value from usage_events e ${scope} order by 1 limit 200`,
    db<{ value: string }[]>`
      select distinct e.error_class as value from usage_events e ${scope} and e.error_class is not null order by 1 limit 100`,
    db<{ id: string; name: string; prefix: string; email: string }[]>`
      select k.id::text as id, k.name, k.prefix, u.email from api_keys k join users u on u.id = k.user_id
      ${own ? db`where k.user_id = ${own}` : db``}
      order by u.email, k.created_at desc limit 500`,
  ]);
  const users = own
    ? []
    : await db<{ id: string; email: string }[]>`
        select id::text as id, email from users order by email limit 500`;
  return {
    models: models.map((m) => m.value),
    errors: errors.map((e) => e.value),
    keys,
    users,
  };
}
