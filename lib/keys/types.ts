import type { OrgRole } from "@/lib/orgs/access";

/**
 * A key's or account's budgets and what they count, in integer micro-USD; "today" and "this month" are UTC, as
 * budgets count them. Charges and reservations are separate figures.
 */
export interface BudgetUse {
  dailyBudgetMicros: bigint | null;
  monthlyBudgetMicros: bigint | null;
  /** What the budgets count in the UTC day and month: charges plus the reservations made then. */
  todaySpentMicros: bigint;
  monthSpentMicros: bigint;
  /** What has been charged (settled calls only) in the UTC day and month. */
  todayChargedMicros: bigint;
  monthChargedMicros: bigint;
  /** What reservations hold right now: open holds of calls in progress and live leases. */
  reservedMicros: bigint;
}

export interface ApiKey extends BudgetUse {
  id: string;
  /** The member who made it (an organization key) or the person whose key it is. */
  userId: string;
  ownerEmail: string;
  /** The account it spends from: its user's own, or its organization's. */
  accountId: string;
  /** The organization whose account it spends from; null for a person's key. */
  organizationId: string | null;
  organizationSlug: string | null;
  organizationName: string | null;
  /** Its maker's role in that organization now (null: a person's key, or a maker no longer a member). */
  makerRole: OrgRole | null;
  name: string;
  prefix: string;
  status: "active" | "revoked";
  allowedModels: string[];
  rpmLimit: number | null;
  tpmLimit: number | null;
  expiresAt: Date | null;
  /** false: the key opted out of its account's response cache. */
  responseCache: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  rotatedFrom: string | null;
  /** What this key's live balance leases reserve right now (gateway processes spend it locally). */
  leasedMicros: bigint;
  /** app: issued to the user; playground: the playground's own key, managed by the platform (never shown). */
  purpose: "app" | "playground";
}

export interface KeySettings {
  name: string;
  allowedModels: string[];
  rpmLimit: number | null;
  tpmLimit: number | null;
  expiresAt: Date | null;
}

export interface KeyBudgets {
  dailyBudgetMicros: bigint | null;
  monthlyBudgetMicros: bigint | null;
}
