import { z } from "zod";
import { dailySpend, loadAccountFor } from "@/lib/billing/accounts";
import { db } from "@/lib/db";
import { parseId, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

const query = z.strictObject({ days: z.coerce.number().int().min(1).max(366).default(30) });

/** Spend per UTC day, for the billing chart. */
export const GET = withSession({}, async ({ req, params, actor }) => {
  const account = await loadAccountFor(db(), actor, parseId(params.id, "Account"));
  return json({ items: await dailySpend(db(), actor, account.id, parseQuery(req, query).days) });
});
