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
  /** What this key has spent (and holds) in the UTC day and month, as its budgets count it. */
  todaySpentMicros: bigint;
  monthSpentMicros: bigint;
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
