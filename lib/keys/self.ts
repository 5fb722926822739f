import "server-only";
import { LRUCache } from "lru-cache";
import { resolveRange, usageBreakdown, usageSeries, usageTotals } from "@/lib/analytics/usage";
import type { Actor } from "@/lib/auth/types";
import { getAccount } from "@/lib/billing/ledger";
import type { Db } from "@/lib/db/client";
import { notFound } from "@/lib/http/errors";
import { type OrgRole, orgAllows } from "@/lib/orgs/access";
import { selectKey } from "./access";
import type { BudgetUse } from "./types";
import type { KeyVerdict } from "./verify";

type VerifiedKey = Extract<KeyVerdict, { valid: true }>["key"];

/**
 * What an app may learn about itself with its own key (`GET /api/v1/key`): the key's limits and budgets and what it
 * has used, and its account's balance, holds and budgets — never another key's or account's. Money in integer
 * micro-USD; "today" and "this month" are UTC, as budgets count them. Charges and reservations are separate figures:
 * `todayChargedMicros`/`monthChargedMicros` are settled charges only, `reservedMicros` what calls in progress and
 * leases hold now, and `todaySpentMicros`/`monthSpentMicros` what the budgets count (charges plus the reservations
 * made in the window). An organization's key answers with its own room and its member's caps; the organization's
 * balance only when the member's role reads the organization's money (owners, admins, billing: usage.all).
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
    /**
     * What the key may still reserve in this UTC day and month under its own budgets and, for an organization's key,
     * its member's caps (null: none of them caps it). The balance is not counted in it.
     */
    roomMicros: bigint | null;
  } & BudgetUse;
  /** An organization's key: the organization and the caps of the member it is attributed to; null for a person's. */
  organization: {
    id: string;
    slug: string;
    name: string;
    /** Whether `account` carries the organization's balance (the member's role reads its money). */
    balanceVisible: boolean;
    member: {
      role: OrgRole;
      dailyCapMicros: bigint | null;
      monthlyCapMicros: bigint | null;
      /** What the member's caps count in the UTC day and month, over all their keys of the organization. */
      todaySpentMicros: bigint;
      monthSpentMicros: bigint;
      /** What the caps leave (null: uncapped). */
      roomMicros: bigint | null;
    };
  } | null;
  /** The account the key spends from; null for an organization's key whose member may not see its balance. */
  account:
    | (BudgetUse & {
        balanceMicros: bigint;
        heldMicros: bigint;
        availableMicros: bigint;
        plan: string | null;
        requestsPerDay: number | null;
        requestsToday: number;
      })
    | null;
  /** When these figures were read (they may be up to 5 s old). */
  asOf: Date;
}

interface KeyLevels {
  accountId: string;
  keyRoom: bigint | null;
  organizationId: string | null;
  slug: string | null;
  name: string | null;
  role: OrgRole | null;
  dailyCapMicros: bigint | null;
  monthlyCapMicros: bigint | null;
  memberToday: bigint | null;
  memberMonth: bigint | null;
  memberRoom: bigint | null;
}

/** The least of the rooms that cap (null: none does), never below zero. */
function leastRoom(...rooms: (bigint | null)[]): bigint | null {
  let least: bigint | null = null;
  for (const room of rooms) if (room !== null && (least === null || room < least)) least = room;
  return least !== null && least < 0n ? 0n : least;
}

/**
 * Composed from the pieces the rest of the platform reads keys and accounts with: the gateway's verdict (effective
 * models and limits, the plan's where the key has none), the key's row (budgets, spend in its UTC windows), its
 * member's cap windows (an organization's key; budget_room, the rule place_hold reserves by) and the account it
 * spends from (balance, holds, budgets and plan).
 */
