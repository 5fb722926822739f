import "server-only";
import type { z } from "zod";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { hideCost, seesCost } from "@/lib/auth/visibility";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, conflict, notFound } from "@/lib/http/errors";
import { assertAdmin } from "@/lib/users/assert-admin";
import { PRICE_UNITS } from "./contract";
import type { priceBody } from "./schemas";

/** A per-image rate for a size and/or quality (null: any), clause 43. */
export interface ImageRate {
  size: string | null;
  quality: string | null;
  priceMicros: bigint;
  /** Provider cost: admins only. */
  costMicros?: bigint;
}

/** A price version's rate per unit, price and cost (clause 41): priceBody's unit fields, which a test checks against
 *  the billing contract's price units (contract.json). */
type UnitRates = Omit<
  z.output<typeof priceBody>,
  "modelId" | "effectiveFrom" | "imageRates" | "note" | "cacheHitBps"
>;
type UnitColumn = keyof UnitRates;
type CostField = Extract<UnitColumn, `${string}CostMicros`>;

/** A price version: every unit's sell price; its provider costs (*CostMicros) for admins only. */
export interface PriceVersion extends Omit<UnitRates, CostField>, Partial<Pick<UnitRates, CostField>> {
  id: string;
  modelId: string;
  model: string;
  effectiveFrom: Date;
  /** Images of particular sizes and qualities, priced apart from imagePriceMicros (every other image). */
  imageRates: ImageRate[];
  /** A response-cache hit's charge as basis points of the same call's price (cache_hit_charge, clause 60). */
  cacheHitBps: number;
  note: string;
  createdAt: Date;
  /** Whether this is the version a call starting now would use. */
  current: boolean;
}

export type PriceInput = {
  modelId: string;
  effectiveFrom: Date;
  note: string;
  cacheHitBps: number;
} & UnitRates & {
    imageRates: Required<ImageRate>[];
  };

/** Every price unit's [field, column], price then cost (the billing contract's price units). */
const UNIT_COLUMNS = PRICE_UNITS.flatMap((u) => [u.price, u.cost]).map(
  ({ field, column }) => [field as UnitColumn, column] as const,
);
const COST_FIELDS = PRICE_UNITS.map((u) => u.cost.field as UnitColumn);

/**
 * The price book as the actor may see it: admins every version of every model (newest first per model) with
 * provider cost; everyone else the sell prices in force now, without cost (clause 25). The version in force is
 * price_version_at's, the lookup holds and charges use.
 */
export async function listPriceVersions(db: Db, actor: Actor, modelId?: string): Promise<PriceVersion[]> {
  const rows = await db<(Omit<PriceVersion, "imageRates"> & { imageRates: StoredImageRate[] })[]>`
    select p.id, p.model_id as "modelId", m.public_name as model, p.effective_from as "effectiveFrom",
           ${db.unsafe(UNIT_COLUMNS.map(([field, column]) => `p.${column} as "${field}"`).join(", "))},
           p.image_rates as "imageRates", p.cache_hit_bps as "cacheHitBps", p.note, p.created_at as "createdAt",
           p.id is not distinct from (select c.id from price_version_at(p.model_id, now()) c) as current
    from price_versions p join models m on m.id = p.model_id
    where (${modelId ?? null}::uuid is null or p.model_id = ${modelId ?? null})
    order by m.public_name, p.effective_from desc`;
  const versions = rows.map((v) => ({ ...v, imageRates: v.imageRates.map(fromStored) }));
  const visible = seesCost(actor) ? versions : versions.filter((v) => v.current);
  return visible.map((v) => asSeenBy(actor, v));
}

/** How price_versions.image_rates keeps a rate (image_rates_valid checks its form; amounts ≤ $1,000, exact). */
interface StoredImageRate {
  size: string | null;
  quality: string | null;
  price_micros: number;
  cost_micros: number;
}

