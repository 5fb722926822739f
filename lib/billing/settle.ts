import "server-only";
import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import { type Db, inTransaction } from "@/lib/db/client";
import { log } from "@/lib/log";
import { markRefusedCredentials } from "@/lib/providers/refused";
import { emitCallsCharged } from "@/lib/webhooks/emit";
import { COUNTED_UNITS } from "./contract";
import { checkLowBalances } from "./low-balance";
import { type UsageEvent, unitCounts } from "./schemas";

export type { UsageEvent } from "./schemas";

export interface SettleResult {
  received: number;
  inserted: number;
  duplicates: number;
  upgraded: number;
  unknownKeys: number;
  chargedMicros: bigint;
  /** Calls charged above their reservation (clause 45): counted, alarmed, never silent. */
  overrunCalls: number;
  overrunMicros: bigint;
  /** Leases whose reservation paid a charge above its draw: the gateway takes it off what it may still draw. */
  leaseOverruns: { leaseId: string; overrunMicros: number }[];
  /** Keys whose account this batch left in deficit (available < 0): the gateway stops drawing for them (clause 46). */
  deficitKeyIds: string[];
  /** Calls neither recorded nor charged because they started before the claims horizon (retention removed the claims
   *  of their days: a replay could not be told from a new call) or more than a day after now (docs/adr/0022). */
  expired: number;
  /** Calls whose row an organization's retention trimmed: a replay or upgrade of them changes nothing. */
  trimmed: number;
}

/**
 * Settles a batch of usage events: the settle_usage SQL function records each new (key, call id) — charged at
 * the price of the group that served it, its hold released — with one balanced ledger transaction, and
 * upgrade_usage re-prices calls already recorded with a worse outcome (failure → cut → success, as retries and
 * fallbacks report). One transaction; every rule (pricing, ranking, budget windows) lives in the SQL functions
 * (supabase/schemas/). Repeated events change nothing.
 */
export async function settleUsage(db: Db, events: UsageEvent[]): Promise<SettleResult> {
  if (!events.length)
    return {
      received: 0,
      inserted: 0,
      duplicates: 0,
      upgraded: 0,
      unknownKeys: 0,
      chargedMicros: 0n,
      overrunCalls: 0,
      overrunMicros: 0n,
      leaseOverruns: [],
      deficitKeyIds: [],
      expired: 0,
      trimmed: 0,
    };
  const payload = eventPayload(events);
  const calls = new Set(events.map((e) => `${e.keyId}\u0000${e.callId}`)).size;
  // A batch's own transaction (db is a pool) is tried again, whole (nothing of a failed try is kept, and a batch is
  // idempotent), when:
  // - the partition job attached the day of one of its events while the batch waited to write it into
  //   usage_events_default (the insert fails the default partition's new constraint); the next try routes it into
  //   the new partition;
  // - PostgreSQL broke a deadlock by ending it: two batches with no key or account in common can still meet on the
  //   roll-ups they both upsert (a user's per-day row when the user has keys in both, an hour's row), taking them in
  //   a different order across their settle and upgrade statements.
  // Inside a caller's transaction the error goes up: the webhook answers 500 and the gateway's outbox sends the
  // batch again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await settleOnce(db, events, payload, calls);
    } catch (error) {
      if (!("begin" in db) || attempt >= 4 || !(isDefaultPartitionRace(error) || isDeadlock(error)))
        throw error;
      if (isDeadlock(error)) await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
    }
  }
}

/** postgres.js's error when PostgreSQL ended the transaction to break a deadlock (or a serialization failure). */
function isDeadlock(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === "40P01" || code === "40001";
}

/** postgres.js's error when a row routed to usage_events_default no longer fits it (a day attached meanwhile). */
function isDefaultPartitionRace(error: unknown): boolean {
  const e = error as { code?: string; table_name?: string; message?: string } | null;
  return (
    e?.code === "23514" &&
    (e.table_name === "usage_events_default" ||
      /"usage_events_default" violates partition constraint/.test(e.message ?? ""))
  );
}

