import { analyticsQuery } from "@/lib/analytics/schemas";
import { usageReport } from "@/lib/analytics/usage";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The developer's own calls only (the analytics libraries scope a non-admin to their user; no provider cost). */
export const GET = withSession({}, async ({ req, actor }) =>
  json(await usageReport(db(), actor, parseQuery(req, analyticsQuery))),
);
