// An independent re-statement of the charge rule (billing contract, clause 1), for tests only: the product
// prices in SQL alone (supabase/schemas/30.price_tokens.sql); tests check the SQL against this on the numbers.

/** The price of a token count at prices per million tokens, rounded up once per request. */
export function priceTokens(
  tokens: { input: number; output: number; cached?: number },
  price: { input: bigint; output: bigint; cachedInput?: bigint | null },
): bigint {
  const cached = BigInt(Math.min(tokens.cached ?? 0, tokens.input));
  const input = BigInt(tokens.input) - cached;
  const total =
    input * price.input + cached * (price.cachedInput ?? price.input) + BigInt(tokens.output) * price.output;
  return (total + 999_999n) / 1_000_000n;
}

/**
 * What a call answered from the response cache is charged (clause 60): the full price of the same call × the
 * model's cache-hit share in basis points, rounded up once.
 */
export function cacheHitCharge(fullMicros: bigint, bps: number): bigint {
  return (fullMicros * BigInt(bps) + 9_999n) / 10_000n;
}
