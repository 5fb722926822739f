import "server-only";
import { randomUUID } from "node:crypto";
import { type Db, inTransaction, type Tx } from "@/lib/db/client";

/** One call as the gateway reports it (the webhook's schema validates the shape). */
export interface UsageEvent {
  callId: string;
  keyId: string;
  modelGroup: string;
  providerModel: string;
  /** success: the provider's usage; cut: a stream cut short, tokens counted from delivered text; failure: no output. */
  status: "success" | "cut" | "failure";
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reportedCostMicros: number;
  startedAt: string;
  endedAt: string;
  errorClass: string | null;
}

export interface SettleResult {
  received: number;
  inserted: number;
  duplicates: number;
  upgraded: number;
  unknownKeys: number;
  chargedMicros: bigint;
}

const RANK = { failure: 0, cut: 1, success: 2 } as const;

/**
 * Settles a batch of usage events in one statement (the settle_usage SQL function), set-based whatever the batch size:
 * each new (key, call id) becomes a usage row, its hold turns into a charge (price version of the hold, else
 * the one in force when the call started), the rest of the hold is released, and a balanced ledger
 * transaction is written. Repeated events change nothing; a better outcome for a known call (failure → cut →
 * success, as retries and fallbacks report) is charged as an adjustment.
 */
export async function settleUsage(db: Db, events: UsageEvent[]): Promise<SettleResult> {
  if (!events.length)
    return { received: 0, inserted: 0, duplicates: 0, upgraded: 0, unknownKeys: 0, chargedMicros: 0n };
  // Within a batch, keep the best outcome per call.
  const best = new Map<string, UsageEvent>();
  for (const e of events) {
    const id = `${e.keyId}\u0000${e.callId}`;
    const seen = best.get(id);
    if (!seen || RANK[e.status] > RANK[seen.status]) best.set(id, e);
  }
  const batch = [...best.values()];
  const payload = batch.map((e) => ({
    call_id: e.callId,
    key_id: e.keyId,
    model_group: e.modelGroup,
    provider_model: e.providerModel,
    status: e.status,
    stream: e.stream,
    prompt_tokens: e.promptTokens,
    completion_tokens: e.completionTokens,
    cached_tokens: e.cachedTokens,
    reported_cost_micros: e.reportedCostMicros,
    started_at: e.startedAt,
    ended_at: e.endedAt,
    error_class: e.errorClass,
  }));

  // One statement (atomic on its own); a better outcome for a call already recorded is rare and follows.
  const [row] = await db<{ inserted_count: number; charged_micros: bigint; unknown_key_events: number }[]>`
    select * from settle_usage(${db.json(payload)}::jsonb, ${randomUUID()}::uuid)`;
  const inserted = row!.inserted_count;
  const unknownKeys = row!.unknown_key_events;
  const upgraded =
    inserted + unknownKeys < batch.length ? await inTransaction(db, (tx) => applyUpgrades(tx, batch)) : 0;
  return {
    received: events.length,
    inserted,
    duplicates: batch.length - unknownKeys - inserted - upgraded,
    upgraded,
    unknownKeys,
    chargedMicros: row!.charged_micros,
  };
}

/**
 * A call already recorded with a worse outcome (a failed attempt, then a success) is re-priced: the usage row
 * takes the better outcome and the difference is charged as a charge adjustment. Rare, so row by row.
 */
async function applyUpgrades(tx: Tx, batch: UsageEvent[]): Promise<number> {
  const candidates = await tx<{ key_id: string; call_id: string; status: UsageEvent["status"] }[]>`
    select u.key_id, u.call_id, u.status from usage_events u
    join jsonb_to_recordset(${tx.json(batch.map((e) => ({ key_id: e.keyId, call_id: e.callId })))}::jsonb)
         as b(key_id uuid, call_id text) on b.key_id = u.key_id and b.call_id = u.call_id
    where u.status <> 'success'`;
  let upgraded = 0;
  for (const row of candidates) {
    const event = batch.find((e) => e.keyId === row.key_id && e.callId === row.call_id)!;
    if (RANK[event.status] <= RANK[row.status]) continue;
    const [changed] = await tx<{ account_id: string; delta: bigint; day: string }[]>`
      with old as (
        select u.id, u.account_id, u.revenue_micros, u.price_version_id, u.model_id, u.started_at
        from usage_events u where u.key_id = ${row.key_id} and u.call_id = ${row.call_id} for update
      ),
      priced as (
        select old.*, price_tokens(${event.promptTokens}, ${event.completionTokens}, ${event.cachedTokens},
                                   p.input_price_micros, p.output_price_micros, p.cached_input_price_micros) as revenue,
               price_tokens(${event.promptTokens}, ${event.completionTokens}, ${event.cachedTokens},
                            p.input_cost_micros, p.output_cost_micros, p.cached_input_cost_micros) as cost,
               p.id as pv_id
        from old left join lateral (
          select * from price_versions p
          where p.id = old.price_version_id or (old.price_version_id is null and p.model_id = old.model_id and p.effective_from <= old.started_at)
          order by (p.id = old.price_version_id) desc nulls last, p.effective_from desc limit 1) p on true
      ),
      upd as (
        update usage_events u set status = ${event.status},
          billing_status = ${event.status === "success" ? "exact" : "estimated"},
          prompt_tokens = ${event.promptTokens}, completion_tokens = ${event.completionTokens},
          cached_tokens = ${event.cachedTokens}, ended_at = ${event.endedAt}, error_class = ${event.errorClass},
          revenue_micros = coalesce(priced.revenue, 0), cost_micros = coalesce(priced.cost, 0),
          price_version_id = priced.pv_id
        from priced where u.id = priced.id
        returning u.account_id, coalesce(priced.revenue, 0) - priced.revenue_micros as delta, priced.started_at
      )
      select account_id, delta, to_char(started_at at time zone 'utc', 'YYYY-MM-DD') as day from upd`;
    if (changed && changed.delta !== 0n) {
      const [txn] = await tx<{ id: string }[]>`
        insert into ledger_transactions (kind, idempotency_key, reason)
        values ('charge_adjustment', ${`charge-upgrade:${row.key_id}:${row.call_id}:${event.status}`},
                ${`call ${row.call_id}: ${row.status} → ${event.status}`})
        returning id`;
      await tx`
        insert into ledger_entries (transaction_id, account_id, amount_micros)
        values (${txn!.id}, ${changed.account_id}, ${-changed.delta}),
               (${txn!.id}, (select id from accounts where code = 'revenue'), ${changed.delta})`;
      // Budget counters move only while their window is the one the call started in (clause 26).
      await tx`
        update accounts set balance_micros = balance_micros - ${changed.delta},
          day_used_micros = case when budget_day = ${changed.day} then greatest(0, day_used_micros + ${changed.delta})
                                 else day_used_micros end,
          month_used_micros = case when budget_month = date_trunc('month', ${changed.day}::date)::date
                                   then greatest(0, month_used_micros + ${changed.delta}) else month_used_micros end
        where id = ${changed.account_id}`;
      await tx`
        update api_keys set
          day_used_micros = case when budget_day = ${changed.day} then greatest(0, day_used_micros + ${changed.delta})
                                 else day_used_micros end,
          month_used_micros = case when budget_month = date_trunc('month', ${changed.day}::date)::date
                                   then greatest(0, month_used_micros + ${changed.delta}) else month_used_micros end
        where id = ${row.key_id}`;
    }
    upgraded++;
  }
  return upgraded;
}
