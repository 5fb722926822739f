/** A tier applied to users and organizations (supabase/migrations/20261124000500_plans.sql). Null limits mean none. */
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
  /** A seat's price per UTC month, charged to an organization on the plan for each member (null: none). */
  seatPriceMicros: bigint | null;
  /** The BYOK fee: basis points of the price-book price of a call served with the owner's own provider key. */
  byokFeeBps: number;
  /** The BYOK fee's per-request part (micro-USD), added to the share; the sum never exceeds the call's full price. */
  byokFeeRequestMicros: bigint;
  /** How many users are on it. */
  users: number;
  /** How many organizations are on it. */
  organizations: number;
}
