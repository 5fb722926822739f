export interface ApiKey {
  id: string;
  userId: string;
  ownerEmail: string;
  name: string;
  prefix: string;
  status: "active" | "revoked";
  allowedModels: string[];
  rpmLimit: number | null;
  tpmLimit: number | null;
  expiresAt: Date | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  rotatedFrom: string | null;
  dailyBudgetMicros: bigint | null;
  monthlyBudgetMicros: bigint | null;
  /** What this key's budgets count in the UTC day and month: its charges plus its reservations made then. */
  todaySpentMicros: bigint;
  monthSpentMicros: bigint;
  /** What this key has been charged (settled calls only) in the UTC day and month. */
  todayChargedMicros: bigint;
  monthChargedMicros: bigint;
  /** What this key's reservations hold right now: open holds of calls in progress and live leases. */
  reservedMicros: bigint;
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
