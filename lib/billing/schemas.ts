import { z } from "zod";
import { isoDateTime, isoDateTimeText, pageQuery } from "@/lib/http/schemas";

import {
  ASKED_UNITS,
  CALL_KINDS,
  type CountedUnit,
  IMAGE_QUALITIES,
  IMAGE_SIZE,
  IMAGE_SIZE_HINT,
  IMAGE_SIZE_MAX_LENGTH,
  PII_CATEGORIES,
  PRICE_UNITS,
} from "./contract";

// The call kinds and the image sizes and qualities come from the billing contract (contract.json, docs/adr/0014).
export { CALL_KINDS, IMAGE_QUALITIES, IMAGE_SIZE };

const imageSize = z.string().max(IMAGE_SIZE_MAX_LENGTH).regex(IMAGE_SIZE, IMAGE_SIZE_HINT);
const imageQuality = z.enum(IMAGE_QUALITIES);

/** The largest amount money fields accept: JSON numbers stay exact below 2^53, so no amount crosses it. */
export const MAX_MICROS = BigInt(Number.MAX_SAFE_INTEGER);

const DIGITS = /^(0|[1-9][0-9]*)$/;
const SIGNED_DIGITS = /^-?(0|[1-9][0-9]*)$/;

/**
 * A money field in integer micro-USD: a JSON integer, or a string of decimal digits (a leading minus only
 * where `negative` allows it). Nothing is coerced: "0x10", "1e3", " 5", true, [5] and 1.5 are refused.
 * Parsed to bigint, bounded by ±2^53−1. The one schema every money field uses.
 */
export function micros({
  negative = false,
  min = negative ? -MAX_MICROS : 0n,
  max = MAX_MICROS,
}: {
  negative?: boolean;
  min?: bigint;
  max?: bigint;
} = {}) {
  const pattern = negative ? SIGNED_DIGITS : DIGITS;
  const lowest = negative ? -MAX_MICROS : 0n;
  const floor = min < lowest ? lowest : min;
  const ceiling = max > MAX_MICROS ? MAX_MICROS : max;
  return z
    .union([
      z.int({ error: "must be an integer number of micro-USD" }),
      z
        .string()
        .max(17)
        .regex(
          pattern,
          negative ? "must be an integer (digits, optional minus)" : "must be a whole number of digits",
        ),
    ])
    .transform((value) => BigInt(value))
    .pipe(z.bigint().min(floor).max(ceiling));
}

// --- The price book ---
// Micro-USD per million tokens: up to $1,000,000 per million.
const perMillion = micros({ max: 1_000_000_000_000n });
// Micro-USD per image, per second of audio or per request: up to $1,000 each.
const perUnit = micros({ max: 1_000_000_000n });

/** Per image for particular sizes and qualities (clause 43): the price book's image rates (its form checks rows with
 *  these too). */
export const imageRatesBody = z
  .array(
    z
      .strictObject({
        size: imageSize.nullable(),
        quality: imageQuality.nullable(),
        costMicros: perUnit,
        priceMicros: perUnit,
      })
      .refine((r) => r.size !== null || r.quality !== null, {
        message: "name a size, a quality or both (the image price covers every other image)",
      }),
  )
  .max(50)
  .refine(
    (rates) => new Set(rates.map((r) => `${r.size}/${r.quality}`)).size === rates.length,
    "each size and quality once",
  );

/**
 * The rates of every unit billed apart from tokens (the contract's units whose blank means "not billed": images,
 * audio seconds, characters, the request fee …), price and cost, 0 when blank. Typed as no fields, like the asked
 * counts: a unit added to the contract needs no edit here; the price book reads them through the contract's fields.
 */
const otherUnitRates = Object.fromEntries(
  PRICE_UNITS.filter((u) => u.blank === "not billed").flatMap((u) =>
    [u.cost.field, u.price.field].map((field) => [field, (u.perMillion ? perMillion : perUnit).default(0n)]),
  ),
) as Record<never, never>;

