import "server-only";
import { randomBytes, randomUUID } from "node:crypto";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { type Account, getAccount } from "@/lib/billing/ledger";
import { moneyCameIn } from "@/lib/billing/low-balance";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, notFound } from "@/lib/http/errors";
import { hashKey } from "@/lib/keys/secret";
import { orgFor } from "@/lib/orgs/access";
import { giveBackAttempt, takeAttempt, tooManyAttempts } from "@/lib/security/attempts";
import { assertAdmin } from "@/lib/users/assert-admin";
import type { Redemption, RedemptionBatch } from "./types";

// Crockford's base32: no I, L, O or U, so a code read aloud or typed by hand survives.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A new code: "TG-" and four groups of four base32 characters (80 random bits). */
export function generateCode(): string {
  const bytes = randomBytes(16);
  const chars = Array.from({ length: 16 }, (_, i) => ALPHABET[bytes[i]! % 32]);
  return `TG-${[0, 4, 8, 12].map((i) => chars.slice(i, i + 4).join("")).join("-")}`;
}

/** What is hashed: upper case, no separators, and the letters Crockford reads as digits mapped to them. */
export function normalizeCode(code: string): string {
  return code
    .toUpperCase()
    .replace(/^TG-?/, "")
    .replace(/[^0-9A-Z]/g, "")
    .replace(/O/g, "0")
    .replace(/[IL]/g, "1");
}

/** Stored like API keys (HMAC-SHA256 with the server pepper), in a namespace of its own. */
export function hashCode(code: string, pepper: string): Buffer {
  return hashKey(`redemption:${normalizeCode(code)}`, pepper);
}

const batchColumns = (db: Db) => db`
  b.id, b.amount_micros as "amountMicros", b.code_count as "codeCount",
  (select count(*)::int from redemption_codes c where c.batch_id = b.id and c.redeemed_at is not null) as "redeemedCount",
  b.expires_at as "expiresAt", b.note, u.email as "createdByEmail", b.created_at as "createdAt"`;

/** Creates a batch of codes; the plain codes are returned once (only their HMACs are stored). Audited. */
export async function createBatch(
  db: Db,
  actor: Actor,
  input: { amountMicros: bigint; count: number; expiresAt: Date | null; note: string },
  { pepper }: { pepper: string },
): Promise<{ batch: RedemptionBatch; codes: string[] }> {
  assertAdmin(actor);
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw new AppError("validation_failed", "Invalid request body: expiresAt: must be in the future", {
      issues: [{ path: "expiresAt", message: "must be in the future" }],
    });
  }
  const codes = Array.from({ length: input.count }, generateCode);
  return inTransaction(db, async (tx) => {
    const [row] = await tx<{ id: string }[]>`
      insert into redemption_batches (amount_micros, code_count, expires_at, note, created_by)
      values (${input.amountMicros}, ${input.count}, ${input.expiresAt}, ${input.note}, ${actor.userId})
      returning id`;
    await tx`
      insert into redemption_codes ${tx(
        codes.map((code) => ({
          batch_id: row!.id,
          code_hash: hashCode(code, pepper),
          prefix: code.slice(0, 7),
        })),
      )}`;
    const [batch] = await tx<RedemptionBatch[]>`
      select ${batchColumns(tx)} from redemption_batches b left join users u on u.id = b.created_by
      where b.id = ${row!.id}`;
    await recordAudit(tx, actor, {
      action: "redemption.batch_create",
      targetType: "redemption_batch",
      targetId: row!.id,
      after: batch,
    });
    return { batch: batch!, codes };
  });
}

export async function listBatches(db: Db, actor: Actor): Promise<RedemptionBatch[]> {
  assertAdmin(actor);
  return db<RedemptionBatch[]>`
    select ${batchColumns(db)} from redemption_batches b left join users u on u.id = b.created_by
    order by b.created_at desc limit 200`;
}

export async function listRedemptions(db: Db, actor: Actor, batchId: string): Promise<Redemption[]> {
  assertAdmin(actor);
  const [batch] = await db`select 1 from redemption_batches where id = ${batchId}`;
  if (!batch) throw notFound("Batch");
  return db<Redemption[]>`
    select c.prefix, c.redeemed_at as "redeemedAt", u.email as "userEmail"
    from redemption_codes c left join users u on u.id = c.redeemed_by
    where c.batch_id = ${batchId} and c.redeemed_at is not null
    order by c.redeemed_at desc`;
}

export interface RedeemLimits {
  perUser: number;
  perIp: number;
  windowSeconds: number;
}

/**
 * Redeems a code for the signed-in user's account, or (org: slug or id) an organization's whose role tops it up (the
 * billing verb: owners and billing members; 404 to non-members, 403 to other roles, before any guess is counted), in
 * one statement (redeem_code). Guesses are limited per user and per address (clause 29): an attempt is taken from
 * both buckets atomically before the code is evaluated, so however many race, at most the limit are evaluated in a
 * window; past it every attempt is refused (429) until the window ends. A success gives back its own attempt only:
 * the failures before it stay counted.
 */
export async function redeemCode(
  db: Db,
  actor: Actor & { userId: string },
  code: string,
  { pepper, limits, org }: { pepper: string; limits: RedeemLimits; org?: string },
): Promise<{ creditedMicros: bigint; account: Account }> {
  const accountId =
    org !== undefined
      ? (await orgFor(db, actor, org, "billing")).accountId
      : (await db<{ id: string }[]>`select id from accounts where owner_user_id = ${actor.userId}`)[0]?.id;
  if (!accountId) throw notFound("Account");
  const buckets = [{ bucket: `redeem:user:${actor.userId}`, limit: limits.perUser }];
  if (actor.ip) buckets.push({ bucket: `redeem:ip:${actor.ip}`, limit: limits.perIp });
  const attempt = await takeAttempt(db, buckets, limits.windowSeconds);
  if (!attempt.taken) {
    throw tooManyAttempts(
      `Too many invalid codes. Try again in ${Math.ceil(attempt.retryAfter / 60)} minute(s).`,
      attempt.retryAfter,
    );
  }
  const result = await inTransaction(db, async (tx) => {
    const [row] = await tx<
      { code_id: string; account_id: string; amount_micros: bigint; batch_note: string }[]
    >`
      select * from redeem_code(${hashCode(code, pepper)}, ${actor.userId}, ${accountId}::uuid, ${randomUUID()}::uuid)`;
    if (!row) return null;
    await giveBackAttempt(
      tx,
      buckets.map((b) => b.bucket),
      attempt.windowStart,
    );
    await moneyCameIn(tx, row.account_id);
    await recordAudit(tx, actor, {
      action: "account.redeem",
      targetType: "account",
      targetId: row.account_id,
      after: { codeId: row.code_id, amountMicros: row.amount_micros, note: row.batch_note },
    });
    return row;
  });
  // A failed guess keeps the attempt it took.
  if (!result)
    throw new AppError("invalid_code", "This code is not valid, has expired or has already been used.");
  const account = (await getAccount(db, { id: result.account_id }))!;
  return { creditedMicros: result.amount_micros, account };
}
