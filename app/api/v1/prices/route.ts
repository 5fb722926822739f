import { addPriceVersion, listPriceVersions } from "@/lib/billing/prices";
import { priceBody } from "@/lib/billing/schemas";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The price book. Developers see sell prices in force; admins see every version with provider cost. */
export const GET = withSession({}, async ({ actor }) =>
  json({ items: await listPriceVersions(db(), actor) }),
);

export const POST = withSession({ role: "admin" }, async ({ req, actor }) => {
  const input = await parseJson(req, priceBody);
  const version = await addPriceVersion(db(), actor, {
    ...input,
    effectiveFrom: input.effectiveFrom ?? new Date(),
  });
  return json({ version }, { status: 201 });
});
