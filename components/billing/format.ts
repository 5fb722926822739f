import { formatMicros } from "@/lib/billing/money";

/** Micro-USD from the API (a JSON number) as dollars, exact to the micro-dollar. */
export const usd = (micros: number | string | null | undefined, opts?: { sign?: boolean }) =>
  micros === null || micros === undefined ? "—" : formatMicros(BigInt(micros), opts);

/** Dollars with cents for headline figures; amounts under a cent keep their micro-dollars so they never read $0.00. */
export const usdShort = (micros: number | string) => {
  const value = Number(micros) / 1e6;
  if (value !== 0 && Math.abs(value) < 0.01) return usd(micros);
  return value.toLocaleString("en-US", {
    style: "currency",
    currency: "USD",
    minimumFractionDigits: 2,
    maximumFractionDigits: 4,
  });
};