export async function keyState(db: Db, verdict: VerifiedKey): Promise<KeyState> {
  const [key, [levels]] = await Promise.all([
    selectKey(db, verdict.id),
    db<KeyLevels[]>`
      select k.account_id as "accountId",
             budget_room(k.daily_budget_micros, k.day_used_micros, k.budget_day, k.monthly_budget_micros,
                         k.month_used_micros, k.budget_month, tollgate_now()) as "keyRoom",
             o.id as "organizationId", o.slug, o.name, m.role,
             m.daily_cap_micros as "dailyCapMicros", m.monthly_cap_micros as "monthlyCapMicros",
             window_used(m.day_used_micros, m.budget_day, tollgate_now(), 'day') as "memberToday",
             window_used(m.month_used_micros, m.budget_month, tollgate_now(), 'month') as "memberMonth",
             budget_room(m.daily_cap_micros, m.day_used_micros, m.budget_day, m.monthly_cap_micros,
                         m.month_used_micros, m.budget_month, tollgate_now()) as "memberRoom"
      from api_keys k join accounts a on a.id = k.account_id
      left join organizations o on o.id = a.organization_id
      left join organization_members m on m.organization_id = o.id and m.user_id = k.user_id
      where k.id = ${verdict.id}`,
  ]);
  if (!key || !levels) throw notFound("API key");
  const member = levels.organizationId && levels.role ? levels : null;
  const balanceVisible = !levels.organizationId || (member !== null && orgAllows(member, "usage.all", false));
  const account = balanceVisible ? await getAccount(db, { id: levels.accountId }) : null;
  if (balanceVisible && !account) throw notFound("API key");
  return {
    key: {
      id: key.id,
      name: key.name,
      prefix: key.prefix,
      status: key.status,
      expiresAt: key.expiresAt,
      allowedModels: verdict.allowedModels,
      rpmLimit: verdict.rpmLimit,
      tpmLimit: verdict.tpmLimit,
      roomMicros: leastRoom(levels.keyRoom, member?.memberRoom ?? null),
      dailyBudgetMicros: key.dailyBudgetMicros,
      monthlyBudgetMicros: key.monthlyBudgetMicros,
      todaySpentMicros: key.todaySpentMicros,
      monthSpentMicros: key.monthSpentMicros,
      todayChargedMicros: key.todayChargedMicros,
      monthChargedMicros: key.monthChargedMicros,
      reservedMicros: key.reservedMicros,
    },
    organization:
      levels.organizationId && member
        ? {
            id: levels.organizationId,
            slug: levels.slug!,
            name: levels.name!,
            balanceVisible,
            member: {
              role: member.role!,
              dailyCapMicros: member.dailyCapMicros,
              monthlyCapMicros: member.monthlyCapMicros,
              todaySpentMicros: member.memberToday ?? 0n,
              monthSpentMicros: member.memberMonth ?? 0n,
              roomMicros: leastRoom(member.memberRoom),
            },
          }
        : null,
    account: account && {
      balanceMicros: account.balanceMicros,
      heldMicros: account.heldMicros,
      availableMicros: account.balanceMicros - account.heldMicros,
      dailyBudgetMicros: account.dailyBudgetMicros ?? account.planDailyBudgetMicros,
      monthlyBudgetMicros: account.monthlyBudgetMicros ?? account.planMonthlyBudgetMicros,
      todaySpentMicros: account.dayUsedMicros,
      monthSpentMicros: account.monthUsedMicros,
      todayChargedMicros: account.dayChargedMicros,
      monthChargedMicros: account.monthChargedMicros,
      reservedMicros: account.heldMicros,
      plan: account.planName,
      requestsPerDay: account.requestsPerDay,
      requestsToday: account.dayRequests,
    },
    asOf: new Date(),
  };
}

export interface KeyUsage {
  from: string;
  to: string;
  totals: { calls: number; failures: number; tokensIn: bigint; tokensOut: bigint; chargedMicros: bigint };
  days: { day: string; calls: number; chargedMicros: bigint }[];
  models: { model: string; calls: number; tokensIn: bigint; tokensOut: bigint; chargedMicros: bigint }[];
}

/**
 * One key's calls and charges over UTC days [from, to] (inclusive), per day and per model: the usage analytics'
 * own totals, day series and model breakdown, filtered to the key and scoped as its owner (never provider cost).
 */
export async function keyUsage(db: Db, verdict: VerifiedKey, from: string, to: string): Promise<KeyUsage> {
  const owner: Actor = { userId: verdict.userId, kind: "user", role: "developer" };
  // The key's calls wherever it spends (its own or its organization's account): all are its user's.
  const filters = {
    from,
    to,
    keyId: verdict.id,
    scope: { userId: verdict.userId, accountId: null, personal: false },
  };
  const range = resolveRange(filters);
  const [totals, series, models] = await Promise.all([
    usageTotals(db, owner, filters, range),
    usageSeries(db, owner, filters, "day", range),
    usageBreakdown(db, owner, filters, "model", range),
  ]);
  return {
    from,
    to,
    totals: {
      calls: totals.calls,
      failures: totals.failures,
      tokensIn: totals.tokensIn,
      tokensOut: totals.tokensOut,
      chargedMicros: totals.revenueMicros,
    },
    days: series.map((p) => ({ day: p.at.slice(0, 10), calls: p.calls, chargedMicros: p.revenueMicros })),
    models: models.map((m) => ({
      model: m.id,
      calls: m.calls,
      tokensIn: m.tokensIn,
      tokensOut: m.tokensOut,
      chargedMicros: m.revenueMicros,
    })),
  };
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
