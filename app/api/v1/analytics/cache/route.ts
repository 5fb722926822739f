import { cacheReport } from "@/lib/analytics/cache";
import { usageFilters } from "@/lib/analytics/schemas";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The response cache over a filtered range: hits, hit rate, money saved per model, account and day (admins). */
export const GET = withSession({ role: "admin" }, async ({ req, actor }) =>
  json(await cacheReport(db(), actor, parseQuery(req, usageFilters))),
);
