import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { canManage, hideCost } from "@/lib/auth/visibility";
import { containsPattern, type Db, inTransaction } from "@/lib/db/client";
import { notFound } from "@/lib/http/errors";
import { offsetWithin } from "@/lib/http/paging";
import { dayCalls, keyByKey, orgRows, usageUnits } from "@/lib/usage/columns";
import { assertAdmin } from "@/lib/users/assert-admin";
import { type Account, accountColumns, accountSource, getAccount } from "./ledger";

/** The account, if the actor may see it: admins any, users their own (others get 404). */
export async function loadAccountFor(db: Db, actor: Actor, accountId: string): Promise<Account> {
  const account = await getAccount(db, { id: accountId });
  if (!account) throw notFound("Account");
  if (!canManage(actor, account.ownerUserId)) throw notFound("Account");
  return account;
}

export async function listAccounts(
  db: Db,
  actor: Actor,
  query: { q?: string; page: number; pageSize: number },
): Promise<{ items: Account[]; total: number }> {
  assertAdmin(actor);
  const pattern = containsPattern(query.q);
  const where = db`
    where a.kind <> 'system'
      and (${pattern}::text is null or u.email ilike ${pattern} or o.name ilike ${pattern} or o.slug ilike ${pattern})`;
  const [items, [count]] = await Promise.all([
    db<Account[]>`
      select ${accountColumns(db)}
      from ${accountSource(db)}
      ${where}
      order by coalesce(u.email, o.name), a.id
      limit ${query.pageSize} offset ${(query.page - 1) * query.pageSize}`,
    db<{ n: bigint }[]>`select count(*) as n from ${accountSource(db)} ${where}`,
  ]);
  return { items, total: Number(count!.n) };
}

/** Hard daily / monthly spend limits and the low-balance alert threshold of an account (null removes one); audited. */
export async function setAccountBudgets(
  db: Db,
  actor: Actor,
  accountId: string,
  budgets: {
    dailyBudgetMicros?: bigint | null;
    monthlyBudgetMicros?: bigint | null;
    lowBalanceMicros?: bigint | null;
  },
): Promise<Account> {
  assertAdmin(actor);
  return inTransaction(db, async (tx) => {
    const before = await getAccount(tx, { id: accountId });
    if (!before) throw notFound("Account");
    await tx`
      update accounts set
        daily_budget_micros = ${budgets.dailyBudgetMicros !== undefined ? budgets.dailyBudgetMicros : before.dailyBudgetMicros},
        monthly_budget_micros = ${budgets.monthlyBudgetMicros !== undefined ? budgets.monthlyBudgetMicros : before.monthlyBudgetMicros},
        low_balance_micros = ${budgets.lowBalanceMicros !== undefined ? budgets.lowBalanceMicros : before.ownLowBalanceMicros}
      where id = ${accountId}`;
    const after = (await getAccount(tx, { id: accountId }))!;
    await recordAudit(tx, actor, {
      action: "account.budgets",
      targetType: "account",
      targetId: accountId,
      before,
      after,
    });
    return after;
  });
}

export interface UsageRow {
  id: string;
  callId: string;
  keyPrefix: string;
  model: string;
  status: string;
  billingStatus: "exact" | "estimated" | "waived";
  stream: boolean;
  kind: string;
  promptTokens: number;
  completionTokens: number;
  images: number;
  imageSize: string | null;
  imageQuality: string | null;
  audioMs: number;
  characters: number;
  /** Admins only. */
  costMicros?: bigint;
  revenueMicros: bigint;
  startedAt: Date;
  errorClass: string | null;
}

/**
 * How deep an account's "Recent calls" reach (page × pageSize): its newest 10,000 calls. Each page reads every call
 * before it (an offset), and a busy account makes millions a day: the request log (cursor-paged, docs/adr/0020) has
 * every call, at any depth.
 */
export const RECENT_CALLS_MAX = 10_000;

/**
 * Recent calls of an account (who may see it is checked by the caller with loadAccountFor), newest first, to
 * RECENT_CALLS_MAX deep. An organization's page is read in order through its account index; a person's key by key,
 * each of the account's keys giving its newest calls up to the page's end through its index (docs/adr/0040: the
 * account index holds no person's calls, and one read of both indexes could not be read in order: it walked every call
 * on the platform by time). `total` counts the calls to RECENT_CALLS_MAX, `capped` says the account has more: a count
 * of all of a busy account's calls would read every one of them.
 */