function fromStored(r: StoredImageRate): Required<ImageRate> {
  return {
    size: r.size,
    quality: r.quality,
    priceMicros: BigInt(r.price_micros),
    costMicros: BigInt(r.cost_micros),
  };
}

function toStored(r: Required<ImageRate>): StoredImageRate {
  return {
    size: r.size,
    quality: r.quality,
    price_micros: Number(r.priceMicros),
    cost_micros: Number(r.costMicros),
  };
}

/** A price version as the actor may see it: provider costs (its image rates' too) for admins only, clause 25. */
function asSeenBy(actor: Actor, version: PriceVersion): PriceVersion {
  return {
    ...hideCost(actor, version, COST_FIELDS),
    imageRates: version.imageRates.map((rate) => hideCost(actor, rate, ["costMicros"])),
  };
}

const PRICE_BOOK_TRIES = 250;
const PRICE_BOOK_PAUSE_MS = 20;

/**
 * Takes the price book's lock exclusively for the transaction (lock_price_book). It only tries, every 20 ms for about
 * 5 s: a request that waited in PostgreSQL's queue would queue every new hold and lease grant behind it for as long
 * as the holds in flight take, and one may be waiting for its key's row. Refused with 503 if the holds and grants in
 * flight never leave it free.
 */
async function takePriceBook(tx: Db) {
  for (let i = 0; i < PRICE_BOOK_TRIES; i++) {
    const [row] = await tx<{ ok: boolean }[]>`select lock_price_book(true) as ok`;
    if (row!.ok) return;
    await new Promise((r) => setTimeout(r, PRICE_BOOK_PAUSE_MS));
  }
  throw new AppError(
    "unavailable",
    "Calls are being reserved at every moment; the price was not added. Try again.",
  );
}

/**
 * Adds a price version. Versions are never edited: a new one supersedes from its effective time, which may
 * not be in the past (calls already priced keep their version). It holds the price book's lock (lock_price_book) and
 * takes effect no earlier than the moment it holds it: a time up to a minute past (a client's clock), or none, is
 * taken as that moment. A hold or lease is charged at the versions in force at its own moment, and one made before
 * this version could not see it, so the version must not reach back over it (docs/adr/0038).
 */
export async function addPriceVersion(db: Db, actor: Actor, input: PriceInput): Promise<PriceVersion> {
  assertAdmin(actor);
  if (input.effectiveFrom.getTime() < Date.now() - 60_000) {
    throw new AppError("validation_failed", "Invalid request body: effectiveFrom: must not be in the past", {
      issues: [{ path: "effectiveFrom", message: "must not be in the past" }],
    });
  }
  return inTransaction(db, async (tx) => {
    const [model] = await tx`select id from models where id = ${input.modelId}`;
    if (!model) throw notFound("Model");
    await takePriceBook(tx);
    // Read once the lock is held (a statement of its own: the lock's moment comes first).
    const [at] = await tx<{ effectiveFrom: Date }[]>`
      select greatest(${input.effectiveFrom}::timestamptz, clock_timestamp()) as "effectiveFrom"`;
    const [row] = await tx<{ id: string }[]>`
      insert into price_versions ${tx({
        model_id: input.modelId,
        effective_from: at!.effectiveFrom,
        ...Object.fromEntries(UNIT_COLUMNS.map(([field, column]) => [column, input[field]])),
        image_rates: tx.json(input.imageRates.map(toStored) as unknown as Parameters<typeof tx.json>[0]),
        cache_hit_bps: input.cacheHitBps,
        note: input.note,
        created_by: actor.userId,
      })}
      on conflict (model_id, effective_from) do nothing
      returning id`;
    if (!row) throw conflict("A price version with this effective time already exists for the model.");
    const version = (await listPriceVersions(tx, actor, input.modelId)).find((v) => v.id === row.id)!;
    await recordAudit(tx, actor, {
      action: "price.add",
      targetType: "price_version",
      targetId: row.id,
      after: version,
    });
    return version;
  });
}