export const priceBody = z.strictObject({
  modelId: z.uuid(),
  /** When the price takes effect (default: now). Versions are never edited; a later one supersedes. */
  effectiveFrom: isoDateTime().optional(),
  inputCostMicros: perMillion,
  outputCostMicros: perMillion,
  cachedInputCostMicros: perMillion.nullable().default(null),
  inputPriceMicros: perMillion,
  outputPriceMicros: perMillion,
  cachedInputPriceMicros: perMillion.nullable().default(null),
  /** Cache-write and reasoning tokens, per million (null: billed at the input / output rate). */
  cacheWriteCostMicros: perMillion.nullable().default(null),
  cacheWritePriceMicros: perMillion.nullable().default(null),
  reasoningCostMicros: perMillion.nullable().default(null),
  reasoningPriceMicros: perMillion.nullable().default(null),
  /** Per image, per second of audio in, per million characters out, per request … (0: not billed by it). */
  ...otherUnitRates,
  /** imagePriceMicros prices every image these rows do not. */
  imageRates: imageRatesBody.default([]),
  /** What a call answered from the response cache is charged, in basis points of the same call's price (clause 60):
   *  10,000 (the default) the full price, 1,000 a tenth, 0 free. A JSON integer, never coerced. */
  cacheHitBps: z.int().min(0).max(10_000).default(10_000),
  note: z.string().trim().max(500).default(""),
});

// --- Accounts ---
const budget = micros().nullable();

export const listAccountsQuery = pageQuery.extend({ q: z.string().trim().max(200).optional() });

export const creditBody = z.strictObject({
  /** Integer micro-USD (a JSON integer or a string of digits): 1 USD = 1,000,000; negative for adjustments. */
  amountMicros: micros({ negative: true }),
  kind: z.enum(["topup", "grant", "adjustment"]),
  reason: z.string().trim().min(3, "say why (it goes to the audit log)").max(500),
  idempotencyKey: z.string().min(8).max(200),
});

export const budgetsBody = z
  .strictObject({
    dailyBudgetMicros: budget.optional(),
    monthlyBudgetMicros: budget.optional(),
    /** The account's low-balance alert threshold (null: the default under Admin → Payments). */
    lowBalanceMicros: budget.optional(),
  })
  .refine(
    (v) => Object.keys(v).length > 0,
    "send dailyBudgetMicros, monthlyBudgetMicros and/or lowBalanceMicros",
  );

// --- The gateway: holds and usage events ---

/**
 * A count field for each unit a call asks for besides tokens (the contract's 'asked' units: images, audioMs,
 * characters …), 0 when absent, at most the contract's bound. Holds and usage events carry them under their own
 * names; the money functions take them as one map (unitCounts). Typed as no fields: a unit added to the contract
 * needs no edit here, and readers go through unitCounts.
 */
const askedCountFields = Object.fromEntries(
  ASKED_UNITS.map((u) => [u.count.field, z.number().int().min(0).max(u.count.max).default(0)]),
) as Record<never, never>;

/**
 * The counts a hold request or usage event carries, keyed by the contract's unit keys (0 when absent): the asked
 * units' by default (a hold's), every counted unit's with COUNTED_UNITS (a usage event's: tokens too).
 */
export function unitCounts(
  body: object,
  units: readonly CountedUnit[] = ASKED_UNITS,
): Record<string, number> {
  const fields = body as Record<string, unknown>;
  return Object.fromEntries(
    units.map((u) => {
      const value = fields[u.count.field];
      return [u.key, typeof value === "number" ? value : 0];
    }),
  );
}

export const holdBody = z.strictObject({
  keyId: z.uuid(),
  callId: z.string().min(1).max(200),
  nonce: z.string().min(1).max(100),
  model: z.string().min(1).max(128),
  promptTokens: z.number().int().min(0).max(100_000_000),
  // Any int4 from 0 (an embeddings call bills no output): the hold caps it at the model's output limit.
  maxOutputTokens: z.number().int().min(0).max(2_147_483_647).nullable(),
  choices: z.number().int().min(1).max(128).default(1),
  fallbackModels: z.array(z.string().min(1).max(128)).max(16).default([]),
  /** Besides tokens, what the call asks for: images, the audio's length (its cap when unknown), characters. */
  ...askedCountFields,
  /** The size and quality an image call asked for (its images are priced at their rate; null: the default). */
  imageSize: imageSize.nullable().default(null),
  imageQuality: imageQuality.nullable().default(null),
  /** The route the app called: a model is held only where its price bills that route's unit (clause 44). */
  kind: z.enum(CALL_KINDS).default("chat"),
});

