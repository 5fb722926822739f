import { z } from "zod";
import { dailySpend, usageByModel } from "@/lib/billing/accounts";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

const query = z.strictObject({ days: z.coerce.number().int().min(1).max(366).default(30) });

/** Platform-wide usage and margins per day and per model (admins). */
export const GET = withSession({ role: "admin" }, async ({ req, actor }) => {
  const { days } = parseQuery(req, query);
  const [daily, models] = await Promise.all([
    dailySpend(db(), actor, null, days),
    usageByModel(db(), actor, days),
  ]);
  return json({ daily, models });
});
