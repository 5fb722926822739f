import { addPriceVersion, listPriceVersions } from "@/lib/billing/prices";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { priceBody } from "./schema";

/** The price book. Developers see sell prices in force; admins see every version with provider cost. */
export const GET = withSession({}, async ({ principal }) => {
  const versions = await listPriceVersions(db());
  if (principal.role === "admin") return json({ items: versions });
  return json({
    items: versions
      .filter((v) => v.current)
      .map(({ inputCostMicros, outputCostMicros, cachedInputCostMicros, ...sell }) => sell),
  });
});

export const POST = withSession({ role: "admin" }, async ({ req, actor }) => {
  const input = await parseJson(req, priceBody);
  const version = await addPriceVersion(db(), actor, {
    ...input,
    effectiveFrom: input.effectiveFrom ? new Date(input.effectiveFrom) : new Date(),
  });
  return json({ version }, { status: 201 });
});
