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

/** Axis labels for dollar charts: micro-dollar precision under a cent. */
export const moneyTick = (v: number) => (v === 0 ? "$0" : `$${v.toFixed(Math.abs(v) < 0.01 ? 6 : 2)}`);

/** Tooltip values of dollar charts (the series hold dollars; shown exact). */
export const moneyTooltip = (value: unknown, name: unknown): [string, string] => [
  usd(Math.round(Number(value) * 1e6)),
  String(name),
];
