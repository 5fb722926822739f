import { z } from "zod";

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
