/** Micro-USD helpers. Money is always an integer number of micro-USD (1 USD = 1,000,000). */
export const MICROS_PER_USD = 1_000_000n;

/** "$1.234567" style, exact. */
export function formatMicros(micros: bigint | number, { sign = false }: { sign?: boolean } = {}): string {
  const value = BigInt(micros);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const dollars = abs / MICROS_PER_USD;
  const fraction = (abs % MICROS_PER_USD).toString().padStart(6, "0");
  const prefix = negative ? "-" : sign ? "+" : "";
  return `${prefix}$${dollars.toLocaleString("en-US")}.${fraction}`;
}

/** Exact decimal dollars without symbol or separators, for exports: 1234567 → "1.234567". */
export function decimalUsd(micros: bigint): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  return `${negative ? "-" : ""}${abs / MICROS_PER_USD}.${(abs % MICROS_PER_USD).toString().padStart(6, "0")}`;
}

/** Parses "12.50" (USD) into micro-USD exactly, or null when it is not a plain decimal with ≤ 6 places. */
export function parseUsd(text: string): bigint | null {
  const m = /^\s*(-)?(\d{1,12})(?:\.(\d{1,6}))?\s*$/.exec(text);
  if (!m) return null;
  const micros = BigInt(m[2]!) * MICROS_PER_USD + BigInt((m[3] ?? "").padEnd(6, "0"));
  return m[1] ? -micros : micros;
}
