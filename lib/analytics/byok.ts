import "server-only";
import type { Actor } from "@/lib/auth/types";
import type { Db } from "@/lib/db/client";
import type { UsageFilters } from "./schemas";
import { type Range, resolveRange, rollsUp, type ScopedFilters, usageScope, usageWhere } from "./usage";

// Calls served with the owners' own provider keys over a range (issue 29, billing contract clause 62): how many
// (BYOK calls), their share of all calls and what they were charged (the BYOK fee, the platform's revenue from
// them). Per model from usage_hourly where a view allows it (the whole hours of a platform-wide range: its roll-up
// trigger keeps byok_calls and byok_revenue_micros), else from usage_events; the filters and scopes are the usage
// analytics' own (usageWhere), so a developer or an organization sees their own calls, as the cache report does.

export interface ByokMeasures {
  calls: number;
  byokCalls: number;
  /** What the BYOK calls were charged: Σ byok_charge (the plan's share plus its per-request fee). */
  byokRevenueMicros: bigint;
}

export interface ByokModelRow extends ByokMeasures {
  model: string;
}

export interface ByokReport {
  range: Range;
  totals: ByokMeasures;
  byModel: ByokModelRow[];
}

const HOUR_MS = 3_600_000;

/** The events of a range as (UTC hour, model) pieces: calls, BYOK calls and their charges. */
function eventPieces(db: Db, actor: Actor, f: ScopedFilters, range: Range) {
  return db`
    select e.model_group as model, 1::bigint as calls, (e.credential is not distinct from 'byok')::int::bigint as byok_calls,
           case when e.credential = 'byok' then e.revenue_micros else 0 end as byok_revenue
    from usage_events e ${usageWhere(db, actor, f, range)}`;
}

/** Per-model pieces: usage_hourly for the whole hours of a platform-wide view, usage_events for the rest. */
function byokSource(db: Db, actor: Actor, f: ScopedFilters, range: Range) {
  const raw = (r: Range) => eventPieces(db, actor, f, r);
  if (!rollsUp(actor, f)) return raw(range);
  const first = new Date(Math.ceil(range.from.getTime() / HOUR_MS) * HOUR_MS);
  const last = new Date(Math.floor(range.to.getTime() / HOUR_MS) * HOUR_MS);
  if (first >= last) return raw(range);
  const utc = (d: Date) => d.toISOString().slice(0, 19).replace("T", " ");
  return db`
    select h.model_group as model, h.calls, h.byok_calls, h.byok_revenue_micros as byok_revenue
    from usage_hourly h
    where h.hour >= ${utc(first)}::timestamp and h.hour < ${utc(last)}::timestamp
      ${f.model ? db`and h.model_group = ${f.model}` : db``}
      ${f.kind ? db`and h.kind = ${f.kind}` : db``}
      ${f.status ? db`and h.status = ${f.status}` : db``}
      ${f.billing ? db`and h.billing_status = ${f.billing}` : db``}
    ${range.from < first ? db`union all ${raw({ from: range.from, to: first })}` : db``}
    ${last < range.to ? db`union all ${raw({ from: last, to: range.to })}` : db``}`;
}

/** BYOK calls over a filtered range: totals, and per model (most BYOK fee revenue first, models without any after). */
export async function byokReport(db: Db, actor: Actor, q: UsageFilters, limit = 50): Promise<ByokReport> {
  const range = resolveRange(q);
  const f = await usageScope(db, actor, q);
  const source = byokSource(db, actor, f, range);
  const [[totals], byModel] = await Promise.all([
    db<ByokMeasures[]>`
      select coalesce(sum(s.calls), 0)::int as calls, coalesce(sum(s.byok_calls), 0)::int as "byokCalls",
             coalesce(sum(s.byok_revenue), 0)::bigint as "byokRevenueMicros"
      from (${source}) s`,
    db<ByokModelRow[]>`
      select s.model, sum(s.calls)::int as calls, sum(s.byok_calls)::int as "byokCalls",
             sum(s.byok_revenue)::bigint as "byokRevenueMicros"
      from (${byokSource(db, actor, f, range)}) s group by s.model
      order by sum(s.byok_revenue) desc, sum(s.byok_calls) desc, sum(s.calls) desc, s.model
      limit ${limit}`,
  ]);
  return { range, totals: totals!, byModel };
}