export async function listUsage(
  db: Db,
  actor: Actor,
  accountId: string,
  { page, pageSize }: { page: number; pageSize: number },
): Promise<{ items: UsageRow[]; total: number; capped: boolean }> {
  const offset = offsetWithin(
    { page, pageSize },
    RECENT_CALLS_MAX,
    `Recent calls reach the newest ${RECENT_CALLS_MAX.toLocaleString("en-US")} calls (page × pageSize); the request log has every call.`,
  );
  const [account] = await db<{ kind: string }[]>`select kind from accounts where id = ${accountId}`;
  const team = account?.kind === "team";
  const keys = db`array(select ak.id from api_keys ak where ak.account_id = ${accountId})`;
  const calls = team
    ? db`(select e.* from usage_events e where ${orgRows(db, "e", accountId)}
          order by e.started_at desc, e.id desc limit ${offset + pageSize}) u`
    : keyByKey(db, keys, offset + pageSize, "u");
  // Counted to one past the cap, each read stopping there: an organization's through its account index, a person's
  // key by key.
  const counted = team
    ? db`(select 1 from usage_events e where ${orgRows(db, "e", accountId)} limit ${RECENT_CALLS_MAX + 1})`
    : db`(select 1 from unnest(${keys}) uk(id)
          cross join lateral (select 1 from usage_events e where e.key_id = uk.id limit ${RECENT_CALLS_MAX + 1}) e
          limit ${RECENT_CALLS_MAX + 1})`;
  const [items, [count]] = await Promise.all([
    db<UsageRow[]>`
      select u.id::text, u.call_id as "callId", k.prefix as "keyPrefix", u.model_group as model, u.status,
             billing_status(u.status) as "billingStatus", u.stream, u.prompt_tokens as "promptTokens",
             u.completion_tokens as "completionTokens", u.kind, ${usageUnits(db, "u")}, u.image_size as "imageSize",
             u.image_quality as "imageQuality", u.cost_micros as "costMicros",
             u.revenue_micros as "revenueMicros", u.started_at as "startedAt", u.error_class as "errorClass"
      from ${calls} join api_keys k on k.id = u.key_id
      order by u.started_at desc, u.id desc
      limit ${pageSize} offset ${offset}`,
    db<{ n: number }[]>`select count(*)::int as n from ${counted} c`,
  ]);
  return {
    items: items.map((row) => hideCost(actor, row, ["costMicros"])),
    total: Math.min(count!.n, RECENT_CALLS_MAX),
    capped: count!.n > RECENT_CALLS_MAX,
  };
}

export interface DailySpend {
  day: string;
  calls: number;
  /** Admins only. */
  costMicros?: bigint;
  revenueMicros: bigint;
  estimatedMicros: bigint;
}

/** The CTE `span`: the last `days` UTC days to today (tollgate_now()), oldest first. */
function lastDays(db: Db, days: number) {
  return db`
    span as (
      select d::date as day from generate_series((tollgate_now() at time zone 'utc')::date - (${days - 1})::int,
                                                 (tollgate_now() at time zone 'utc')::date, interval '1 day') d
    )`;
}

/**
 * The days of a span (a CTE `span` of UTC days, oldest first) that a platform-wide read takes from usage_hourly, as
 * a CTE `hourly_days`: every day after the one holding its oldest kept hour. usage_hourly is kept with every insert
 * and update, in its statement (a late call or an upgrade is in it at once), and retention trims it from its oldest
 * hour, only hours whose detail is already gone and before the claims horizon (no call can arrive for them again):
 * the days after the oldest kept hour's are whole in it, a day without a row there had no call. The oldest kept hour's
 * day may have lost some hours to a retention run cut short, and the days before it are gone from usage_hourly: those
 * (a prefix of the span, `rest_days`) are read as an account's are. For an account, every day is in rest_days.
 */
function platformDays(db: Db, platform: boolean) {
  return db`
    hourly_days as (
      select day from span
      where ${platform ? db`true` : db`false`} and day > (select (min(h.hour))::date from usage_hourly h)
    ),
    rest_days as (
      select day from span where day not in (select day from hourly_days)
    )`;
}

/**
 * Usage per UTC day over the last `days` days, for one account or (null) all of them. For all accounts, the days
 * usage_hourly holds whole are read from it (platformDays). Settled days whose roll-ups still hold every call
 * (whole_settled_days) are read from them; the others (today, unsettled days, a day a late call changed since its
 * settlement) from the usage rows themselves, one UTC day at a time.
 */
