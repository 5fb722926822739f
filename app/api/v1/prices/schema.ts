import { z } from "zod";

const perMillion = z.coerce.bigint().min(0n).max(1_000_000_000_000n);

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
