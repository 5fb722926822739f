import "server-only";
import type { Db } from "@/lib/db/client";
import { type PgError, refusal } from "./hold";
import type { PriceVersion } from "./prices";

export interface LeaseRequest {
  /** Chosen by the gateway process (a uuid): a grant whose answer was lost is asked again under the same id. */
  leaseId: string;
  keyId: string;
  processId: string;
  /** Unique per grant request: a retried request repeats it and gets the same grant. */
  nonce: string;
  /** What the process would like (its recent spend rate × a few seconds, or what waiting calls need). */
  wantMicros: bigint;
  /** The least that is worth granting: the worst case of the call waiting for it (0: extend the validity only). */
  minMicros: bigint;
  /** The worst case of the call waiting for this grant (a refusal names it; default minMicros). */
  callMicros?: bigint;
  /** What the process's lease still holds undrawn: available to the waiting call, so a refusal counts it so. */
  unusedMicros?: bigint;
}

/** A model's price in force for a lease's draws: its sell token prices and output cap (shown), and the rates
 *  price_worst_case prices at, resolved by worst_case_rates (the gateway only multiplies and rounds). */
export type LeasePrice = Pick<PriceVersion, "model" | "inputPriceMicros" | "outputPriceMicros"> & {
  priceVersionId: string;
  maxOutputTokens: number;
  /** A prompt is counted at most at the model's context window (a provider refuses a longer one). */
  contextWindow: number;
  /** The call kinds this price bills (billed_kinds, clause 44): the gateway serves the model on those routes only. */
  kinds: string[];
  /** JSON numbers (every rate is at most $1,000,000 per unit, exact). */
  worstCase: {
    promptMicros: number;
    outputMicros: number;
    /** The rate of each unit a call asks for or pays per request, keyed by the contract's unit key (unscaled). */
    units: Record<string, number>;
    images: { size: string | null; quality: string | null; micros: number }[];
  };
};

export interface GrantedLease {
  leaseId: string;
  outcome: "granted" | "replayed";
  grantedMicros: bigint;
  reservedMicros: bigint;
  expiresAt: string;
  /** Seconds of validity left, by the platform's clock: the gateway counts them on its own monotonic clock. */
  ttlSeconds: number;
  availableMicros: bigint;
  /** The models the key may call (enabled and allowed). */
  allowedModels: string[];
  /** The price in force when the lease was granted of every priced model (fallback groups included), for the gateway's
   *  draws: its calls are charged at those versions (docs/adr/0038). */
  prices: LeasePrice[];
}

/**
 * Grants (or tops up and extends) a lease: grant_lease reserves the slice in one conditional UPDATE of the
 * account; a refusal keeps place_hold's meaning (402 balance, 429 budget, 401 key, 409 lease closed).
 */
export async function grantLease(
  db: Db,
  req: LeaseRequest,
  { ttlSeconds }: { ttlSeconds: number },
): Promise<GrantedLease> {
  let row: {
    lease_id: string;
    granted_micros: bigint;
    reserved_micros: bigint;
    expires_at: Date;
    available_micros: bigint;
    outcome: "granted" | "replayed";
    ttl_ms: number;
  };
  try {
    [row] = (await db`
      select g.*, greatest(0, extract(epoch from g.expires_at - tollgate_now()) * 1000)::float8 as ttl_ms
      from grant_lease(${req.leaseId}, ${req.keyId}, ${req.processId}, ${req.nonce}, ${req.wantMicros.toString()}::bigint,
                       ${req.minMicros.toString()}::bigint, ${ttlSeconds}) g`) as unknown as [typeof row];
  } catch (error) {
    const mapped = refusal(error as PgError, {
      callMicros: (req.callMicros ?? 0n) > req.minMicros ? req.callMicros! : req.minMicros,
      unusedMicros: req.unusedMicros ?? 0n,
    });
    if (mapped) throw mapped;
    throw error;
  }
  const [models, prices] = await Promise.all([
    db<{ public_name: string }[]>`select unnest(key_models(${req.keyId})) as public_name`,
    db<LeasePrice[]>`
      select m.public_name as model, pv.id as "priceVersionId", pv.input_price_micros as "inputPriceMicros",
             pv.output_price_micros as "outputPriceMicros", m.max_output_tokens as "maxOutputTokens",
             m.context_window as "contextWindow", billed_kinds(pv, m.free) as kinds,
             worst_case_rates(pv) as "worstCase"
      -- At the lease's own moment: its calls are charged at the versions in force then (docs/adr/0038), and a version
      -- made after the grant's price book lock cannot take effect at or before it.
      from models m
      cross join lateral price_version_at(m.id, (select l.created_at from leases l where l.id = ${row.lease_id})) pv
      order by m.public_name`,
  ]);
  return {
    leaseId: row.lease_id,
    outcome: row.outcome,
    grantedMicros: row.granted_micros,
    reservedMicros: row.reserved_micros,
    expiresAt: row.expires_at.toISOString(),
    ttlSeconds: Math.floor(row.ttl_ms) / 1000,
    availableMicros: row.available_micros,
    allowedModels: models.map((m) => m.public_name),
    prices,
  };
}

