import { z } from "zod";
import { micros } from "@/lib/billing/schemas";

// Micro-USD per million tokens: up to $1,000,000 per million.
const perMillion = micros({ max: 1_000_000_000_000n });

export const priceBody = z.strictObject({
  modelId: z.uuid(),
  /** When the price takes effect (default: now). Versions are never edited; a later one supersedes. */
  effectiveFrom: z.iso.datetime({ offset: true }).optional(),
  inputCostMicros: perMillion,
  outputCostMicros: perMillion,
  cachedInputCostMicros: perMillion.nullable().default(null),
  inputPriceMicros: perMillion,
  outputPriceMicros: perMillion,
  cachedInputPriceMicros: perMillion.nullable().default(null),
  note: z.string().trim().max(500).default(""),
});
