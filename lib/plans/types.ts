/** A tier applied to users (supabase/migrations/20261124000500_plans.sql). Null limits mean none. */
export interface Plan {
  id: string;
  name: string;
  description: string;
  requestsPerDay: number | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
  dailyBudgetMicros: bigint | null;
  monthlyBudgetMicros: bigint | null;
  allowedModels: string[];
  monthlyGrantMicros: bigint | null;
  /** How many users are on it. */
  users: number;
}