async function settleOnce(
  db: Db,
  events: UsageEvent[],
  payload: ReturnType<typeof eventPayload>,
  calls: number,
): Promise<SettleResult> {
  const txnId = randomUUID();
  return inTransaction(db, async (tx) => {
    const [row] = await tx<
      {
        inserted_count: number;
        charged_micros: bigint;
        unknown_key_events: number;
        overrun_calls: number;
        overrun_micros: bigint;
        lease_overruns: { leaseId: string; overrunMicros: number }[];
        deficit_key_ids: string[];
        expired_events: number;
      }[]
    >`
      select * from settle_usage(${tx.json(payload)}::jsonb, ${txnId}::uuid)`;
    const inserted = row!.inserted_count;
    const unknownKeys = row!.unknown_key_events;
    const expired = row!.expired_events;
    // Only a batch with calls already recorded can hold an upgrade, or a call whose row an organization's retention
    // trimmed (its claim kept to the platform's cutoff): upgrade_usage finds no row for it, so it is counted here.
    let upgraded = 0;
    let trimmed = 0;
    if (inserted + unknownKeys + expired < calls) {
      upgraded = (await tx<{ n: number }[]>`select upgrade_usage(${tx.json(payload)}::jsonb) as n`)[0]!.n;
      // A scalar look-up of the row, in the one partition of the claim's started_at (never a join over usage_events).
      const [gone] = await tx<{ n: number }[]>`
        select count(*)::int as n
        from (select distinct e.key_id, e.call_id
              from jsonb_to_recordset(${tx.json(payload)}::jsonb) as e(key_id uuid, call_id text)) e
        join usage_calls c on c.key_id = e.key_id and c.call_key = call_key(e.call_id)
        where (select 1 from usage_events u
               where u.key_id = c.key_id and u.started_at = c.started_at and u.call_id = e.call_id limit 1) is null`;
      trimmed = gone!.n;
    }
    // Not charged, never silent (the webhook's answer and the settlement's replay variance carry the counts too).
    if (expired || trimmed)
      log().warn(
        { expired, trimmed },
        "usage events not charged: outside the retained calls (docs/adr/0022)",
      );
    // call.charged to the accounts' webhook endpoints, in this transaction: never lost, never for an uncharged call.
    if (row!.charged_micros > 0n || upgraded > 0)
      await emitCallsCharged(tx, { txnId, calls: events.map((e) => ({ keyId: e.keyId, callId: e.callId })) });
    // A BYOK call its provider refused for the stored key marks that key invalid (clause 62).
    await markRefusedCredentials(tx, events);
    // Charges lower balances: an account that fell below its alert threshold is told once (queued here).
    await checkLowBalances(tx, [], { keyIds: [...new Set(events.map((e) => e.keyId))] });
    return {
      received: events.length,
      inserted,
      duplicates: Math.max(0, calls - unknownKeys - inserted - upgraded - expired - trimmed),
      upgraded,
      unknownKeys,
      chargedMicros: row!.charged_micros,
      overrunCalls: row!.overrun_calls,
      overrunMicros: row!.overrun_micros,
      leaseOverruns: row!.lease_overruns,
      deficitKeyIds: row!.deficit_key_ids,
      expired,
      trimmed,
    };
  });
}

/**
 * The events as settle_usage and upgrade_usage read them (jsonb_to_recordset's snake_case columns). A field that is
 * null or what the SQL takes when it is missing (a zero count, kind chat, no cache hit, no PII, the platform's own
 * credential) is left out: a 1000-event batch is about 40% shorter to send and for PostgreSQL to parse.
 */
function eventPayload(events: UsageEvent[]) {
  return events.map((e) => {
    // Every count keyed by the contract's unit key: settle_usage and upgrade_usage price them as one map (a count not
    // given is 0).
    const units: Record<string, number> = {};
    for (const [key, count] of Object.entries(unitCounts(e, COUNTED_UNITS)))
      if (count !== 0) units[key] = count;
    const row: Record<string, postgres.JSONValue> = {
      call_id: e.callId,
      key_id: e.keyId,
      model_group: e.modelGroup,
      provider_model: e.providerModel,
      status: e.status,
      stream: e.stream,
      units,
      reported_cost_micros: e.reportedCostMicros,
      started_at: e.startedAt,
      ended_at: e.endedAt,
    };
    if (e.firstTokenAt != null) row.first_token_at = e.firstTokenAt;
    if (e.kind != null && e.kind !== "chat") row.kind = e.kind;
    if (e.imageSize != null) row.image_size = e.imageSize;
    if (e.imageQuality != null) row.image_quality = e.imageQuality;
    if (e.errorClass != null) row.error_class = e.errorClass;
    if (e.leaseId != null) row.lease_id = e.leaseId;
    // A JSON number: draws are bounded by MAX_MICROS, so they stay exact.
    if (e.drawMicros != null) row.draw_micros = Number(e.drawMicros);
    if (e.cacheHit) row.cache_hit = true;
    if (e.piiMasked != null && Object.keys(e.piiMasked).length > 0) row.pii = e.piiMasked;
    if (e.safetyScore != null) row.safety_score = e.safetyScore;
    if (e.credential != null && e.credential !== "platform") row.credential = e.credential;
    return row;
  });
}
