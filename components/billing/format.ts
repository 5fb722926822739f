import { displayMicros } from "@/lib/billing/money";

/**
 * Micro-USD from the API (a JSON number) in the one money format of every page (displayMicros: "$5,000.00",
 * "$0.0012"), as text: for toasts, options and chart tooltips. In markup, <Money> adds the exact amount on hover.
 */
export const usd = (micros: number | string | bigint | null | undefined, opts?: { sign?: boolean }) =>
  micros === null || micros === undefined ? "—" : displayMicros(BigInt(micros), opts);

/** A rate in micro-USD per unit ("1M tokens", "image", "second"…) as "$3.00 / 1M tokens"; a zero rate is "free". */
export const rate = (micros: number | string | bigint | null | undefined, per: string) =>
  micros === null || micros === undefined ? "—" : BigInt(micros) === 0n ? "free" : `${usd(micros)} / ${per}`;

/** Axis labels for dollar charts (the series hold dollars): the page's money format. */
export const moneyTick = (v: number) => (v === 0 ? "$0" : usd(Math.round(v * 1e6)));

/** Tooltip values of dollar charts (the series hold dollars). */
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

/** Basis points as a percentage to read: 1000 → "10 %", 1250 → "12.5 %", 1 → "0.01 %". */
export const bpsPercent = (bps: number | string) =>
  `${(Number(bps) / 100).toFixed(2).replace(/\.?0+$/, "")} %`;

/**
 * A percentage as the form takes it (0–100, at most two decimals, "%" optional) in basis points, or null when the
 * text is not one: "10" → 1000, "12.5 %" → 1250, "0.01" → 1. Exact: digits are shifted, never multiplied as floats.
 */
export function parsePercentBps(text: string): number | null {
  const m = /^(\d{1,3})(?:[.,](\d{1,2}))?\s*%?$/.exec(text.trim());
  if (!m) return null;
  const bps = Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
  return bps <= 10_000 ? bps : null;
}
