import { PRICE_UNITS } from "@/lib/billing/contract";
import type { PriceVersion } from "@/lib/billing/prices";
import type { Json } from "@/lib/json";
import { usd } from "./format";

export type Version = Json<PriceVersion>;
type Rate = number | null | undefined;

/**
 * What a price version may bill by (clause 41), with its cost and price fields: the billing contract's price units
 * (lib/billing/contract.json). Tokens and characters are priced per million; images, audio seconds and requests
 * each. Optional units left blank fall back to the input or output rate (cached, cache write, reasoning) or are not
 * billed (0).
 */
export interface UnitSpec {
  key: string;
  label: string;
  per: string;
  cost: keyof Version;
  price: keyof Version;
  required?: boolean;
  blank?: string;
}

export const UNITS: readonly UnitSpec[] = PRICE_UNITS.map((u) => ({
  key: u.key,
  label: u.label,
  per: u.per,
  cost: u.cost.field as keyof Version,
  price: u.price.field as keyof Version,
  ...(u.blank === "required" ? { required: true } : { blank: u.blank === "not billed" ? "0" : u.blank }),
}));
export type Unit = UnitSpec;
export const TOKEN_UNITS = new Set<string>(["input", "output"]);

/** The units beyond input/output tokens a version prices, as "$0.04 / image" (sell price; cost for admins), then
 *  its images of particular sizes and qualities, as "image 1792x1024 hd $0.12 / image". */
export function extras(v: Version, side: "price" | "cost"): string[] {
  return [
    ...UNITS.filter((u) => !TOKEN_UNITS.has(u.key))
      .filter((u) => {
        const rate = v[u[side]] as Rate;
        return rate !== null && rate !== undefined && (u.blank !== "0" || Number(rate) > 0);
      })
      .map((u) => `${u.label.toLowerCase()} ${usd(v[u[side]] as number)} / ${u.per}`),
    ...(v.imageRates ?? []).map(
      (r) =>
        `image ${[r.size, r.quality].filter(Boolean).join(" ")} ${usd(side === "price" ? r.priceMicros : (r.costMicros ?? 0))} / image`,
    ),
  ];
}

/** Every rate a version sells at as lines to read: input and output tokens (where the model bills tokens), then
 *  the other units it prices. */
export function priceLines(v: Version): string[] {
  const tokens = Number(v.inputPriceMicros) > 0 || Number(v.outputPriceMicros) > 0;
  return [
    ...(tokens
      ? [`input ${usd(v.inputPriceMicros)} / 1M tokens`, `output ${usd(v.outputPriceMicros)} / 1M tokens`]
      : []),
    ...extras(v, "price"),
  ];
}
