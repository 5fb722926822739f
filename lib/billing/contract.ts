import { z } from "zod";
import contractJson from "./contract.json" with { type: "json" };

/**
 * The billing contract's shared names (docs/adr/0014), typed: the call kinds, the price units and the image sizes
 * and qualities. contract.json is their one author; the gateway plugin reads the same file, and
 * tests/integration/contract.test.ts checks that the SQL agrees. Parsed once at import, so a malformed file fails
 * at start, not at a call.
 */
const column = z.strictObject({ field: z.string().regex(/Micros$/), column: z.string().regex(/_micros$/) });

const contractSchema = z.object({
  callKinds: z
    .array(
      z.strictObject({
        kind: z.string().regex(/^[a-z_]+$/),
        /** The endpoint an app calls for it (the gate admits its /v1-less alias where LiteLLM serves one). */
        route: z.string().regex(/^POST \/v1\//),
        /** The call types LiteLLM passes the plugin's hooks for it. */
        litellmCallTypes: z.array(z.string()).min(1),
        /**
         * What the model's context window caps in a worst case: the whole call (one pass of the model), or each
         * input or prompt on its own (embeddings, legacy completions: their sum may pass it). SQL counted_prompt.
         */
        windowCaps: z.enum(["call", "input"]),
      }),
    )
    .min(1),
  priceUnits: z
    .array(
      z.strictObject({
        key: z.string(),
        label: z.string(),
        /** What a rate is per, as the price book shows it. */
        per: z.string(),
        /** Token and character rates are per million (bounded higher than the per-item rates). */
        perMillion: z.boolean(),
        price: column,
        cost: column,
        /** What a blank rate means: never blank, the input or output rate (a nullable column), or not billed (0). */
        blank: z.enum(["required", "input rate", "output rate", "not billed"]),
        /**
         * What counts the unit: the hold request's and usage event's field, usage_events' column, the largest count
         * accepted. Null for the request fee (one per call).
         */
        count: z
          .strictObject({
            field: z.string().regex(/^[a-z][A-Za-z]*$/),
            column: z.string().regex(/^[a-z_]+$/),
            max: z.number().int().positive(),
          })
          .nullable(),
        /** The charge's micro-USD multiplier: count × rate × scale / 1,000,000, rounded up once per call. */
        scale: z.union([z.literal(1), z.literal(1000), z.literal(1_000_000)]),
        /**
         * How a reservation counts it: part of the prompt (at the dearest prompt rate), part of the output cap (at
         * the dearest output rate), what the call asks for (images, audio length, characters), or one per call.
         */
        reserve: z.enum(["prompt", "output", "asked", "always"]),
        /** The call kinds a positive rate of this unit bills (clause 44's route ↔ unit; billed_kinds in SQL). */
        bills: z.array(z.string()),
      }),
    )
    .min(1),
  imageSizes: z.strictObject({ pattern: z.string(), maxLength: z.number().int(), hint: z.string() }),
  imageQualities: z.array(z.string()).min(1),
  piiCategories: z.array(z.string().regex(/^[a-z_]+$/)).min(1),
  notSentErrors: z.strictObject({ reservationUnavailable: z.string().min(1), notServed: z.string().min(1) }),
});

export const CONTRACT = contractSchema.parse(contractJson);

export type PriceUnit = (typeof CONTRACT.priceUnits)[number];

/** The kinds of call the gateway bills (usage_events.kind): the endpoint the app called. */
export const CALL_KINDS = CONTRACT.callKinds.map((k) => k.kind) as [string, ...string[]];

/** What a price version may bill by (clause 41), in the price book's order. */
export const PRICE_UNITS: readonly PriceUnit[] = CONTRACT.priceUnits;

/** A unit with a count (every unit but the per-request fee). */
export type CountedUnit = PriceUnit & { count: NonNullable<PriceUnit["count"]> };

/** Every counted unit, tokens included: the usage event's count fields. */
export const COUNTED_UNITS = PRICE_UNITS.filter((u): u is CountedUnit => u.count !== null);

/** The units a call asks for besides tokens (images, audio length, characters): held and reported as counted. */
export const ASKED_UNITS = COUNTED_UNITS.filter((u) => u.reserve === "asked");

/** Image sizes and qualities an app may ask for (the gate and image_rates_valid accept the same). */
export const IMAGE_SIZE = new RegExp(CONTRACT.imageSizes.pattern);
export const IMAGE_SIZE_MAX_LENGTH = CONTRACT.imageSizes.maxLength;
export const IMAGE_SIZE_HINT = CONTRACT.imageSizes.hint;
export const IMAGE_QUALITIES = CONTRACT.imageQualities as [string, ...string[]];

/** What the gateway's guardrails detect (tollgate_litellm/guard.py): an account's pii_policy and a row's pii_masked
 *  are keyed by these. */
export const PII_CATEGORIES = CONTRACT.piiCategories as [string, ...string[]];

/** The error classes of calls the gateway reports failed before it sent them to any model (clause 64). */
export const NOT_SENT_ERRORS = Object.values(CONTRACT.notSentErrors);