// A lease's grant (or top-up) and its return (docs/adr/0011).
export const leaseBody = z
  .strictObject({
    leaseId: z.uuid(),
    keyId: z.uuid(),
    processId: z.string().min(1).max(100),
    nonce: z.string().min(1).max(100),
    wantMicros: micros(),
    minMicros: micros(),
    /** The worst case of the call waiting for the grant, and what the process's lease still holds undrawn: a
     *  refusal names them (the platform writes the sentence). Absent: the shortfall (minMicros) and nothing. */
    callMicros: micros().optional(),
    unusedMicros: micros().optional(),
  })
  .refine((v) => v.wantMicros >= v.minMicros, {
    path: ["wantMicros"],
    message: "must be at least minMicros",
  });

export const leaseReturnBody = z.strictObject({
  leaseId: z.uuid(),
  keyId: z.uuid(),
  /** What no call drew: it goes back to the balance now. */
  unusedMicros: micros(),
});

const count = z.number().int().min(0).max(100_000_000);

export const usageEvent = z.strictObject({
  callId: z.string().min(1).max(200),
  keyId: z.uuid(),
  modelGroup: z.string().min(1).max(128),
  providerModel: z.string().max(256).default(""),
  status: z.enum(["success", "cut", "failure"]),
  stream: z.boolean(),
  promptTokens: count,
  completionTokens: count,
  cachedTokens: count.default(0),
  reportedCostMicros: z.number().int().min(0).max(1e15).default(0),
  /** In the years 2000–2099 (UTC), as every moment the API takes: a year-1 startedAt once made a BC partition. */
  startedAt: isoDateTimeText(),
  endedAt: isoDateTimeText(),
  errorClass: z.string().max(200).nullable().default(null),
  /** The lease the call was served from, and its draw (its worst case, reserved by the gateway). */
  leaseId: z.uuid().nullable().default(null),
  drawMicros: micros().nullable().default(null),
  /** The endpoint the app called (chat by default: gateways before call kinds send none). */
  kind: z.enum(CALL_KINDS).default("chat"),
  /** When a stream's first token reached the gateway (the request log's time to first token). */
  firstTokenAt: isoDateTimeText().nullable().default(null),
  /** Units beside prompt/completion/cached tokens (clause 41): cache writes (part of the prompt), reasoning (part
   *  of the completion), and what the call asked for (images made, audio in (ms), characters spoken …). */
  cacheWriteTokens: count.default(0),
  reasoningTokens: count.default(0),
  ...askedCountFields,
  imageSize: imageSize.nullable().default(null),
  imageQuality: imageQuality.nullable().default(null),
  /** Answered from the response cache (clause 60): charged the model's cache-hit share, no provider cost. */
  cacheHit: z.boolean().default(false),
  /** How many values of each PII category the guardrails masked in what the call sent (never the values). */
  piiMasked: z.partialRecord(z.enum(PII_CATEGORIES), count).default({}),
  /** The prompt-injection heuristic's score of what the call sent, 0–100 (gateways before scoring send none). */
  safetyScore: z.number().int().min(0).max(100).nullable().default(null),
  /** Whose provider credentials served the call (clause 62): the platform's (the price book) or the owner's own
   *  (charged the plan's BYOK fee); byok events name the credential (never its secret), so a refusal marks it. */
  credential: z.enum(["platform", "byok"]).default("platform"),
  credentialId: z.uuid().nullable().default(null),
});

export const usageBatch = z.strictObject({
  events: z.array(usageEvent).min(1).max(5000),
});

export type BudgetsBody = z.input<typeof budgetsBody>;

type UnitField = "cacheWriteTokens" | "reasoningTokens" | "imageSize" | "imageQuality";
/** What the gateway observed of the call besides its units (settlement's repairs know none of it). */
type GuardField = "cacheHit" | "piiMasked" | "safetyScore" | "credential" | "credentialId";

/**
 * One call as the gateway reports it (settlement's repairs carry no lease and no first-token time). The asked units'
 * counts (images, audioMs, characters …) are fields too, read through unitCounts.
 */
export type UsageEvent = Omit<
  z.output<typeof usageEvent>,
  "leaseId" | "drawMicros" | "firstTokenAt" | "kind" | UnitField | GuardField
> &
  Partial<Pick<z.output<typeof usageEvent>, UnitField | GuardField>> & {
    kind?: z.output<typeof usageEvent>["kind"];
    leaseId?: string | null;
    drawMicros?: bigint | null;
    firstTokenAt?: string | null;
    readonly [askedCount: string]: unknown;
  };
