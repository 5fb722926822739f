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

/** What a call was billed by, in its own units: "2 images", "2.5 s audio", "40 characters", else "120 → 48" tokens. */
export function billedUnits(r: {
  kind: string;
  promptTokens: number;
  completionTokens: number;
  images: number;
  imageSize?: string | null;
  imageQuality?: string | null;
  audioMs: number;
  characters: number;
}): string {
  const parts: string[] = [];
  if (r.images) {
    // The size and quality the images were priced at, when the call named them.
    const asked = [r.imageSize, r.imageQuality].filter(Boolean).join(" ");
    parts.push(
      `${r.images.toLocaleString("en-US")} image${r.images === 1 ? "" : "s"}${asked ? ` (${asked})` : ""}`,
    );
  }
  if (r.audioMs)
    parts.push(`${(r.audioMs / 1000).toLocaleString("en-US", { maximumFractionDigits: 1 })} s audio`);
  if (r.characters) parts.push(`${r.characters.toLocaleString("en-US")} characters`);
  if (r.promptTokens || r.completionTokens || !parts.length)
    parts.push(
      `${r.promptTokens.toLocaleString("en-US")} → ${r.completionTokens.toLocaleString("en-US")} tokens`,
    );
  return parts.join(" · ");
}