export async function dailySpend(
  db: Db,
  actor: Actor,
  accountId: string | null,
  days = 30,
): Promise<DailySpend[]> {
  if (accountId === null) assertAdmin(actor);
  const rows = await db<DailySpend[]>`
    with ${lastDays(db, days)},
    ${platformDays(db, accountId === null)},
    hourly as (
      select h.hour::date as day, sum(h.calls) as calls, sum(h.cost_micros) as cost, sum(h.revenue_micros) as revenue,
             sum(h.revenue_micros) filter (where h.billing_status = 'estimated') as estimated
      from usage_hourly h
      where h.hour >= (select min(day) from hourly_days)::timestamp
        and h.hour < (select max(day) + 1 from hourly_days)::timestamp
      group by 1
    ),
    -- The settled days whose roll-ups still hold every call (whole_settled_days): a day a late call changed since its
    -- settlement is read from its detail until it is rolled up again.
    settled as (
      select w.day from whole_settled_days((select min(day) from rest_days), (select max(day) from rest_days),
                                           ${accountId}::uuid, null) w(day)
    ),
    -- An account's rows of usage_rollups; for the platform, their totals (usage_rollup_days, kept by its triggers).
    rolled as (
      select day, sum(requests) as calls, sum(cost_micros) as cost, sum(revenue_micros) as revenue,
             sum(revenue_micros) filter (where billing_status = 'estimated') as estimated
      from ${accountId ? db`usage_rollups` : db`usage_rollup_days`}
      where day in (select day from settled) ${accountId ? db`and account_id = ${accountId}` : db``}
      group by day
    ),
    -- The other days from their calls, one UTC day (one partition) at a time (dayCalls: its rows, and the sums of
    -- what retention already removed from it), as the day's roll-up is built.
    live as (
      select d.day, sum(x.calls) as calls, sum(x.cost) as cost, sum(x.revenue) as revenue,
             sum(x.revenue) filter (where x.billing_status = 'estimated') as estimated
      from rest_days d
      cross join lateral (${dayCalls(db, db`d.day`, accountId ? { account: { id: accountId, org: false } } : {})}) x
      where d.day not in (select day from settled)
      group by d.day
    )
    select to_char(span.day, 'YYYY-MM-DD') as day,
           coalesce(h.calls, r.calls, l.calls, 0)::int as calls,
           coalesce(h.cost, r.cost, l.cost, 0)::bigint as "costMicros",
           coalesce(h.revenue, r.revenue, l.revenue, 0)::bigint as "revenueMicros",
           coalesce(h.estimated, r.estimated, l.estimated, 0)::bigint as "estimatedMicros"
    from span left join hourly h on h.day = span.day left join rolled r on r.day = span.day
    left join live l on l.day = span.day
    order by span.day`;
  return rows.map((row) => hideCost(actor, row, ["costMicros"]));
}

export interface ModelUsage {
  model: string;
  calls: number;
  tokensIn: bigint;
  tokensOut: bigint;
  costMicros: bigint;
  revenueMicros: bigint;
}

/**
 * Usage per model over the last `days` UTC days (all accounts), for the margins page: the days usage_hourly holds whole
 * from it (platformDays), the rest of the span as an account's daily spend reads it — settled days whose roll-ups
 * still hold every call (whole_settled_days) from usage_rollups, the others from their calls one UTC day at a time,
 * with what retention already removed from the day. A call started after today (clock skew) counts with today's. Never
 * a scan of the month's detail or of its accounts' roll-ups, and a day whose detail retention dropped still counts.
 */
export async function usageByModel(db: Db, actor: Actor, days = 30): Promise<ModelUsage[]> {
  assertAdmin(actor);
  return db<ModelUsage[]>`
    with ${lastDays(db, days)},
    ${platformDays(db, true)},
    hourly as (
      select h.model_group, sum(h.calls)::bigint as calls, sum(h.tokens_in) as tokens_in,
             sum(h.tokens_out) as tokens_out, sum(h.cost_micros) as cost, sum(h.revenue_micros) as revenue
      from usage_hourly h where h.hour >= (select min(day) from hourly_days)::timestamp
      group by h.model_group
    ),
    whole as (
      select w.day from whole_settled_days((select min(day) from rest_days), (select max(day) from rest_days), null,
                                           null) w(day)
    ),
    -- usage_rollups' platform totals (usage_rollup_days, kept by its triggers).
    rolled as (
      select r.model_group, sum(r.requests)::bigint as calls, sum(r.tokens_in) as tokens_in,
             sum(r.tokens_out) as tokens_out, sum(r.cost_micros) as cost, sum(r.revenue_micros) as revenue
      from usage_rollup_days r where r.day in (select day from whole)
      group by r.model_group
    ),
    -- The other days from their calls (dayCalls); a call started after today (clock skew) counts with today's.
    live as (
      select x.model_group, x.calls, x.tokens_in, x.tokens_out, x.cost, x.revenue
      from rest_days d
      cross join lateral (${dayCalls(db, db`d.day`, { throughFuture: db`d.day = (select max(day) from span)` })}) x
      where d.day not in (select day from whole)
    )
    select model_group as model, sum(calls)::int as calls, sum(tokens_in)::bigint as "tokensIn",
           sum(tokens_out)::bigint as "tokensOut", sum(cost)::bigint as "costMicros",
           sum(revenue)::bigint as "revenueMicros"
    from (select * from hourly union all select * from rolled union all select * from live) u
    group by model_group
    order by sum(revenue) desc, model_group`;
}
