import { PRICE_UNITS } from "@/lib/billing/contract";
import type { PriceVersion } from "@/lib/billing/prices";
import type { Json } from "@/lib/json";
import { rate } from "./format";

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

/** The units beyond input/output tokens a version prices, as "image $0.04 / image" (sell price; cost for admins),
 *  then its images of particular sizes and qualities, as "image 1792x1024 hd $0.12 / image"; a zero rate is "free". */
export function extras(v: Version, side: "price" | "cost"): string[] {
  return [
    ...UNITS.filter((u) => !TOKEN_UNITS.has(u.key))
      .filter((u) => {
        const rate = v[u[side]] as Rate;
        return rate !== null && rate !== undefined && (u.blank !== "0" || Number(rate) > 0);
      })
      .map((u) => `${u.label.toLowerCase()} ${rate(v[u[side]] as number, u.per)}`),
    ...(v.imageRates ?? []).map(
      (r) =>
        `image ${[r.size, r.quality].filter(Boolean).join(" ")} ${rate(side === "price" ? r.priceMicros : (r.costMicros ?? 0), "image")}`,
    ),
  ];
}

/** Every rate a version sells at (or, side "cost", costs) as lines to read, each with its unit: input and output
 *  tokens where the model bills tokens ("input $3.00 / 1M tokens"), then the other units it prices
 *  ("image $0.04 / image", "audio in $0.0001 / second"); an image or speech model shows only what it is sold by. */
export function priceLines(v: Version, side: "price" | "cost" = "price"): string[] {
  const tokens = Number(v.inputPriceMicros) > 0 || Number(v.outputPriceMicros) > 0;
  const input = side === "price" ? v.inputPriceMicros : v.inputCostMicros;
  const output = side === "price" ? v.outputPriceMicros : v.outputCostMicros;
  return [
    ...(tokens ? [`input ${rate(input, "1M tokens")}`, `output ${rate(output, "1M tokens")}`] : []),
    ...extras(v, side),
  ];
}
