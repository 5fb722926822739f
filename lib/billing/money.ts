/** Micro-USD helpers. Money is always an integer number of micro-USD (1 USD = 1,000,000). */
export const MICROS_PER_USD = 1_000_000n;

/** An amount's sign, whole dollars and six-digit micro-dollar fraction, exactly. */
function exactParts(micros: bigint | number): { negative: boolean; dollars: bigint; fraction: string } {
  const value = BigInt(micros);
  const abs = value < 0n ? -value : value;
  return {
    negative: value < 0n,
    dollars: abs / MICROS_PER_USD,
    fraction: (abs % MICROS_PER_USD).toString().padStart(6, "0"),
  };
}

/** "$1,234.567891": exact to the micro-dollar, for messages (refusals, emails) and the hover of every amount shown. */
export function formatMicros(micros: bigint | number, { sign = false }: { sign?: boolean } = {}): string {
  const { negative, dollars, fraction } = exactParts(micros);
  const prefix = negative ? "-" : sign ? "+" : "";
  return `${prefix}$${dollars.toLocaleString("en-US")}.${fraction}`;
}

/**
 * The one money format of every page (issue 26): amounts of a dollar or more with two decimals ("$5,000.00"); smaller
 * ones with three significant digits, at least two decimals and at most six, trailing zeros past the cents dropped
 * ("$0.50", "$0.0012", "$0.000647"); rounded half away from zero, so it reads the same for a deficit ("-$3.00").
 * Exact figures are on the hover (exactTitle) and in exports (decimalUsd).
 */
export function displayMicros(micros: bigint | number, { sign = false }: { sign?: boolean } = {}): string {
  const value = BigInt(micros);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const prefix = negative ? "-" : sign && value > 0n ? "+" : "";
  // Decimals to show: 2 from a dollar up; below it, enough for three significant digits (1 µ$ = $0.000001).
  const digits = abs.toString().length;
  const decimals = abs >= MICROS_PER_USD ? 2 : Math.min(6, Math.max(2, 9 - digits));
  const step = 10n ** BigInt(6 - decimals);
  const rounded = ((abs + step / 2n) / step) * step;
  // Rounding up to a dollar ($0.999999 → $1.00) leaves a whole dollar: it then reads with cents.
  const places = rounded >= MICROS_PER_USD ? 2 : decimals;
  const fraction = (rounded % MICROS_PER_USD)
    .toString()
    .padStart(6, "0")
    .slice(0, places)
    .replace(/(\d{2})0+$/, "$1");
  return `${prefix}$${(rounded / MICROS_PER_USD).toLocaleString("en-US")}.${fraction}`;
}

/** What an amount's hover says: the exact dollars and the integer micro-USD, "$0.000647 (647 µ$)". */
export function exactTitle(micros: bigint | number): string {
  const value = BigInt(micros);
  return `${formatMicros(value)} (${value.toLocaleString("en-US")} µ$)`;
}

/** Exact decimal dollars without symbol or separators, for exports: 1234567 → "1.234567". */
export function decimalUsd(micros: bigint): string {
  const { negative, dollars, fraction } = exactParts(micros);
  return `${negative ? "-" : ""}${dollars}.${fraction}`;
}

/** Parses "12.50" (USD) into micro-USD exactly, or null when it is not a plain decimal with ≤ 6 places. */
export function parseUsd(text: string): bigint | null {
  const m = /^\s*(-)?(\d{1,12})(?:\.(\d{1,6}))?\s*$/.exec(text);
  if (!m) return null;
  const micros = BigInt(m[2]!) * MICROS_PER_USD + BigInt((m[3] ?? "").padEnd(6, "0"));
  return m[1] ? -micros : micros;
}
