import "server-only";
import { LRUCache } from "lru-cache";
import { resolveRange, usageBreakdown, usageSeries, usageTotals } from "@/lib/analytics/usage";
import type { Actor } from "@/lib/auth/types";
import { getAccount } from "@/lib/billing/ledger";
import type { Db } from "@/lib/db/client";
import { notFound } from "@/lib/http/errors";
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
 * made in the window).
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
  } & BudgetUse;
  account: BudgetUse & {
    balanceMicros: bigint;
    heldMicros: bigint;
    availableMicros: bigint;
    plan: string | null;
    requestsPerDay: number | null;
    requestsToday: number;
  };
  /** When these figures were read (they may be up to 5 s old). */
  asOf: Date;
}

/**
 * Composed from the pieces the rest of the platform reads keys and accounts with: the gateway's verdict (effective
 * models and limits, the plan's where the key has none), the key's row (budgets, spend in its UTC windows) and the
 * owner's account (balance, holds, budgets and plan).
 */
export async function keyState(db: Db, verdict: VerifiedKey): Promise<KeyState> {
  const [key, account] = await Promise.all([
    selectKey(db, verdict.id),
    getAccount(db, { userId: verdict.userId }),
  ]);
  if (!key || !account) throw notFound("API key");
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
      dailyBudgetMicros: key.dailyBudgetMicros,
      monthlyBudgetMicros: key.monthlyBudgetMicros,
      todaySpentMicros: key.todaySpentMicros,
      monthSpentMicros: key.monthSpentMicros,
      todayChargedMicros: key.todayChargedMicros,
      monthChargedMicros: key.monthChargedMicros,
      reservedMicros: key.reservedMicros,
    },
    account: {
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
  const filters = { from, to, keyId: verdict.id };
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
