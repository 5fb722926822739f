import "server-only";
import { randomUUID } from "node:crypto";
import { type Db, inTransaction } from "@/lib/db/client";
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
    };
  const payload = events.map((e) => ({
    call_id: e.callId,
    key_id: e.keyId,
    model_group: e.modelGroup,
    provider_model: e.providerModel,
    status: e.status,
    stream: e.stream,
    // Every count keyed by the contract's unit key: settle_usage and upgrade_usage price them as one map.
    units: unitCounts(e, COUNTED_UNITS),
    reported_cost_micros: e.reportedCostMicros,
    started_at: e.startedAt,
    ended_at: e.endedAt,
    first_token_at: e.firstTokenAt ?? null,
    kind: e.kind ?? "chat",
    image_size: e.imageSize ?? null,
    image_quality: e.imageQuality ?? null,
    error_class: e.errorClass,
    lease_id: e.leaseId ?? null,
    // A JSON number: draws are bounded by MAX_MICROS, so they stay exact.
    draw_micros: e.drawMicros == null ? null : Number(e.drawMicros),
    cache_hit: e.cacheHit ?? false,
    pii: e.piiMasked ?? {},
    safety_score: e.safetyScore ?? null,
    credential: e.credential ?? "platform",
  }));
  const calls = new Set(events.map((e) => `${e.keyId}\u0000${e.callId}`)).size;
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
      }[]
    >`
      select * from settle_usage(${tx.json(payload)}::jsonb, ${txnId}::uuid)`;
    const inserted = row!.inserted_count;
    const unknownKeys = row!.unknown_key_events;
    // Only a batch with calls already recorded can hold an upgrade.
    const upgraded =
      inserted + unknownKeys < calls
        ? (await tx<{ n: number }[]>`select upgrade_usage(${tx.json(payload)}::jsonb) as n`)[0]!.n
        : 0;
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
      duplicates: calls - unknownKeys - inserted - upgraded,
      upgraded,
      unknownKeys,
      chargedMicros: row!.charged_micros,
      overrunCalls: row!.overrun_calls,
      overrunMicros: row!.overrun_micros,
      leaseOverruns: row!.lease_overruns,
      deficitKeyIds: row!.deficit_key_ids,
    };
  });
}
