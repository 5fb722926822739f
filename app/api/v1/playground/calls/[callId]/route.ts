import { db } from "@/lib/db";
import { notFound } from "@/lib/http/errors";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/**
 * What one of the caller's own calls was charged, from the ledger's usage row (404 until the gateway's event has
 * arrived, and for anyone else's call): the playground shows it under each answer.
 */
export const GET = withSession({}, async ({ params, principal }) => {
  const callId = params.callId ?? "";
  if (callId.length > 200) throw notFound("Call");
  const [row] = await db()<
    {
      status: string;
      billingStatus: string;
      promptTokens: number;
      completionTokens: number;
      chargedMicros: bigint;
      ttftMs: number | null;
      ledgerTransactionId: string | null;
    }[]
  >`
    select e.status, e.billing_status as "billingStatus", e.prompt_tokens as "promptTokens",
           e.completion_tokens as "completionTokens", e.revenue_micros as "chargedMicros",
           round(extract(epoch from (e.first_token_at - e.started_at)) * 1000)::int as "ttftMs",
           e.ledger_transaction_id::text as "ledgerTransactionId"
    from usage_events e
    where e.key_id in (select k.id from api_keys k where k.user_id = ${principal.userId}) and e.call_id = ${callId}
    limit 1`;
  if (!row) throw notFound("Call");
  return json({ call: row });
});
