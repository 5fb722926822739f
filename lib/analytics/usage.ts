import "server-only";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin, ownerScope, withMargin } from "@/lib/auth/visibility";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import { orgAllows, orgFor } from "@/lib/orgs/access";
import { orgRows, PERSONAL, userKeys } from "@/lib/usage/columns";
import type { AnalyticsQuery, UsageFilters } from "./schemas";

// Usage analytics over usage_events: what the dashboard charts, tables and exports read. Every query takes the
// same filters (schemas.ts) through one WHERE clause; developers only ever see their own calls (in an organization,
// every member's when their role reads all its usage), admins all. Provider cost (and so margin) is for admins only.

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

/**
 * Whose calls a read covers (a usage row carries the account charged, a person's own or an organization's, and the
 * user who made the call: the key's person or member).
 */
export interface UsageScope {
  /** Only this user's calls; null: every user's (the filters' userId may narrow it). */
  userId: string | null;
  /** Only calls charged to this account (an organization's: a team account); null: any account. */
  accountId: string | null;
  /** Only calls charged to userId's own account: a person's view outside any organization. */
  personal: boolean;
}

/** Filters with the scope they were resolved to (usageScope); without one, the actor's default scope. */
export type ScopedFilters = UsageFilters & { scope?: UsageScope };

/**
 * The scope of filters without an organization: admins every call; developers and own views ("My …") their calls on
 * their own account (their organizations' calls are read with ?org=).
 */
function scopeOf(actor: Actor, f: ScopedFilters): UsageScope {
  if (f.scope) return f.scope;
  if (f.org !== undefined)
    throw new Error("an organization filter is resolved by usageScope before it is read");
  const own = ownerScope(actor);
  return own
    ? { userId: own, accountId: null, personal: true }
    : { userId: null, accountId: null, personal: false };
}

/**
 * The filters with their scope resolved: with an organization (slug or id; 404 to a non-member), its calls — every
 * member's for platform admins and the roles that read all its usage (usage.all: owners, admins, billing), the
 * actor's own for the others (own views included).
 */
export async function usageScope(db: Db, actor: Actor, f: UsageFilters): Promise<ScopedFilters> {
  if (f.org === undefined) return { ...f, scope: scopeOf(actor, f) };
  const org = await orgFor(db, actor, f.org, "view");
  const all = orgAllows(org, "usage.all", actsAsPlatformAdmin(actor));
  return { ...f, scope: { userId: all ? null : actor.userId, accountId: org.accountId, personal: false } };
}

/** The user a read is narrowed to, by its scope or by its filters; null: every user's calls. */
export function usageUser(actor: Actor, f: ScopedFilters): string | null {
  const scope = scopeOf(actor, f);
  return scope.userId ?? f.userId ?? null;
}

/**
 * The keys of the user a read is narrowed to (usageUser) whose calls it covers, as userKeys gives them: in a person's
 * own view their own account's keys, in an organization's its keys, else all of them.
 */
export function usageUserKeys(db: Db, actor: Actor, f: ScopedFilters, user: string, range: Range) {
  const scope = scopeOf(actor, f);
  return userKeys(db, user, {
    range,
    account: scope.personal ? PERSONAL : (scope.accountId ?? undefined),
  });
}

/** The one WHERE clause of every usage read (`e` is usage_events). */
export function usageWhere(db: Db, actor: Actor, f: ScopedFilters, range: Range) {
  const scope = scopeOf(actor, f);
  const user = usageUser(actor, f);
  const errorClass = f.error && f.error !== "any" ? f.error : null;
  return db`
    where e.started_at >= ${range.from} and e.started_at < ${range.to}
      ${user ? db`and e.key_id = any(${usageUserKeys(db, actor, f, user, range)})` : db``}
      ${scope.userId && f.userId && f.userId !== scope.userId ? db`and false` : db``}
      ${scope.accountId ? db`and ${orgRows(db, "e", scope.accountId)}` : db``}
      ${f.keyId ? db`and e.key_id = ${f.keyId}` : db``}
      ${f.model ? db`and e.model_group = ${f.model}` : db``}
      ${f.kind ? db`and e.kind = ${f.kind}` : db``}
      ${f.status ? db`and e.status = ${f.status}` : db``}
      ${f.billing ? db`and billing_status(e.status) = ${f.billing}` : db``}
      ${f.error === "any" ? db`and e.error_class is not null` : db``}
      ${errorClass ? db`and e.error_class = ${errorClass}` : db``}`;
}

