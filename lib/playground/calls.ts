import "server-only";
import type { Db } from "@/lib/db/client";

/** What one of the user's calls was charged, from the ledger's usage row. */
export interface CallCharge {
  status: string;
  billingStatus: string;
  promptTokens: number;
  completionTokens: number;
  chargedMicros: bigint;
  ttftMs: number | null;
  ledgerTransactionId: string | null;
}

/**
 * The charge of a call made with one of the user's keys, or null while the gateway's usage event has not arrived
 * (or when the call is not theirs: the two look alike, so nothing about other users' calls is revealed).
 */
export async function callCharge(db: Db, userId: string, callId: string): Promise<CallCharge | null> {
  if (callId.length > 200) return null;
  const [row] = await db<CallCharge[]>`
    select e.status, billing_status(e.status) as "billingStatus", e.prompt_tokens as "promptTokens",
           e.completion_tokens as "completionTokens", e.revenue_micros as "chargedMicros",
           round(extract(epoch from (e.first_token_at - e.started_at)) * 1000)::int as "ttftMs",
           e.ledger_transaction_id::text as "ledgerTransactionId"
    from api_keys k
    -- The call's row through its claim (usage_call): one partition of usage_events.
    join lateral usage_call(k.id, ${callId}) e on true
    where k.user_id = ${userId}
    limit 1`;
  return row ?? null;
}
