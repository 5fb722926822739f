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
 * Settles a batch of usage events in one transaction, set-based (a few statements whatever the batch size):
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

  return inTransaction(db, async (tx) => {
    // Lock order shared with place_hold: keys, then accounts, each by id. No deadlocks between batches.
    const locked = await tx<{ key_id: string; account_id: string }[]>`
      with keys as (
        select k.id, k.user_id from api_keys k
        where k.id in (select (e->>'key_id')::uuid from jsonb_array_elements(${tx.json(payload)}::jsonb) e)
        order by k.id for update of k
      )
      select keys.id as key_id, a.id as account_id from keys join accounts a on a.owner_user_id = keys.user_id`;
    await tx`select 1 from accounts where id in ${tx(locked.length ? locked.map((l) => l.account_id) : ["00000000-0000-0000-0000-000000000000"])} order by id for update`;

    const [summary] = await tx<{ inserted: number; charged: bigint }[]>`
      with input as (
        select * from jsonb_to_recordset(${tx.json(payload)}::jsonb) as e(
          call_id text, key_id uuid, model_group text, provider_model text, status text, stream boolean,
          prompt_tokens integer, completion_tokens integer, cached_tokens integer, reported_cost_micros bigint,
          started_at timestamptz, ended_at timestamptz, error_class text)
      ),
      enriched as (
        select i.*, k.user_id, a.id as account_id, m.id as model_id,
               h.id as hold_id, h.status as hold_status, h.amount_micros as hold_amount, h.created_at as hold_created_at,
               pv.id as price_version_id,
               case when i.status = 'failure' or pv.id is null then 0
                    else price_tokens(i.prompt_tokens, i.completion_tokens, i.cached_tokens,
                                      pv.input_price_micros, pv.output_price_micros, pv.cached_input_price_micros) end as revenue,
               case when i.status = 'failure' or pv.id is null then 0
                    else price_tokens(i.prompt_tokens, i.completion_tokens, i.cached_tokens,
                                      pv.input_cost_micros, pv.output_cost_micros, pv.cached_input_cost_micros) end as cost
        from input i
        join api_keys k on k.id = i.key_id
        join accounts a on a.owner_user_id = k.user_id
        left join models m on m.public_name = i.model_group
        left join holds h on h.key_id = i.key_id and h.call_id = i.call_id
        left join lateral (
          select p.* from price_versions p
          where p.id = h.price_version_id
             or (h.id is null and p.model_id = m.id and p.effective_from <= i.started_at)
          order by (p.id = h.price_version_id) desc nulls last, p.effective_from desc
          limit 1
        ) pv on true
      ),
      ins as (
        insert into usage_events (key_id, call_id, user_id, account_id, model_id, model_group, provider_model, status,
                                  stream, prompt_tokens, completion_tokens, cached_tokens, reported_cost_micros,
                                  started_at, ended_at, error_class, billing_status, cost_micros, revenue_micros,
                                  price_version_id, hold_id)
        select key_id, call_id, user_id, account_id, model_id, model_group, coalesce(provider_model, ''), status,
               coalesce(stream, false), prompt_tokens, completion_tokens, cached_tokens, coalesce(reported_cost_micros, 0),
               started_at, ended_at, error_class,
               case status when 'success' then 'exact' when 'cut' then 'estimated' else 'waived' end,
               cost, revenue, price_version_id, hold_id
        from enriched
        on conflict (key_id, call_id) do nothing
        returning key_id, call_id, account_id, revenue_micros, hold_id, status, started_at
      ),
      closed as (
        update holds h set status = case when ins.status = 'failure' then 'released' else 'settled' end,
                           closed_at = now(), close_reason = 'usage_event'
        from ins
        where h.id = ins.hold_id and h.status = 'open'
        returning h.id, h.account_id, h.key_id, h.amount_micros, (h.created_at at time zone 'utc') as created_utc
      ),
      charged as (
        select * from ins where revenue_micros > 0
      ),
      txns as (
        insert into ledger_transactions (kind, idempotency_key, reason)
        select 'charge', 'charge:' || key_id || ':' || call_id, 'call ' || call_id from charged
        returning id, idempotency_key
      ),
      entries as (
        insert into ledger_entries (transaction_id, account_id, amount_micros)
        select t.id, side.account_id, side.amount
        from txns t
        join charged c on t.idempotency_key = 'charge:' || c.key_id || ':' || c.call_id
        cross join lateral (values (c.account_id, -c.revenue_micros),
                                   ((select id from accounts where code = 'revenue'), c.revenue_micros)) as side(account_id, amount)
        returning 1
      ),
      per_account as (
        select account_id, sum(revenue) as revenue, sum(released) as released,
               sum(day_delta) as day_delta, sum(month_delta) as month_delta
        from (
          select account_id, revenue_micros as revenue, 0::bigint as released,
                 revenue_micros as day_delta, revenue_micros as month_delta, started_at
          from ins
          union all
          select account_id, 0, amount_micros, -amount_micros, -amount_micros, created_utc from closed
        ) x
        group by account_id
      ),
      accounts_updated as (
        update accounts a set
          balance_micros = a.balance_micros - p.revenue,
          held_micros = a.held_micros - p.released,
          day_used_micros = greatest(0, a.day_used_micros + p.day_delta),
          month_used_micros = greatest(0, a.month_used_micros + p.month_delta)
        from per_account p where a.id = p.account_id
        returning 1
      ),
      per_key as (
        select key_id, sum(delta) as delta from (
          select key_id, revenue_micros as delta from ins
          union all
          select key_id, -amount_micros from closed
        ) x group by key_id
      ),
      keys_updated as (
        update api_keys k set
          day_used_micros = greatest(0, k.day_used_micros + p.delta),
          month_used_micros = greatest(0, k.month_used_micros + p.delta)
        from per_key p where k.id = p.key_id
        returning 1
      )
      select (select count(*)::int from ins) as inserted,
             (select coalesce(sum(revenue_micros), 0)::bigint from ins) as charged,
             (select count(*) from entries) + (select count(*) from accounts_updated) + (select count(*) from keys_updated) as touched`;

    const known = new Set(locked.map((l) => l.key_id));
    const unknownKeys = batch.filter((e) => !known.has(e.keyId)).length;
    const upgraded = await applyUpgrades(tx, batch);
    return {
      received: events.length,
      inserted: summary!.inserted,
      duplicates: batch.length - unknownKeys - summary!.inserted - upgraded,
      upgraded,
      unknownKeys,
      chargedMicros: summary!.charged,
    };
  });
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
    const [changed] = await tx<{ account_id: string; delta: bigint; day_same: boolean }[]>`
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
        returning u.account_id, coalesce(priced.revenue, 0) - priced.revenue_micros as delta
      )
      select account_id, delta, true as day_same from upd`;
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
      await tx`
        update accounts set balance_micros = balance_micros - ${changed.delta},
          day_used_micros = greatest(0, day_used_micros + ${changed.delta}),
          month_used_micros = greatest(0, month_used_micros + ${changed.delta})
        where id = ${changed.account_id}`;
      await tx`
        update api_keys set day_used_micros = greatest(0, day_used_micros + ${changed.delta}),
          month_used_micros = greatest(0, month_used_micros + ${changed.delta})
        where id = ${row.key_id}`;
    }
    upgraded++;
  }
  return upgraded;
}