const HOUR_MS = 3_600_000;

/** The events of a range as the rows every view aggregates (one call each). */
function eventRows(db: Db, actor: Actor, f: ScopedFilters, range: Range) {
  return db`
    select date_trunc('hour', e.started_at at time zone 'utc') as at, e.model_group as model, e.key_id,
           1::bigint as calls, (e.status = 'failure')::int::bigint as failures, e.prompt_tokens::bigint as tokens_in,
           e.completion_tokens::bigint as tokens_out, e.revenue_micros as revenue, e.cost_micros as cost, e.kind,
           coalesce(e.images, 0)::bigint as images, coalesce(e.audio_ms, 0) as audio_ms,
           coalesce(e.characters, 0)::bigint as characters
    from usage_events e ${usageWhere(db, actor, f, range)}`;
}

/**
 * Whether a view can read usage_hourly (it has no user or account): platform-wide views filtered at most by model,
 * call kind, outcome and billing status (the roll-up's dimensions). Own, user, organization, key and error-class
 * views read the events.
 */
export function rollsUp(actor: Actor, f: ScopedFilters): boolean {
  const scope = scopeOf(actor, f);
  return !scope.userId && !scope.accountId && !f.userId && !f.keyId && !f.error;
}

const utc = (d: Date) => d.toISOString().slice(0, 19).replace("T", " ");
const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * True when the detail of [to, end) — the rest of the hour or day a range ends in — holds no call and that day lost
 * nothing to retention: the roll-up row of the whole hour or day then sums exactly the calls of the range's part of it
 * (a partial piece at a range's end, usually the present, reads one roll-up row instead of its events). Evaluated in
 * the statement that reads the roll-up, so both see the same snapshot.
 */
function restIsEmpty(db: Db, to: Date, end: Date) {
  const day = utcDay(to);
  return db`(not exists (select 1 from usage_events x where x.started_at >= ${to} and x.started_at < ${end})
             and not exists (select 1 from retention_actions ra where ra.day = ${day}::date)
             and not exists (select 1 from retention_trimmed_usage t where t.day = ${day}::date))`;
}

/**
 * The rows a view aggregates, one per (UTC hour, model) piece: whole hours inside the range from usage_hourly, the
 * partial hours at its edges (and every view usage_hourly cannot answer) from usage_events — the last hour from
 * usage_hourly too when nothing in it starts at or after the range's end (restIsEmpty). Columns: at (the UTC
 * hour), model, key_id (null from the roll-up), calls, failures, tokens_in, tokens_out, revenue, cost,
 * kind, images, audio_ms, characters.
 */
export function usageSource(db: Db, actor: Actor, f: ScopedFilters, range: Range) {
  const raw = (r: Range) => eventRows(db, actor, f, r);
  if (!rollsUp(actor, f)) return raw(range);
  const first = new Date(Math.ceil(range.from.getTime() / HOUR_MS) * HOUR_MS);
  const last = new Date(Math.floor(range.to.getTime() / HOUR_MS) * HOUR_MS);
  if (first >= last) return raw(range);
  const lastEnd = new Date(last.getTime() + HOUR_MS);
  const clean = last < range.to ? restIsEmpty(db, range.to, lastEnd) : null;
  return db`
    select h.hour as at, h.model_group as model, null::uuid as key_id, h.calls,
           case when h.status = 'failure' then h.calls else 0 end as failures, h.tokens_in, h.tokens_out,
           h.revenue_micros as revenue, h.cost_micros as cost, h.kind, h.images, h.audio_ms, h.characters
    from usage_hourly h
    where h.hour >= ${utc(first)}::timestamp
      and h.hour < ${clean ? db`case when ${clean} then ${utc(lastEnd)}::timestamp else ${utc(last)}::timestamp end` : db`${utc(last)}::timestamp`}
      ${f.model ? db`and h.model_group = ${f.model}` : db``}
      ${f.kind ? db`and h.kind = ${f.kind}` : db``}
      ${f.status ? db`and h.status = ${f.status}` : db``}
      ${f.billing ? db`and h.billing_status = ${f.billing}` : db``}
    ${range.from < first ? db`union all ${raw({ from: range.from, to: first })}` : db``}
    ${clean ? db`union all select * from (${raw({ from: last, to: range.to })}) edge where not ${clean}` : db``}`;
}

/**
 * Whether a platform-wide view can read the per-day owner roll-ups (usage_owner_days, usage_owner_activity): no
 * scope and no filter (they keep no model, call kind, outcome or billing status).
 */
const ownerDaysServe = (actor: Actor, f: ScopedFilters) =>
  rollsUp(actor, f) && !f.model && !f.kind && !f.status && !f.billing;

interface WholeDays {
  first: string;
  last: string;
  /** The range ends inside `last`: the per-day rows serve only if nothing in the day starts at or after its end. */
  clean: ReturnType<typeof restIsEmpty> | null;
}

/** The UTC days a range covers as whole days: it starts at a midnight; it ends at one, or inside its last day. */
function wholeDays(db: Db, range: Range): WholeDays | null {
  if (range.from.getTime() % DAY_MS !== 0) return null;
  const endsAtMidnight = range.to.getTime() % DAY_MS === 0;
  const lastDay = new Date(
    endsAtMidnight ? range.to.getTime() - DAY_MS : Math.floor(range.to.getTime() / DAY_MS) * DAY_MS,
  );
  if (lastDay < range.from) return null;
  return {
    first: utcDay(range.from),
    last: utcDay(lastDay),
    clean: endsAtMidnight ? null : restIsEmpty(db, range.to, new Date(lastDay.getTime() + DAY_MS)),
  };
}

/**
 * Keys or users with a call on any of the days, from their activity bits. A period's row holds its own 32 days and the
 * 32 before (bits 32–63 and 0–31), so a range of up to 33 days is one row per owner: those whose bits meet its mask.
 * A longer range reads each period's own bits and counts owners once.
 */
function activeOwners(db: Db, kind: "key" | "user", days: WholeDays) {
  const epochDay = (d: string) => Date.parse(`${d}T00:00:00Z`) / DAY_MS;
  const first = epochDay(days.first);
  const last = epochDay(days.last);
  const period = Math.floor(last / 32);
  const base = 32 * (period - 1);
  // Bits lo..hi set (hi ≤ 63: shifting -1 avoids a shift by 64).
  const mask = (lo: ReturnType<Db>, hi: ReturnType<Db>) =>
    db`((-1::bigint << ${lo}) & ~((-1::bigint << ${hi}) << 1))`;
  if (first >= base) {
    return db`(select count(*) from usage_owner_activity a
               where a.owner_kind = ${kind} and a.period = ${period}::int
                 and a.days & ${mask(db`${first - base}::int`, db`${last - base}::int`)} <> 0)::int`;
  }
  return db`(select count(*) from (
      select a.owner_id from usage_owner_activity a
      where a.owner_kind = ${kind} and a.period between ${Math.floor(first / 32)}::int and ${period}::int
        and a.days & ${mask(db`greatest(${first}::int - 32 * a.period, 0) + 32`, db`least(${last}::int - 32 * a.period, 31) + 32`)} <> 0
      group by a.owner_id) active)::int`;
}

const ownerRollsUp = (actor: Actor, f: ScopedFilters) => rollsUp(actor, f) && !f.kind && !f.status;

/**
 * The UTC days wholly inside the range whose usage_rollups hold every call of the day (whole_settled_days): settled,
 * and no call recorded since the day's roll-up (a late delivery, an upgrade) that the next cron's rebuild has not yet
 * taken in. Those days are read from the roll-ups; every other day from its calls.
 */
async function settledDaysIn(db: Db, range: Range): Promise<string[]> {
  const firstDay = new Date(Math.ceil(range.from.getTime() / DAY_MS) * DAY_MS);
  const lastDay = new Date(Math.floor(range.to.getTime() / DAY_MS) * DAY_MS);
  if (firstDay >= lastDay) return [];
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const rows = await db<{ day: string }[]>`
    select to_char(w.day, 'YYYY-MM-DD') as day
    from whole_settled_days(${day(firstDay)}::date, ${day(new Date(lastDay.getTime() - DAY_MS))}::date, null, null) w(day)`;
  return rows.map((r) => r.day);
}

/**
 * The rows of a by-user or by-key view: days the daily settlement has completed from usage_rollups (its per-day ×
 * account × key × model × billing-status sums; a failed call is a waived one), every other stretch of the range from
 * usage_events. Views filtered by user, key, call kind, outcome or error read the events only.
 */
function ownerSource(db: Db, actor: Actor, f: ScopedFilters, range: Range, settledDays: string[]) {
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
    select r.day::timestamp as at, r.model_group as model, r.key_id,
           r.requests::bigint as calls,
           case when r.billing_status = 'waived' then r.requests else 0 end::bigint as failures, r.tokens_in,
           r.tokens_out, r.revenue_micros as revenue, r.cost_micros as cost,
           -- The daily roll-up keeps no call kind or units: by-user and by-key views show money, calls and tokens.
           null::text as kind, 0::bigint as images, 0::bigint as audio_ms, 0::bigint as characters
    from usage_rollups r
    where r.day = any(${db.array(settled)}::date[])
      ${f.model ? db`and r.model_group = ${f.model}` : db``}
      ${f.billing ? db`and r.billing_status = ${f.billing}` : db``}
    ${
      // No gap (every day of the range settled): an empty list would be sent as a parameter, a syntax error.
      gaps.length ? gaps.map((g) => db`union all ${raw(g)}`) : db``
    }`;
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

export async function usageTotals(db: Db, actor: Actor, f: ScopedFilters, range = resolveRange(f)) {
  // Keys and users that called in the range: for a platform-wide view of whole days, counted from the days' activity
  // bits; otherwise probed key by key (and user by user) through the events' indexes.
  const where = usageWhere(db, actor, f, range);
  const probed = {
    keys: db`(select count(*) from api_keys k
              where exists (select 1 from usage_events e ${where} and e.key_id = k.id))::int`,
    // A key's user never changes (docs/adr/0037): the users who called are the users of the keys that did.
    users: db`(select count(distinct k.user_id) from api_keys k
               where exists (select 1 from usage_events e ${where} and e.key_id = k.id))::int`,
  };
  const days = ownerDaysServe(actor, f) ? wholeDays(db, range) : null;
  const active = (kind: "key" | "user") => {
    if (!days) return probed[`${kind}s`];
    if (!days.clean) return activeOwners(db, kind, days);
    return db`case when ${days.clean} then ${activeOwners(db, kind, days)} else ${probed[`${kind}s`]} end`;
  };
  const [row] = await db<(UsageTotals & { costMicros: bigint })[]>`
    select ${aggregates(db)}, ${active("key")} as "activeKeys", ${active("user")} as "activeUsers"
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
  f: ScopedFilters,
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

type OwnerRow = BreakdownRow & { costMicros: bigint };

/**
 * The `limit` biggest keys or users (revenue, then calls) over whole days, exact, from usage_owner_days: the
 * candidates are each day's `perDay` biggest owners (usage_owner_days_top_idx) and their sums over the days are exact
 * (the primary key). An owner outside every day's candidates has at most, each day, that day's perDay-th revenue:
 * their sum is the bound. When the limit-th candidate's revenue exceeds the bound (or no day had perDay owners, so
 * every owner is a candidate), no other owner can rank among them; otherwise it tries again with more candidates per
 * day, then gives up (null: the caller reads the sums of every owner). Null too when the range ends inside a day
 * that has calls at or after its end.
 */
async function topOwners(
  db: Db,
  kind: "key" | "user",
  days: WholeDays,
  limit: number,
): Promise<OwnerRow[] | null> {
  for (let perDay = Math.max(2 * limit, 20); perDay <= 2_560; perDay *= 8) {
    const rows = await db<(Partial<OwnerRow> & { bound: bigint; fullDays: number; clean: boolean })[]>`
      with days as (
        select d::date as day from generate_series(${days.first}::date, ${days.last}::date, interval '1 day') d
      ),
      candidates as (
        select distinct t.owner_id from days d cross join lateral (
          select o.owner_id from usage_owner_days o where o.owner_kind = ${kind} and o.day = d.day
          order by o.revenue_micros desc, o.calls desc limit ${perDay}) t
      ),
      bound as (
        select coalesce(sum(b.revenue_micros), 0)::bigint as micros, count(*)::int as full_days
        from days d cross join lateral (
          select o.revenue_micros from usage_owner_days o where o.owner_kind = ${kind} and o.day = d.day
          order by o.revenue_micros desc, o.calls desc offset ${perDay - 1} limit 1) b
      ),
      agg as (
        select o.owner_id, coalesce(sum(o.calls), 0)::int as calls, coalesce(sum(o.failures), 0)::int as failures,
               coalesce(sum(o.tokens_in), 0)::bigint as "tokensIn", coalesce(sum(o.tokens_out), 0)::bigint as "tokensOut",
               coalesce(sum(o.revenue_micros), 0)::bigint as "revenueMicros",
               coalesce(sum(o.cost_micros), 0)::bigint as "costMicros"
        from usage_owner_days o
        where o.owner_kind = ${kind} and o.owner_id in (select owner_id from candidates)
          and o.day between ${days.first}::date and ${days.last}::date
        group by o.owner_id
        order by sum(o.revenue_micros) desc, sum(o.calls) desc
        limit ${limit}
      )
      select agg.owner_id::text as id,
             ${kind === "user" ? db`u.email as label, nullif(u.name, '') as detail` : db`k.name as label, k.prefix || ' · ' || u.email || coalesce(' · ' || og.name, '') as detail`},
             agg.calls, agg.failures, agg."tokensIn", agg."tokensOut", agg."revenueMicros", agg."costMicros",
             bound.micros as bound, bound.full_days as "fullDays", ${days.clean ?? db`true`} as clean
      from bound left join agg on true
      ${
        kind === "user"
          ? db`left join users u on u.id = agg.owner_id`
          : db`left join api_keys k on k.id = agg.owner_id left join users u on u.id = k.user_id
               left join accounts ka on ka.id = k.account_id left join organizations og on og.id = ka.organization_id`
      }
      order by agg."revenueMicros" desc, agg.calls desc`;
    if (!rows[0]!.clean) return null;
    const found = rows
      .filter((r) => r.id != null)
      .map(({ bound: _b, fullDays: _f, clean: _c, ...r }) => r as OwnerRow);
    const last = found[limit - 1];
    if (rows[0]!.fullDays === 0 || (last && last.revenueMicros > rows[0]!.bound)) return found;
  }
  return null;
}

/** Usage grouped by model, call kind, user or key over the range, biggest revenue first (at most `limit` rows). */
export async function usageBreakdown(
  db: Db,
  actor: Actor,
  f: ScopedFilters,
  by: AnalyticsQuery["by"],
  range = resolveRange(f),
  limit = 50,
): Promise<BreakdownRow[]> {
  const hourly = by === "model" || by === "kind";
  const days = !hourly && ownerDaysServe(actor, f) ? wholeDays(db, range) : null;
  if (days) {
    const top = await topOwners(db, by === "user" ? "user" : "key", days, limit);
    if (top) return top.map((r) => withMargin(actor, r));
  }
  const settled = !hourly && ownerRollsUp(actor, f) ? await settledDaysIn(db, range) : [];
  const src = hourly ? usageSource(db, actor, f, range) : ownerSource(db, actor, f, range, settled);
  const dimension = by === "kind" ? db`s.kind` : db`s.model`;
  const rows = hourly
    ? await db<(BreakdownRow & { costMicros: bigint })[]>`
          select ${dimension} as id, ${dimension} as label, null as detail, ${aggregates(db)},
                 -- float8, not int: a month of audio milliseconds or characters passes 2^31 (sim:day's 20,000
                 -- calls a day did); a JSON-safe number stays exact below 2^53.
                 coalesce(sum(s.images), 0)::float8 as images, coalesce(sum(s.audio_ms), 0)::float8 as "audioMs",
                 coalesce(sum(s.characters), 0)::float8 as characters
          from (${src}) s
          group by ${dimension} order by sum(s.revenue) desc, sum(s.calls) desc limit ${limit}`
    : by === "user"
      ? await db<(BreakdownRow & { costMicros: bigint })[]>`
            with agg as (
              -- A call's user is its key's (the person, or the member who made an organization's key): a key's user
              -- never changes (docs/adr/0037), and a usage row does not store it (docs/adr/0040).
              select k.user_id, ${aggregates(db)} from (${src}) s join api_keys k on k.id = s.key_id
              group by k.user_id order by sum(s.revenue) desc, sum(s.calls) desc limit ${limit}
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
            select agg.key_id::text as id, k.name as label,
                   k.prefix || ' · ' || u.email || coalesce(' · ' || o.name, '') as detail, agg.calls,
                   agg.failures, agg."tokensIn", agg."tokensOut", agg."revenueMicros", agg."costMicros"
            from agg join api_keys k on k.id = agg.key_id join users u on u.id = k.user_id
            join accounts ka on ka.id = k.account_id left join organizations o on o.id = ka.organization_id
            order by agg."revenueMicros" desc, agg.calls desc`;
  return rows.map((r) => withMargin(actor, r));
}

/** Usage over a filtered range: totals, a per-hour or per-day series, and a breakdown. */
export async function usageReport(db: Db, actor: Actor, q: AnalyticsQuery) {
  const range = resolveRange(q);
  const bucket = q.bucket ?? defaultBucket(range);
  const f = await usageScope(db, actor, q);
  const [totals, series, breakdown] = await Promise.all([
    usageTotals(db, actor, f, range),
    usageSeries(db, actor, f, bucket, range),
    usageBreakdown(db, actor, f, q.by, range),
  ]);
  return { range, bucket, by: q.by, totals, series, breakdown };
}

/**
 * The values the filter pickers offer over the calls the actor may see in the range (with an organization: its
 * calls): models, error classes, keys, and the users whose calls they may see beside their own (admins every user;
 * in an organization, to a role that reads all its usage, the people whose keys spend from it).
 */
export async function filterOptions(db: Db, actor: Actor, range: Range, org?: string) {
  const f = await usageScope(db, actor, { org });
  const scope = f.scope!;
  const where = usageWhere(db, actor, f, range);
  const [models, errors, keys] = await Promise.all([
    db<
      { value: string }[]
    >`select distinct e.model_group as value from usage_events e ${where} order by 1 limit 200`,
    db<{ value: string }[]>`
      select distinct e.error_class as value from usage_events e ${where} and e.error_class is not null order by 1 limit 100`,
    db<{ id: string; name: string; prefix: string; email: string }[]>`
      select k.id::text as id, k.name, k.prefix, u.email
      from api_keys k join users u on u.id = k.user_id join accounts ka on ka.id = k.account_id
      where (${scope.userId}::uuid is null or k.user_id = ${scope.userId})
        and (${scope.accountId}::uuid is null or k.account_id = ${scope.accountId})
        and (not ${scope.personal} or ka.owner_user_id = k.user_id)
      order by u.email, k.created_at desc limit 500`,
  ]);
  const users = scope.userId
    ? []
    : await db<{ id: string; email: string }[]>`
        select u.id::text as id, u.email from users u
        where ${scope.accountId}::uuid is null
           or exists (select 1 from api_keys k where k.user_id = u.id and k.account_id = ${scope.accountId})
        order by u.email limit 500`;
  return {
    models: models.map((m) => m.value),
    errors: errors.map((e) => e.value),
    keys,
    users,
  };
}
