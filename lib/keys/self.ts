import "server-only";
import { LRUCache } from "lru-cache";
import type { Db } from "@/lib/db/client";
import { notFound } from "@/lib/http/errors";

/**
 * What an app may learn about itself with its own key (`GET /api/v1/key`): the key's limits and budgets and what it
 * has used, and its account's balance, holds and budgets — never another key's or account's. Money in integer
 * micro-USD; "today" and "this month" are UTC, as budgets count them.
 */
export interface KeyState {
  key: {
    id: string;
    name: string;
    prefix: string;
    status: string;
    expiresAt: Date | null;
    allowedModels: string[];
    rpmLimit: number | null;
    tpmLimit: number | null;
    dailyBudgetMicros: bigint | null;
    monthlyBudgetMicros: bigint | null;
    todaySpentMicros: bigint;
    monthSpentMicros: bigint;
  };
  account: {
    balanceMicros: bigint;
    heldMicros: bigint;
    availableMicros: bigint;
    dailyBudgetMicros: bigint | null;
    monthlyBudgetMicros: bigint | null;
    todaySpentMicros: bigint;
    monthSpentMicros: bigint;
    plan: string | null;
    requestsPerDay: number | null;
    requestsToday: number;
  };
  /** When these figures were read (they may be up to 5 s old). */
  asOf: Date;
}

export async function keyState(db: Db, keyId: string): Promise<KeyState> {
  const [row] = await db<
    {
      id: string;
      name: string;
      prefix: string;
      status: string;
      expires_at: Date | null;
      allowed_models: string[];
      rpm_limit: number | null;
      tpm_limit: number | null;
      key_daily: bigint | null;
      key_monthly: bigint | null;
      key_today: bigint;
      key_month: bigint;
      balance: bigint;
      held: bigint;
      daily: bigint | null;
      monthly: bigint | null;
      today: bigint;
      month: bigint;
      plan: string | null;
      requests_per_day: number | null;
      requests_today: number;
      as_of: Date;
    }[]
  >`
    select k.id, k.name, k.prefix, k.status, k.expires_at,
           case when cardinality(k.allowed_models) > 0 then k.allowed_models
                else coalesce(p.allowed_models, '{}') end as allowed_models,
           coalesce(k.rpm_limit, p.rpm_limit) as rpm_limit, coalesce(k.tpm_limit, p.tpm_limit) as tpm_limit,
           k.daily_budget_micros as key_daily, k.monthly_budget_micros as key_monthly,
           case when k.budget_day = (now() at time zone 'utc')::date then k.day_used_micros else 0 end as key_today,
           case when k.budget_month = date_trunc('month', now() at time zone 'utc')::date
                then k.month_used_micros else 0 end as key_month,
           a.balance_micros as balance, a.held_micros as held,
           coalesce(a.daily_budget_micros, p.daily_budget_micros) as daily,
           coalesce(a.monthly_budget_micros, p.monthly_budget_micros) as monthly,
           case when a.budget_day = (now() at time zone 'utc')::date then a.day_used_micros else 0 end as today,
           case when a.budget_month = date_trunc('month', now() at time zone 'utc')::date
                then a.month_used_micros else 0 end as month,
           p.name as plan, p.requests_per_day,
           case when a.budget_day = (now() at time zone 'utc')::date then a.day_requests else 0 end as requests_today,
           now() as as_of
    from api_keys k join users u on u.id = k.user_id join accounts a on a.owner_user_id = k.user_id
    left join plans p on p.id = u.plan_id
    where k.id = ${keyId}`;
  if (!row) throw notFound("API key");
  return {
    key: {
      id: row.id,
      name: row.name,
      prefix: row.prefix,
      status: row.status,
      expiresAt: row.expires_at,
      allowedModels: row.allowed_models,
      rpmLimit: row.rpm_limit,
      tpmLimit: row.tpm_limit,
      dailyBudgetMicros: row.key_daily,
      monthlyBudgetMicros: row.key_monthly,
      todaySpentMicros: row.key_today,
      monthSpentMicros: row.key_month,
    },
    account: {
      balanceMicros: row.balance,
      heldMicros: row.held,
      availableMicros: row.balance - row.held,
      dailyBudgetMicros: row.daily,
      monthlyBudgetMicros: row.monthly,
      todaySpentMicros: row.today,
      monthSpentMicros: row.month,
      plan: row.plan,
      requestsPerDay: row.requests_per_day,
      requestsToday: row.requests_today,
    },
    asOf: row.as_of,
  };
}

export interface KeyUsage {
  from: string;
  to: string;
  totals: { calls: number; failures: number; tokensIn: bigint; tokensOut: bigint; chargedMicros: bigint };
  days: { day: string; calls: number; chargedMicros: bigint }[];
  models: { model: string; calls: number; tokensIn: bigint; tokensOut: bigint; chargedMicros: bigint }[];
}

/** One key's calls and charges over UTC days [from, to] (inclusive), per day and per model. */
export async function keyUsage(db: Db, keyId: string, from: string, to: string): Promise<KeyUsage> {
  const range = db`
    e.key_id = ${keyId} and e.started_at >= (${from}::date)::timestamp at time zone 'utc'
    and e.started_at < (${to}::date + 1)::timestamp at time zone 'utc'`;
  const [[totals], days, models] = await Promise.all([
    db<KeyUsage["totals"][]>`
      select count(*)::int as calls, count(*) filter (where e.status = 'failure')::int as failures,
             coalesce(sum(e.prompt_tokens), 0)::bigint as "tokensIn",
             coalesce(sum(e.completion_tokens), 0)::bigint as "tokensOut",
             coalesce(sum(e.revenue_micros), 0)::bigint as "chargedMicros"
      from usage_events e where ${range}`,
    db<KeyUsage["days"]>`
      select to_char(d.day, 'YYYY-MM-DD') as day, coalesce(x.calls, 0)::int as calls,
             coalesce(x.charged, 0)::bigint as "chargedMicros"
      from generate_series(${from}::date, ${to}::date, interval '1 day') d(day)
      left join (
        select (e.started_at at time zone 'utc')::date as day, count(*) as calls, sum(e.revenue_micros) as charged
        from usage_events e where ${range} group by 1
      ) x on x.day = d.day::date
      order by d.day`,
    db<KeyUsage["models"]>`
      select e.model_group as model, count(*)::int as calls, sum(e.prompt_tokens)::bigint as "tokensIn",
             sum(e.completion_tokens)::bigint as "tokensOut", sum(e.revenue_micros)::bigint as "chargedMicros"
      from usage_events e where ${range}
      group by e.model_group order by sum(e.revenue_micros) desc, e.model_group`,
  ]);
  return { from, to, totals: totals!, days, models };
}

// Answers are cached per key for up to 5 s (an app polling its balance costs one read per 5 s, not one per call).
const answers = new LRUCache<string, object>({ max: 10_000, ttl: 5_000 });

/** The cached answer for this key and question, or a fresh one. */
export async function cachedForKey<T extends object>(key: string, compute: () => Promise<T>): Promise<T> {
  const hit = answers.get(key) as T | undefined;
  if (hit) return hit;
  const fresh = await compute();
  answers.set(key, fresh);
  return fresh;
}
