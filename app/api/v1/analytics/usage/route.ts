import { analyticsQuery } from "@/lib/analytics/schemas";
import { usageReport } from "@/lib/analytics/usage";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** Usage over a filtered range (admins: the whole platform; developers use /api/v1/me/analytics/usage). */
export const GET = withSession({ role: "admin" }, async ({ req, actor }) =>
  json(await usageReport(db(), actor, parseQuery(req, analyticsQuery))),
);
