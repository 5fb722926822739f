import "server-only";
import type { Db } from "@/lib/db/client";
import { enqueue } from "@/lib/queue";
import type { WebhookEventType } from "./schemas";

// The outbox of customer webhooks (issue 28): an event is written in the same transaction as the fact it reports (a
// charge, a top-up, a revocation, a low balance), with one delivery per enabled endpoint that subscribes to it and a
// queue job per endpoint to send them. Rolled back with the fact, never written without it, and at most once per
// fact (dedup_key). Events are written only for accounts with an endpoint subscribed to the type (enabled or not,
// so a replay after re-enabling finds them); an account without endpoints pays nothing on its hot path.

export const WEBHOOK_DELIVER_JOB = "webhooks.deliver";

/** A timestamptz as JavaScript's toISOString() writes it (UTC, milliseconds, Z), the form every payload time takes. */
const isoUtc = (db: Db, column: ReturnType<Db["unsafe"]>) =>
  db`to_char(${column} at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The deliver job of an endpoint, at most one waiting or running (its singleton key). */
export async function enqueueDelivery(db: Db, endpointId: string, runAfter?: Date): Promise<void> {
  await enqueue(
    db,
    WEBHOOK_DELIVER_JOB,
    { endpointId },
    { singletonKey: `${WEBHOOK_DELIVER_JOB}:${endpointId}`, maxAttempts: 5, backoffBaseMs: 5_000, runAfter },
  );
}

/** Deliveries of the events just written, for each enabled endpoint subscribed; a job per endpoint. */
async function fanOut(db: Db, eventIds: string[]): Promise<void> {
  if (!eventIds.length) return;
  const endpoints = await db<{ endpointId: string }[]>`
    insert into webhook_deliveries (endpoint_id, event_id, occurred_at)
    select w.id, e.id, e.occurred_at
    from webhook_events e join webhook_endpoints w on w.account_id = e.account_id and w.enabled and e.type = any(w.event_types)
    where e.id = any(${db.array(eventIds)}::uuid[])
    on conflict (endpoint_id, event_id) where origin = 'event' do nothing
    returning endpoint_id::text as "endpointId"`;
  for (const id of new Set(endpoints.map((e) => e.endpointId))) await enqueueDelivery(db, id);
}

/**
 * call.charged for every call of a settled batch that was charged in it: new calls charged by the batch's ledger
 * transaction, and calls re-priced by an upgrade (a failure or a cut stream later reported as a success), each named
 * with the ledger transaction that moved its money. Call it in the settling transaction, after settle_usage and
 * upgrade_usage. Provider cost is never in it. `chargeMicros` is the call's total charge; `ledgerAmountMicros` what
 * this event's ledger transaction took for it (an upgrade's difference) and `previousChargeMicros` the total before:
 * a call's events' ledger amounts add up to its charge.
 */
export async function emitCallsCharged(
  db: Db,
  { txnId, calls }: { txnId: string; calls: { keyId: string; callId: string }[] },
): Promise<number> {
  if (!calls.length) return 0;
  // Most accounts have no endpoint: one indexed look-up keeps their batches as they were.
  const keyIds = [...new Set(calls.map((c) => c.keyId))];
  const [listening] = await db`
    select 1 from api_keys k join webhook_endpoints w on w.account_id = k.account_id
    where k.id = any(${db.array(keyIds)}::uuid[]) and 'call.charged' = any(w.event_types) limit 1`;
  if (!listening) return 0;
  const rows = await db<{ id: string }[]>`
    insert into webhook_events (account_id, type, occurred_at, payload, dedup_key)
    select u.account_id, 'call.charged', u.started_at,
      jsonb_build_object(
        'callId', u.call_id,
        'key', jsonb_build_object('id', k.id, 'name', k.name, 'prefix', k.prefix),
        'member', jsonb_build_object('userId', k.user_id),
        'organization', case when o.id is null then null
                             else jsonb_build_object('id', o.id, 'slug', o.slug, 'name', o.name) end,
        'model', u.model_group,
        'kind', u.kind,
        'status', u.status,
        'units', (select jsonb_object_agg(d.key, coalesce((r.usage ->> d.count_column)::bigint, 0) order by d.position)
                  from price_unit_contract d),
        'priceVersionId', u.price_version_id,
        'chargeMicros', u.revenue_micros,
        'previousChargeMicros', u.revenue_micros - coalesce(m.moved, u.revenue_micros),
        'ledgerAmountMicros', coalesce(m.moved, u.revenue_micros),
        'billingStatus', billing_status(u.status),
        'ledgerTransactionId', coalesce(t.id, u.ledger_transaction_id),
        'revision', case when t.id is null then 'charge' else 'upgrade' end,
        'startedAt', ${isoUtc(db, db`u.started_at`)},
        'endedAt', ${isoUtc(db, db`u.ended_at`)}),
      'call.charged:' || u.key_id || ':' || u.call_id || ':' || coalesce(t.id, u.ledger_transaction_id)
    from unnest(${db.array(calls.map((c) => c.keyId))}::uuid[], ${db.array(calls.map((c) => c.callId))}::text[])
      as b(key_id, call_id)
    -- Each call's row through its claim (usage_call): one partition of usage_events a look-up.
    join lateral usage_call(b.key_id, b.call_id) u on true
    join api_keys k on k.id = u.key_id
    -- The row as JSON once (offset 0 keeps it from being inlined into each unit's look-up).
    cross join lateral (select to_jsonb(u) as usage offset 0) r
    join accounts a on a.id = u.account_id
    left join organizations o on o.id = a.organization_id
    left join ledger_transactions t
      on u.ledger_transaction_id is distinct from ${txnId}::uuid
      and t.idempotency_key = charge_upgrade_key(u.key_id, u.call_id, u.status)
    -- What the upgrade's transaction (one per call) took from the account: the difference, not the new total.
    left join lateral (select -sum(le.amount_micros) as moved from ledger_entries le
                       where le.transaction_id = t.id and le.account_id = u.account_id) m on t.id is not null
    where u.revenue_micros > 0 and (u.ledger_transaction_id = ${txnId}::uuid or t.id is not null)
      and exists (select 1 from webhook_endpoints w where w.account_id = u.account_id and 'call.charged' = any(w.event_types))
    on conflict (dedup_key) do nothing
    returning id::text as id`;
  await fanOut(
    db,
    rows.map((r) => r.id),
  );
  return rows.length;
}

export interface EmittedEvent {
  accountId: string;
  type: Exclude<WebhookEventType, "call.charged">;
  payload: Record<string, unknown>;
  /** One event per fact: the same key again writes nothing. */
  dedupKey: string;
  occurredAt?: Date;
}

/** One event (balance.low, topup.succeeded, key.revoked), in the caller's transaction. */
export async function emitEvent(db: Db, event: EmittedEvent): Promise<void> {
  const rows = await db<{ id: string }[]>`
    insert into webhook_events (account_id, type, occurred_at, payload, dedup_key)
    select ${event.accountId}::uuid, ${event.type}, coalesce(${event.occurredAt ?? null}::timestamptz, tollgate_now()),
           ${db.json(event.payload as never)}, ${event.dedupKey}
    where exists (select 1 from webhook_endpoints w
                  where w.account_id = ${event.accountId}::uuid and ${event.type} = any(w.event_types))
    on conflict (dedup_key) do nothing
    returning id::text as id`;
  await fanOut(
    db,
    rows.map((r) => r.id),
  );
}

/** balance.low for accounts that just crossed their threshold (checkLowBalances), in its transaction. */
export async function emitBalancesLow(db: Db, accountIds: string[]): Promise<void> {
  if (!accountIds.length) return;
  const rows = await db<{ id: string }[]>`
    insert into webhook_events (account_id, type, occurred_at, payload, dedup_key)
    select a.id, 'balance.low', coalesce(a.low_balance_notified_at, tollgate_now()),
      jsonb_build_object(
        'accountId', a.id,
        'organization', case when o.id is null then null
                             else jsonb_build_object('id', o.id, 'slug', o.slug, 'name', o.name) end,
        'availableMicros', a.balance_micros - a.held_micros,
        'thresholdMicros', coalesce(a.low_balance_micros, s.low_balance_micros)),
      'balance.low:' || a.id || ':' || coalesce(a.low_balance_notified_at, tollgate_now())
    from accounts a cross join billing_settings s left join organizations o on o.id = a.organization_id
    where a.id = any(${db.array(accountIds)}::uuid[]) and exists (select 1 from webhook_endpoints w where w.account_id = a.id and 'balance.low' = any(w.event_types))
    on conflict (dedup_key) do nothing
    returning id::text as id`;
  await fanOut(
    db,
    rows.map((r) => r.id),
  );
}
