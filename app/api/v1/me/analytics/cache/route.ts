import { cacheReport } from "@/lib/analytics/cache";
import { usageFilters } from "@/lib/analytics/schemas";
import { ownView } from "@/lib/auth/visibility";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The response cache over the signed-in person's own calls (with ?org=, the organization's they may see). */
export const GET = withSession({}, async ({ req, actor }) =>
  json(await cacheReport(db(), ownView(actor), parseQuery(req, usageFilters))),
);
