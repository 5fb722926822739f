import "server-only";
import type { Actor } from "@/lib/auth/types";
import type { Db } from "@/lib/db/client";
import { assertAdmin } from "@/lib/users/assert-admin";
import { openEpisodes } from "./alerts";
import { usageBreakdown, usageSeries, usageTotals } from "./usage";

// The admin's landing page: today and the last 30 days at a glance, in one round of parallel queries.

const DAY_MS = 86_400_000;

function utcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

export async function overview(db: Db, actor: Actor, now = new Date()) {
  assertAdmin(actor);
  const midnight = utcMidnight(now);
  const today = { from: midnight, to: now };
  const month = { from: new Date(midnight.getTime() - 29 * DAY_MS), to: now };
  const lastDay = { from: new Date(now.getTime() - DAY_MS), to: now };
  const none = {};
  const [
    todayTotals,
    monthTotals,
    hourly,
    daily,
    topUsers,
    topKeys,
    topModels,
    low,
    reserved,
    [lastRun],
    alerts,
  ] = await Promise.all([
    usageTotals(db, actor, none, today),
    usageTotals(db, actor, none, month),
    usageSeries(db, actor, none, "hour", lastDay),
    usageSeries(db, actor, none, "day", month),
    usageBreakdown(db, actor, none, "user", month, 5),
    usageBreakdown(db, actor, none, "key", month, 5),
    usageBreakdown(db, actor, none, "model", month, 5),
    db<
      {
        accountId: string;
        /** The person's email; null for an organization's account. */
        email: string | null;
        organizationName: string | null;
        /** Whose account it is, for display: the person's email or the organization's name. */
        label: string;
        availableMicros: bigint;
        thresholdMicros: bigint;
      }[]
    >`
      select a.id::text as "accountId", u.email, o.name as "organizationName",
             coalesce(u.email, o.name || ' (organization)') as label,
             a.balance_micros - a.held_micros as "availableMicros",
             coalesce(a.low_balance_micros, s.low_balance_micros) as "thresholdMicros"
      from accounts a left join users u on u.id = a.owner_user_id
      left join organizations o on o.id = a.organization_id cross join billing_settings s
      where a.kind in ('user', 'team') and coalesce(u.status, o.status) = 'active'
        and a.balance_micros - a.held_micros < coalesce(a.low_balance_micros, s.low_balance_micros)
      order by a.balance_micros - a.held_micros asc, label
      limit 10`,
    db<{ openHolds: number; holdMicros: bigint; liveLeases: number; leaseMicros: bigint }[]>`
      select (select count(*) from holds where status = 'open')::int as "openHolds",
             (select coalesce(sum(amount_micros), 0) from holds where status = 'open')::bigint as "holdMicros",
             (select count(*) from leases where status in ('open', 'closing'))::int as "liveLeases",
             (select coalesce(sum(reserved_micros), 0) from leases where status in ('open', 'closing'))::bigint as "leaseMicros"`,
    db<
      {
        id: string;
        day: string;
        status: string;
        startedAt: Date;
        finishedAt: Date | null;
        varianceCount: number;
        invariantViolations: number;
      }[]
    >`
      select id::text as id, to_char(day, 'YYYY-MM-DD') as day, status, started_at as "startedAt",
             finished_at as "finishedAt", variance_count as "varianceCount",
             invariant_violations as "invariantViolations"
      from settlement_runs order by started_at desc limit 1`,
    openEpisodes(db, actor),
  ]);
  return {
    generatedAt: now,
    today: todayTotals,
    last30Days: monthTotals,
    hourly,
    daily,
    top: { users: topUsers, keys: topKeys, models: topModels },
    lowAccounts: low,
    reserved: reserved[0]!,
    lastSettlement: lastRun ?? null,
    alerts,
  };
}