/**
 * A gateway process gives a lease back: what no call drew (unusedMicros) returns to the balance now; the share
 * of calls still in flight stays reserved until their usage events arrive (at most keepSeconds). Idempotent.
 */
export async function returnLease(
  db: Db,
  { leaseId, keyId, unusedMicros }: { leaseId: string; keyId: string; unusedMicros: bigint },
  { keepSeconds }: { keepSeconds: number },
): Promise<{ releasedMicros: bigint; status: string | null }> {
  const [owned] = await db<
    { id: string }[]
  >`select id from leases where id = ${leaseId} and key_id = ${keyId}`;
  if (!owned) return { releasedMicros: 0n, status: null };
  const [row] = await db<{ released: bigint }[]>`
    select release_lease(${leaseId}, ${unusedMicros.toString()}::bigint, 'closing', 'returned', ${keepSeconds}) as released`;
  const [lease] = await db<{ status: string }[]>`select status from leases where id = ${leaseId}`;
  return { releasedMicros: row!.released, status: lease!.status };
}

/** Releases what leases past their validity still reserve (a vanished process's slice goes back). */
export async function expireLeases(
  db: Db,
  limit = 1000,
): Promise<{ expired: number; releasedMicros: bigint }> {
  const [row] = await db<{ expired_count: number; released_micros: bigint }[]>`
    select * from expire_leases(${limit})`;
  return { expired: row!.expired_count, releasedMicros: row!.released_micros };
}

export interface LeaseView {
  id: string;
  keyId: string;
  keyPrefix: string;
  processId: string;
  status: "open" | "closing" | "closed" | "expired";
  reservedMicros: bigint;
  grantedMicros: bigint;
  drawnMicros: bigint;
  chargedMicros: bigint;
  releasedMicros: bigint;
  calls: number;
  grants: number;
  createdAt: Date;
  expiresAt: Date;
  closedAt: Date | null;
}

/** Leases of a key or an account, live ones first, then the most recent (admins' key and account pages). */
export async function listLeases(
  db: Db,
  where: { keyId?: string; accountId?: string },
  { limit = 20 }: { limit?: number } = {},
): Promise<LeaseView[]> {
  return db<LeaseView[]>`
    select l.id, l.key_id as "keyId", k.prefix as "keyPrefix", l.process_id as "processId", l.status,
           l.reserved_micros as "reservedMicros", l.granted_micros as "grantedMicros", l.drawn_micros as "drawnMicros",
           l.charged_micros as "chargedMicros", l.released_micros as "releasedMicros", l.calls, l.grants,
           l.created_at as "createdAt", l.expires_at as "expiresAt", l.closed_at as "closedAt"
    from leases l join api_keys k on k.id = l.key_id
    where (${where.keyId ?? null}::uuid is null or l.key_id = ${where.keyId ?? null})
      and (${where.accountId ?? null}::uuid is null or l.account_id = ${where.accountId ?? null})
    order by (l.status in ('open', 'closing')) desc, l.created_at desc
    limit ${limit}`;
}
